// Live sync (docs/PROTOCOL.md §2, "Live status"): the server's live status socket tells this
// client when the account's records changed, and it syncs at once. One tab (or worker) per
// profile leads, elected with Web Locks: it holds the socket and syncs; the others follow over a
// BroadcastChannel (they reload from IndexedDB and see the same entries and state). A tab
// without the session or key (they are kept in memory unless a vault holds them) gets them from
// another tab of the profile, in memory only, so that whichever tab is left can lead. While the
// socket is down the leader reconnects with bounded backoff and syncs on an interval.

const PROTOCOL = 'terrapin.live.v1';
const TOKEN = 'terrapin.token.';
/** Keep-alive: a `ping` this often; a socket silent for 2.5 intervals is taken for dead. */
const PING_MS = 30_000;
/** Failures worth retrying (the server may be back soon); others wait for a sync that works. */
const TRANSIENT = new Set(['network', 'server', 'rate_limited', 'aborted']);

const errorInfo = (e) => ({ name: e?.name, kind: e?.kind, status: e?.status, message: String(e?.message ?? e) });
function toError(info) {
  const e = new Error(info.message);
  e.name = info.name ?? 'Error';
  if (info.kind !== undefined) e.kind = info.kind;
  if (info.status !== undefined) e.status = info.status;
  return e;
}

export class Live extends EventTarget {
  #client;
  #server;
  #opts;
  #channel = null;
  #release = null;
  #closed = false;
  #ws = null;
  #attempt = 0;
  #retryTimer = 0;
  #pollTimer = 0;
  #pingTimer = 0;
  #heard = 0;
  #running = null;
  #again = false;
  #waiting = [];
  /** What the indicator shows; the same in every tab of the profile. */
  state = { connection: 'connecting', syncing: false, progress: null, error: null, lastSync: 0, leader: false };

  constructor(client, server, profile, opts = {}) {
    super();
    this.#client = client;
    this.#server = server.replace(/\/+$/, '');
    this.#opts = {
      pollMs: opts.pollMs ?? 30_000,
      baseMs: opts.backoff?.baseMs ?? 500,
      maxMs: opts.backoff?.maxMs ?? 10_000,
    };
    const name = `terrapin-live:${this.#server}:${profile}`;
    const locks = globalThis.navigator?.locks;
    if (opts.shared === false || !locks || typeof BroadcastChannel !== 'function') {
      queueMicrotask(() => this.#lead());
      return;
    }
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (ev) => this.#onTab(ev.data);
    this.#channel.postMessage({ type: 'hello' });
    this.#askCredentials();
    locks.request(name, () => (this.#closed ? undefined : new Promise((release) => {
      this.#release = release;
      this.#lead();
    }))).catch(() => undefined);
  }

  /** Whether this tab holds the socket. */
  get leader() { return this.state.leader; }

  /** Sync now (the leader syncs; a follower asks it to). Resolves to the sync's report. */
  sync() {
    if (this.#closed) return Promise.reject(new Error('live sync closed'));
    if (this.state.leader) return this.#sync();
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#channel.postMessage({ type: 'sync' });
    });
  }

  /** Stop: the socket closes and, if this tab led, another takes over. */
  close() {
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

  #set(patch, broadcast = true) {
    this.state = { ...this.state, ...patch };
    if (broadcast && this.state.leader) {
      const { error, ...rest } = this.state;
      this.#channel?.postMessage({ type: 'state', state: { ...rest, error: error && errorInfo(error) } });
    }
    this.dispatchEvent(new CustomEvent('state', { detail: this.state }));
  }

  // ------------------------------------------------------------ follower

  async #onTab(m) {
    if (this.#closed || !m) return;
    if (m.type === 'need') {
      const session = this.#client.session;
      const key = this.#client.key();
      if (session && key) this.#channel.postMessage({ type: 'credentials', session, key });
      return;
    }
    if (m.type === 'credentials') {
      await this.#takeCredentials(m);
      return;
    }
    if (this.state.leader) {
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
    if (!this.#client.session || !this.#client.key()) this.#channel?.postMessage({ type: 'need' });
  }

  async #takeCredentials({ session, key }) {
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
    if (changed && this.state.leader && !this.#ws && !this.#closed) this.reconnect();
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
      const e = new Error('not logged in');
      e.name = 'TerrapinError';
      e.kind = 'no_session';
      this.#set({ connection: 'error', error: e });
      this.#askCredentials();
      return;
    }
    const url = this.#server.replace(/^http/, 'ws') + '/api/v0/live';
    let ws;
    try {
      ws = new WebSocket(url, [PROTOCOL, TOKEN + token]);
    } catch (e) {
      this.#set({ connection: 'error', error: e });
      return;
    }
    this.#ws = ws;
    let greeted = false;
    ws.onmessage = (ev) => {
      this.#heard = Date.now();
      if (ev.data === 'pong' || typeof ev.data !== 'string') return;
      let m;
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
    ws.onclose = (ev) => {
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
  async #changed(hosts) {
    const local = (await this.#client.status()).hosts;
    const newer = Object.entries(hosts ?? {}).some(([host, tags]) =>
      Object.entries(tags).some(([tag, idx]) => idx > (local[host]?.[tag] ?? -1)));
    if (newer) await this.#sync();
  }

  #sync() {
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
        this.#channel?.postMessage({ type: 'synced', report: rest, entries });
        this.dispatchEvent(new CustomEvent('synced', { detail: { report: rest, entries } }));
        return rest;
      } catch (e) {
        if (e?.kind !== 'busy') {
          const offline = e?.kind === 'network';
          const connection = offline ? 'offline' : this.#ws?.readyState === 1 ? 'live' : 'error';
          this.#set({ syncing: false, progress: null, error: e, connection });
          // Refused (session ended, wrong key): no point reconnecting until a sync succeeds.
          if (!TRANSIENT.has(e?.kind) && !this.#ws) this.#stopRetrying();
        } else {
          this.#set({ syncing: false, progress: null });
        }
        this.#channel?.postMessage({ type: 'failed', error: errorInfo(e) });
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

  /** Try the socket again now (after a new login, or when the browser is back online). */
  reconnect() {
    if (this.#closed || !this.state.leader) return;
    this.#attempt = 0;
    this.#connect();
  }
}
