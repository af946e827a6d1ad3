// Live sync (docs/PROTOCOL.md §2, "Live status"): the server's live socket tells this client
// when the account's records changed, and it syncs at once. One tab (or worker) per profile
// leads, elected with Web Locks: its client holds the socket (the wasm side owns it, opens,
// keeps and reconnects it, web/src/socket.rs) and syncs; the others follow over a
// BroadcastChannel (they reload from IndexedDB and see the same entries and state). A tab
// without the session or key (they are kept in memory unless a vault holds them) gets them from
// another tab of the profile, in memory only, so that whichever tab is left can lead. While the
// socket is down the leader syncs on an interval. This module is the election, the channel and
// the `Live` API.
import type { ClientNews, LiveHost } from './host.js';
import type { HistoryEntry, Status, SyncProgress, SyncReport } from './types.js';

export interface LiveOptions {
  /** Sync interval while the socket is down, in ms (default 30000). */
  pollMs?: number;
  /** Reconnect delays: up to `baseMs` doubled per failed try, at most `maxMs` (defaults 500, 10000), full jitter. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** `false`: this client holds its own socket instead of sharing one across tabs. */
  shared?: boolean;
}

/**
 * `connecting`: opening the socket. `live`: the socket is open, syncs follow pushes.
 * `polling`: no socket, syncing on an interval (the server works). `offline`: the server can't
 * be reached. `error`: a sync was refused (`LiveState.error` says why). `closed`: `close()` ran.
 */
export type LiveConnection = 'connecting' | 'live' | 'polling' | 'offline' | 'error' | 'closed';

export interface LiveState {
  connection: LiveConnection;
  /** A sync is running (in whichever tab leads); `progress` is its latest page. */
  syncing: boolean;
  progress: SyncProgress | null;
  /** The last sync's failure, if it failed (`kind` and `status` as thrown by `sync`). */
  error: (Error & { kind?: string; status?: number }) | null;
  /** When the last sync ended well (ms since the epoch), 0 before. */
  lastSync: number;
  /** Whether this tab holds the socket. */
  leader: boolean;
}

export interface LiveSynced {
  report: Omit<SyncReport, 'entries'>;
  /** History entries this sync made live (from other hosts, or this profile's other tabs). */
  entries: HistoryEntry[];
}

/** Why this profile is logged out (`loggedout`). */
export type LoggedOutReason = 'logout' | 'session-ended' | 'account-deleted' | 'profile-deleted';

export interface LiveEventMap {
  state: CustomEvent<LiveState>;
  synced: CustomEvent<LiveSynced>;
  /**
   * Another tab of the profile wrote records here (history add or delete, kv, an import): this
   * tab reloaded them from IndexedDB (`client.refresh()`) before it fires. `entries`: how many.
   */
  changed: CustomEvent<{ entries: number }>;
  /**
   * In every tab of the profile: a tab called `client.logout()`, the server ended the session
   * or deleted the account (the socket's close), or another tab ran `deleteProfile`.
   */
  loggedout: CustomEvent<{ reason: LoggedOutReason }>;
}

type Report = LiveSynced['report'];
type LiveError = NonNullable<LiveState['error']>;
/** An error as it crosses the BroadcastChannel (an `Error` does not keep its fields there). */
interface ErrorInfo {
  name?: string;
  kind?: string;
  status?: number;
  message: string;
}
/** What the tabs of one profile tell each other. */
type TabMessage =
  | { type: 'hello' | 'need' | 'sync' }
  | { type: 'credentials'; session: string; key: string }
  | { type: 'state'; state: Omit<LiveState, 'error'> & { error: ErrorInfo | null } }
  | { type: 'synced'; report: Report; entries: HistoryEntry[] }
  | { type: 'failed'; error: ErrorInfo }
  | { type: 'changed'; entries: number }
  | { type: 'leaving' }
  | { type: 'loggedout'; reason: LoggedOutReason };
/** What the wasm side tells of the socket (`liveStart`, web/src/lib.rs). */
type SocketEvent = 'live' | 'push' | 'down' | 'session-ended' | 'account-deleted' | 'no-session';

const field = (e: unknown, name: 'name' | 'kind' | 'status' | 'message'): unknown =>
  typeof e === 'object' && e !== null ? (e as Record<string, unknown>)[name] : undefined;
