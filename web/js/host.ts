// What live mode (./live.ts, its own module) is handed by the `Client` that makes it: the
// client, the wasm side that owns the live socket, and the client's news. A file of types only,
// so that neither module imports the other.
import type { Status, SyncOptions, SyncReport } from './types.js';

/** What a `Client` tells the live mode it made (`n`: the records a write added). */
export type ClientNews = 'wrote' | 'leaving' | 'logout';

export interface LiveHost {
  client: {
    readonly session: string | undefined;
    key(): string | undefined;
    setSession(session: string | undefined): void;
    setKey(key: string): Promise<void>;
    sync(options?: SyncOptions): Promise<SyncReport>;
    refresh(): Promise<void>;
    status(): Promise<Status>;
  };
  /** The wasm side: it opens, keeps and reconnects the live socket (web/src/socket.rs). */
  wasm: {
    liveStart(baseMs: number, maxMs: number, onEvent: (event: string, message?: string) => void): void;
    liveStop(): void;
    /** Whether live mode keeps trying after a sync failed with `kind` (the core's rule). */
    liveRetriesAfter(kind: string): boolean;
  };
  /** Where the client's news goes: live mode adds itself while it runs. */
  hooks: Set<(news: ClientNews, n: number) => void>;
  /** This tab (or worker): told apart from the others on the profile's channel. */
  tab: number;
}
