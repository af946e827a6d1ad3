// Live sync (docs/PROTOCOL.md §2, "Live status"): the server's live status socket tells this
// client when the account's records changed, and it syncs at once. One tab (or worker) per
// profile leads, elected with Web Locks: it holds the socket and syncs; the others follow over a
// BroadcastChannel (they reload from IndexedDB and see the same entries and state). A tab
// without the session or key (they are kept in memory unless a vault holds them) gets them from
// another tab of the profile, in memory only, so that whichever tab is left can lead. While the
// socket is down the leader reconnects with bounded backoff and syncs on an interval.
import type { Client } from './index.js';
import type { HistoryEntry, Status, SyncProgress, SyncReport } from './types.js';

export interface LiveOptions {
  /** Sync interval while the socket is down, in ms (default 30000). */
  pollMs?: number;
  /** Reconnect delays: `baseMs` doubled per failed try, at most `maxMs` (defaults 500, 10000), ±25%. */
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

export interface LiveEventMap {
  state: CustomEvent<LiveState>;
  synced: CustomEvent<LiveSynced>;
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
  | { type: 'failed'; error: ErrorInfo };
/** What the server sends on the live socket (docs/PROTOCOL.md §2). */
type ServerMessage = { type: 'status' } | { type: 'push'; hosts?: Status['hosts'] };

const PROTOCOL = 'terrapin.live.v1';
const TOKEN = 'terrapin.token.';
/** Keep-alive: a `ping` this often; a socket silent for 2.5 intervals is taken for dead. */
const PING_MS = 30_000;
/** Failures worth retrying (the server may be back soon); others wait for a sync that works. */
const TRANSIENT = new Set(['network', 'server', 'rate_limited', 'aborted']);

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
  readonly #client: Client;
  readonly #server: string;
  readonly #opts: { pollMs: number; baseMs: number; maxMs: number };
  #channel: BroadcastChannel | null = null;
  #release: (() => void) | null = null;
  #closed = false;
  #ws: WebSocket | null = null;
  #attempt = 0;
  #retryTimer = 0;
  #pollTimer = 0;
  #pingTimer = 0;
  #heard = 0;
  #running: Promise<Report> | null = null;
  #again = false;
  #waiting: { resolve: (report: Report) => void; reject: (e: unknown) => void }[] = [];
  #state: LiveState = { connection: 'connecting', syncing: false, progress: null, error: null, lastSync: 0, leader: false };