const kindOf = (e: unknown) => field(e, 'kind') as string | undefined;
const errorInfo = (e: unknown): ErrorInfo => ({
  name: field(e, 'name') as string | undefined,
  kind: kindOf(e),
  status: field(e, 'status') as number | undefined,
  message: String(field(e, 'message') ?? e),
});
function toError(info: ErrorInfo): LiveError {
  const e: LiveError = new Error(info.message);
  e.name = info.name ?? 'Error';
  if (info.kind !== undefined) e.kind = info.kind;
  if (info.status !== undefined) e.status = info.status;
  return e;
}

export interface Live {
  addEventListener<K extends keyof LiveEventMap>(type: K, listener: (ev: LiveEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof LiveEventMap>(type: K, listener: (ev: LiveEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

export class Live extends EventTarget {
  readonly #host: LiveHost;
  readonly #client: LiveHost['client'];
  readonly #opts: { pollMs: number; baseMs: number; maxMs: number };
  readonly #news = (news: ClientNews, n: number) => this.#onNews(news, n);
  #channel: BroadcastChannel | null = null;
  #profileChannel: BroadcastChannel | null = null;
  #release: (() => void) | null = null;
  #closed = false;
  /** The wasm side's socket, as it last said: opening, open, closed and reconnecting, or not reconnecting. */
  #socket: 'connecting' | 'up' | 'down' | 'off' = 'off';
  #pollTimer = 0;
  /** A tab of the profile is logging out: the server's close of the session is its doing. */
  #leaving = false;
  /** `loggedout` went out; not again until the profile syncs again. */
  #out = false;
  #running: Promise<Report> | null = null;
  #again = false;
  #waiting: { resolve: (report: Report) => void; reject: (e: unknown) => void }[] = [];
  #state: LiveState = { connection: 'connecting', syncing: false, progress: null, error: null, lastSync: 0, leader: false };

  /** @internal `client.live()` makes it (the package exports the type only). */
  constructor(host: LiveHost, server: string, profile: string, opts: LiveOptions = {}) {
    super();
    this.#host = host;
    this.#client = host.client;
    host.hooks.add(this.#news);
    this.#opts = {
      pollMs: opts.pollMs ?? 30_000,
      baseMs: opts.backoff?.baseMs ?? 500,
      maxMs: opts.backoff?.maxMs ?? 10_000,
    };
    const name = `terrapin-live:${server.replace(/\/+$/, '')}:${profile}`;
    const locks: LockManager | undefined = globalThis.navigator?.locks;
    if (typeof BroadcastChannel === 'function') {
      // `deleteProfile` (index.ts) says so here, whichever server the tab that ran it uses.
      const deleted = new BroadcastChannel(`terrapin-profile:${profile}`);
      deleted.onmessage = (ev: MessageEvent<{ type?: string; tab?: number } | undefined>) => {
        if (ev.data?.type === 'deleted' && ev.data.tab !== host.tab) this.#loggedOut('profile-deleted', false);
      };
      this.#profileChannel = deleted;
    }
    if (opts.shared === false || !locks || typeof BroadcastChannel !== 'function') {
      queueMicrotask(() => this.#lead());
      return;
    }
    const channel = new BroadcastChannel(name);
    this.#channel = channel;
    channel.onmessage = (ev: MessageEvent<TabMessage | undefined>) => this.#onTab(ev.data);
    this.#post({ type: 'hello' });
    this.#askCredentials();
    locks
      .request(name, () =>
        this.#closed
          ? undefined
          : new Promise<void>((release) => {
              this.#release = release;
              this.#lead();
            }),
      )
      .catch(() => undefined);
  }

  /** What the indicator shows; the same in every tab of the profile. */
  get state(): LiveState { return this.#state; }

  /** Whether this tab holds the socket. */
  get leader(): boolean { return this.#state.leader; }

  /** The sync interval while the socket is down, in ms (`pollMs`). */
  get pollMs(): number { return this.#opts.pollMs; }

  /** Sync now: the leading tab syncs (a follower asks it to). Resolves to its report. */
  sync(): Promise<Report> {
    if (this.#closed) return Promise.reject(new Error('live sync closed'));
    if (this.#state.leader || !this.#channel) return this.#sync();
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#post({ type: 'sync' });
    });
  }

  /** Stop; if this tab led, another takes over. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#state.leader) this.#host.wasm.liveStop();
    this.#socket = 'off';
    this.#host.hooks.delete(this.#news);
    clearInterval(this.#pollTimer);
    this.#channel?.close();
    this.#profileChannel?.close();
    this.#release?.();
    for (const w of this.#waiting.splice(0)) w.reject(new Error('live sync closed'));
    this.#set({ connection: 'closed', syncing: false, progress: null, leader: false });
  }

  #post(m: TabMessage) {
    this.#channel?.postMessage(m);
  }

  #set(patch: Partial<LiveState>, broadcast = true) {
    this.#state = { ...this.#state, ...patch };
    if (broadcast && this.#state.leader) {
      const { error, ...rest } = this.#state;
      this.#post({ type: 'state', state: { ...rest, error: error && errorInfo(error) } });
    }
    this.dispatchEvent(new CustomEvent('state', { detail: this.#state }));
  }

  // ------------------------------------------------------------ follower

  async #onTab(m: TabMessage | undefined) {
    if (this.#closed || !m) return;
    if (m.type === 'need') {
      const session = this.#client.session;
      const key = this.#client.key();
      if (session && key) this.#post({ type: 'credentials', session, key });
      return;
    }
    if (m.type === 'credentials') {
      await this.#takeCredentials(m);
      return;
    }
    if (m.type === 'changed') {
      // Another tab wrote to IndexedDB: load it, then tell this tab's listeners.
      await this.#client.refresh().catch(() => undefined);
      if (!this.#closed) this.dispatchEvent(new CustomEvent('changed', { detail: { entries: m.entries } }));
      return;
    }
    if (m.type === 'leaving') {
      this.#leaving = true;
      return;
    }
    if (m.type === 'loggedout') {
      this.#loggedOut(m.reason, false);
      return;
    }
    if (this.#state.leader) {
      if (m.type === 'hello') this.#set({});
      if (m.type === 'sync') this.#sync().catch(() => undefined);
      return;
    }
    if (m.type === 'state') {
      const { error, ...rest } = m.state;
      this.#set({ ...rest, error: error ? toError(error) : null, leader: false }, false);
    } else if (m.type === 'synced') {
      this.#out = false;
      // The leader wrote to IndexedDB: load it, then tell this tab's listeners.
      await this.#client.refresh().catch(() => undefined);
      this.dispatchEvent(new CustomEvent('synced', { detail: { report: m.report, entries: m.entries } }));
      for (const w of this.#waiting.splice(0)) w.resolve(m.report);
    } else if (m.type === 'failed') {
      for (const w of this.#waiting.splice(0)) w.reject(toError(m.error));
    }
  }

  /** Without a session or key this tab could not lead: ask the profile's other tabs. */
  #askCredentials() {
    if (!this.#client.session || !this.#client.key()) this.#post({ type: 'need' });
  }

  async #takeCredentials({ session, key }: { session: unknown; key: unknown }) {
    if (typeof session !== 'string' || typeof key !== 'string') return;
    let changed = false;
    if (!this.#client.session) {
      this.#client.setSession(session);
      changed = true;
    }
    if (!this.#client.key()) {
      try {
        await this.#client.setKey(key);
        changed = true;
      } catch {
        return;
      }
    }
    // A leader that could not connect for want of them: now it can.
    if (changed && this.#state.leader && this.#socket === 'off' && !this.#closed) this.reconnect();
  }

  /** This tab's client: it wrote records, or is logging out. */
  #onNews(news: ClientNews, n: number) {
    if (this.#closed) return;
    if (news === 'wrote') this.#post({ type: 'changed', entries: n });
    else if (news === 'leaving') {
      this.#leaving = true;
      this.#post({ type: 'leaving' });
    } else {
      // The client hung its socket up as it logged out.
      this.#socket = 'off';
      this.#loggedOut('logout', true);
    }
  }

  /** `loggedout` here (once), and in the profile's other tabs when `tell`. */
  #loggedOut(reason: LoggedOutReason, tell: boolean) {
    if (this.#closed || this.#out) return;
    this.#out = true;
    this.#leaving = false;
    if (tell) this.#post({ type: 'loggedout', reason });
    this.dispatchEvent(new CustomEvent('loggedout', { detail: { reason } }));
    // The leader's sync says what is wrong (state `error`), and nothing retries.
    if (this.#state.leader) {
      this.#stopRetrying();
      this.#sync().catch(() => undefined);
    }
  }

  // ------------------------------------------------------------ leader

  #lead() {
    if (this.#closed) return;
    this.#set({ leader: true, connection: 'connecting' });
    this.#connect();
  }

  /** The wasm side opens the socket and keeps it open; it says what happens. */
  #connect() {
    if (this.#closed) return;
    this.#socket = 'connecting';
    const { baseMs, maxMs } = this.#opts;
    this.#host.wasm.liveStart(baseMs, maxMs, (e, message) => this.#onSocket(e as SocketEvent, message));
  }

  #onSocket(e: SocketEvent, message?: string) {
    if (this.#closed) return;
    if (e === 'live') {
      this.#socket = 'up';
      this.#leaving = false;
      this.#stopRetrying();
      this.#set({ connection: 'live', error: null });
      // Connected (again): catch up both ways.
      this.#sync().catch(() => undefined);
    } else if (e === 'push') {
      this.#changed(message).catch(() => undefined);
    } else if (e === 'down') {
      if (this.#socket === 'up') this.#set({ connection: 'connecting' });
      this.#socket = 'down';
      this.#fallBack();
    } else if (e === 'no-session') {
      this.#socket = 'off';
      this.#set({ connection: 'error', error: toError({ name: 'TerrapinError', kind: 'no_session', message: 'not logged in' }) });
      this.#askCredentials();
    } else {
      // The session ended or the account is gone: nothing reconnects (a logout here or in
      // another tab already said so).
      this.#socket = 'off';
      if (this.#leaving) this.#stopRetrying();
      else this.#loggedOut(e === 'account-deleted' ? 'account-deleted' : 'session-ended', true);
    }
  }

  /** A push elsewhere (its message): sync if the server now holds more of any series than this profile. */
  async #changed(message: string | undefined) {
    const { hosts } = JSON.parse(message ?? '{}') as Partial<Status>;
    const local = (await this.#client.status()).hosts;
    const newer = Object.entries(hosts ?? {}).some(([host, tags]) =>
      Object.entries(tags).some(([tag, idx]) => idx > (local[host]?.[tag] ?? -1)));
    if (newer) await this.#sync();
  }

  /** While the socket is down: a sync now (it tells offline from refused) and on an interval. */
  #fallBack() {
    if (this.#pollTimer) return;
    this.#pollTimer = setInterval(() => this.#sync().catch(() => undefined), this.#opts.pollMs);
    this.#sync().catch(() => undefined);
  }

  #sync(): Promise<Report> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      this.#set({ syncing: true, progress: null });
      try {
        const report = await this.#client.sync({ entries: true, onProgress: (p) => this.#set({ progress: p }) });
        const { entries = [], ...rest } = report;
        const connection = this.#socket === 'up' ? 'live' : this.#socket === 'connecting' ? 'connecting' : 'polling';
        this.#out = false;
        this.#set({ syncing: false, progress: null, error: null, lastSync: Date.now(), connection });
        // A sync went through after retrying had stopped: try the socket again.
        if (this.#socket === 'off') this.reconnect();
        this.#post({ type: 'synced', report: rest, entries });
        this.dispatchEvent(new CustomEvent('synced', { detail: { report: rest, entries } }));
        return rest;
      } catch (e) {
        const kind = kindOf(e);
        if (kind !== 'busy') {
          const offline = kind === 'network';
          const connection = offline ? 'offline' : this.#socket === 'up' ? 'live' : 'error';
          this.#set({ syncing: false, progress: null, error: e as LiveError, connection });
          // Refused (session ended, wrong key) while the socket is down: no point reconnecting
          // until a sync succeeds.
          if (this.#socket === 'down' && !this.#host.wasm.liveRetriesAfter(kind ?? '')) {
            this.#host.wasm.liveStop();
            this.#socket = 'off';
            this.#stopRetrying();
          }
        } else {
          this.#set({ syncing: false, progress: null });
        }
        this.#post({ type: 'failed', error: errorInfo(e) });
        throw e;
      } finally {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.#sync().catch(() => undefined);
        }
      }
    })();
    return this.#running;
  }

  #stopRetrying() {
    clearInterval(this.#pollTimer);
    this.#pollTimer = 0;
  }

  /** Try the socket again now (e.g. after a new login, or when the browser is back online). */
  reconnect(): void {
    if (this.#closed || !this.#state.leader || this.#socket === 'up') return;
    this.#connect();
  }
}