  /** @internal `client.live()` makes it (the package exports the type only). */
  constructor(client: Client, server: string, profile: string, opts: LiveOptions = {}) {
    super();
    this.#client = client;
    this.#server = server.replace(/\/+$/, '');
    this.#opts = {
      pollMs: opts.pollMs ?? 30_000,
      baseMs: opts.backoff?.baseMs ?? 500,
      maxMs: opts.backoff?.maxMs ?? 10_000,
    };
    const name = `terrapin-live:${this.#server}:${profile}`;
    const locks: LockManager | undefined = globalThis.navigator?.locks;
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
    this.#ws?.close(1000, 'closed');
    this.#ws = null;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pollTimer);
    clearInterval(this.#pingTimer);
    this.#channel?.close();
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
    if (this.#state.leader) {
      if (m.type === 'hello') this.#set({});
      if (m.type === 'sync') this.#sync().catch(() => undefined);
      return;
    }
    if (m.type === 'state') {
      const { error, ...rest } = m.state;
      this.#set({ ...rest, error: error ? toError(error) : null, leader: false }, false);
    } else if (m.type === 'synced') {
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
    if (changed && this.#state.leader && !this.#ws && !this.#closed) this.reconnect();
  }

  // ------------------------------------------------------------ leader

  #lead() {
    if (this.#closed) return;
    this.#set({ leader: true, connection: 'connecting' });
    this.#connect();
  }

  #connect() {
    clearTimeout(this.#retryTimer);
    if (this.#closed || this.#ws) return;
    const token = this.#client.session;
    if (!token) {
      this.#set({ connection: 'error', error: toError({ name: 'TerrapinError', kind: 'no_session', message: 'not logged in' }) });
      this.#askCredentials();
      return;
    }
    const url = this.#server.replace(/^http/, 'ws') + '/api/v0/live';
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, [PROTOCOL, TOKEN + token]);
    } catch (e) {
      this.#set({ connection: 'error', error: e as LiveError });
      return;
    }
    this.#ws = ws;
    let greeted = false;
    ws.onmessage = (ev: MessageEvent<unknown>) => {
      this.#heard = Date.now();
      if (ev.data === 'pong' || typeof ev.data !== 'string') return;
      let m: ServerMessage;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (m.type === 'status') {
        greeted = true;
        this.#attempt = 0;
        clearInterval(this.#pollTimer);
        this.#pollTimer = 0;
        this.#set({ connection: 'live', error: null });
        // Connected (again): catch up both ways.
        this.#sync().catch(() => undefined);
      } else if (m.type === 'push') {
        this.#changed(m.hosts).catch(() => undefined);
      }
    };
    ws.onopen = () => {
      this.#heard = Date.now();
      clearInterval(this.#pingTimer);
      this.#pingTimer = setInterval(() => {
        if (Date.now() - this.#heard > PING_MS * 2.5) ws.close(4000, 'silent');
        else ws.send('ping');
      }, PING_MS);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      clearInterval(this.#pingTimer);
      if (this.#closed) return;
      // The session ended or the account is gone: a sync says which, and nothing reconnects.
      if (ev.code === 4001 || ev.code === 4003) {
        this.#sync().catch(() => undefined);
        return;
      }
      if (greeted) this.#set({ connection: 'connecting' });
      this.#fallBack();
      const delay = Math.min(this.#opts.maxMs, this.#opts.baseMs * 2 ** this.#attempt++);
      this.#retryTimer = setTimeout(() => this.#connect(), delay * (0.75 + Math.random() / 2));
    };
  }

  /** While the socket is down: a sync now (it tells offline from refused) and on an interval. */
  #fallBack() {
    if (this.#pollTimer) return;
    this.#pollTimer = setInterval(() => this.#sync().catch(() => undefined), this.#opts.pollMs);
    this.#sync().catch(() => undefined);
  }

  /** A push elsewhere: sync if the server now holds more of any series than this profile. */
  async #changed(hosts: Status['hosts'] | undefined) {
    const local = (await this.#client.status()).hosts;
    const newer = Object.entries(hosts ?? {}).some(([host, tags]) =>
      Object.entries(tags).some(([tag, idx]) => idx > (local[host]?.[tag] ?? -1)));
    if (newer) await this.#sync();
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
        const connection = this.#ws?.readyState === 1 ? 'live' : this.#ws ? 'connecting' : 'polling';
        this.#set({ syncing: false, progress: null, error: null, lastSync: Date.now(), connection });
        // A sync went through after retrying had stopped: try the socket again.
        if (!this.#ws && !this.#pollTimer) this.reconnect();
        this.#post({ type: 'synced', report: rest, entries });
        this.dispatchEvent(new CustomEvent('synced', { detail: { report: rest, entries } }));
        return rest;
      } catch (e) {
        const kind = kindOf(e);
        if (kind !== 'busy') {
          const offline = kind === 'network';
          const connection = offline ? 'offline' : this.#ws?.readyState === 1 ? 'live' : 'error';
          this.#set({ syncing: false, progress: null, error: e as LiveError, connection });
          // Refused (session ended, wrong key): no point reconnecting until a sync succeeds.
          if (!TRANSIENT.has(kind as string) && !this.#ws) this.#stopRetrying();
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
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pollTimer);
    this.#pollTimer = 0;
  }

  /** Try the socket again now (e.g. after a new login, or when the browser is back online). */
  reconnect(): void {
    if (this.#closed || !this.#state.leader) return;
    this.#attempt = 0;
    this.#connect();
  }
}
