// terrapin-web: Atuin record sync in the browser (and Web Workers).
// A thin, idiomatic wrapper over the wasm exports in ../pkg; every rule lives in Rust. The
// package's types are declarations generated from this source (web/build.sh).
import init, { callStatic, type WasmClient } from '../pkg/terrapin_web.js';
import type * as Extras from './extras.js';
import type { ClientNews } from './host.js';
import type { Live, LiveOptions } from './live.js';
import type {
  DotfilesVar,
  HistoryEntry,
  HistoryHost,
  HistoryPage,
  HistoryQuery,
  KvEntry,
  LegacyMigration,
  NewHistoryEntry,
  NewScript,
  OpenOptions,
  Script,
  ShellAlias,
  SeriesHoles,
  Status,
  SyncOptions,
  SyncReport,
  TerrapinError,
  Thread,
  ThreadWithMessages,
  VaultOptions,
  WasmSource,
} from './types.js';

export type {
  DamagedSeries,
  DotfilesVar,
  HistoryEntry,
  HistoryHost,
  HistoryPage,
  HistoryQuery,
  IdxRange,
  KvEntry,
  LegacyMigration,
  LegacyProblem,
  LegacySeries,
  NewHistoryEntry,
  NewScript,
  OpenOptions,
  Script,
  SearchMode,
  SeriesError,
  SeriesHoles,
  ShellAlias,
  Status,
  SyncOptions,
  SyncProgress,
  SyncReport,
  TerrapinError,
  Thread,
  ThreadContent,
  ThreadHandle,
  ThreadHunk,
  ThreadMessage,
  ThreadUsage,
  ThreadWithMessages,
  VaultOptions,
} from './types.js';
export type { Live, LiveConnection, LiveEventMap, LiveOptions, LiveState, LiveSynced, LoggedOutReason } from './live.js';
// `client.history`, `.kv`, `.scripts`, `.aliases`, `.vars`, `.threads`: types only (made by `Client`).
export type { AliasesApi, HistoryApi, KvApi, ScriptsApi, ThreadsApi, VarsApi };

let ready: Promise<unknown> | undefined;
/** This tab (or worker), as live mode tells it from the profile's other tabs. */
const tab = Math.random();
/** A write's promise, the records it added (`n`, or the number it resolves to) told first. */
type Wrote = <T>(p: Promise<T>, n?: number) => Promise<T>;

/**
 * The wasm client's methods behind its one export `call(op, a?, b?, c?, d?)` (each export costs
 * a wasm shim and a JS wrapper), in the order of their numbers in `WasmClient::call`
 * (web/src/lib.rs).
 */
const enum Op {
  HostId,
  Username,
  LoggedIn,
  Session,
  SetSession,
  LiveStart,
  LiveStop,
  LiveRetriesAfter,
  HistoryQuery,
  HistoryHosts,
  HistoryGet,
  HistoryPrepare,
  HistoryCount,
  UnreadableCount,
  KvGet,
  KvList,
  SetKey,
  Register,
  Login,
  Logout,
  Me,
  SaveVault,
  HasVault,
  Unlock,
  Refresh,
  Sync,
  Status,
  Missing,
  RemoteStatus,
  HistoryLoaded,
  HistoryAdd,
  HistoryAddMany,
  HistoryDelete,
  KvSet,
  KvDelete,
  ImportRecords,
}

/** The wasm client as this file calls it: `call` with an `Op` and up to four arguments. */
type Wasm = WasmClient & { call(op: Op, a?: unknown, b?: unknown, c?: unknown, d?: unknown): any };

/** The wasm's functions without a client, behind its export `callStatic(fn, a?)` (web/src/lib.rs). */
const enum Fn {
  Open,
  DeleteProfile,
  MayBePhrase,
  GenerateKey,
}
const wasmFn = callStatic as (fn: Fn, a?: unknown) => any;

/**
 * Load the wasm module yourself (a URL, Response, bytes or WebAssembly.Module); optional.
 * `Client.open` calls it.
 */
export function initialize(moduleOrPath?: WasmSource): Promise<unknown> {
  ready ??= init(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  return ready;
}

let extras: Promise<typeof Extras> | undefined;

/**
 * Load the package's extras module now: the vault's key derivation (`saveVault`, `unlock`),
 * `parseShellHistory`, the reading of a key given as its words (`register`, `login`, `setKey`)
 * and the scripts, aliases and variables (`Client.open` of a profile that has some),
 * pkg/extras.js with its wasm, optionally from `moduleOrPath` (`terrapin-web/extras-wasm`).
 * Optional: it loads on first use, its wasm from beside the package; loading it early lets a
 * service worker keep it for offline use.
 */
export async function initializeExtras(moduleOrPath?: WasmSource): Promise<void> {
  await loadExtras(moduleOrPath);
}

function loadExtras(moduleOrPath?: WasmSource): Promise<typeof Extras> {
  extras ??= import('./extras.js')
    .then(async (m) => {
      await m.default(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
      return m;
    })
    .catch((e: unknown) => {
      extras = undefined;
      throw e;
    });
  return extras;
}

/** The vault's key derivation (the wasm client calls it): Argon2id in the extras module. */
async function kdf(passphrase: string, salt: Uint8Array, m: number, t: number, p: number): Promise<Uint8Array> {
  return (await loadExtras()).argon2id(passphrase, salt, m, t, p);
}

/** Errors thrown by this package: an `Error` with `kind` and, from the server, `status`. */
export function isTerrapinError(e: unknown): e is TerrapinError {
  return e instanceof Error && e.name === 'TerrapinError';
}

/**
 * A key given by the user, as the wasm client reads it: a key given as its 24 words is read
 * into the base64 key by the extras module (loaded the first time), which throws kind
 * `bad_key` as the client does; anything else is passed as it is.
 */
async function keyFor<K extends string | undefined>(key: K): Promise<K> {
  return typeof key === 'string' && wasmFn(Fn.MayBePhrase, key) ? ((await loadExtras()).keyFromPhrase(key) as K) : key;
}

/** What each store's API reads and writes through: the wasm client, and the hook a write tells. */
abstract class StoreApi {
  /** @internal */
  protected readonly w: Wasm;
  /** @internal */
  protected readonly wrote: Wrote;
  /** @internal */
  constructor(w: Wasm, wrote: Wrote) {
    this.w = w;
    this.wrote = wrote;
  }
}

/** A new task, queued as timers are (so the page's own timers are not starved). */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** `client.history`. */
class HistoryApi extends StoreApi {
  /** Live entries matching `query`, newest first (fuzzy: best first). */
  query(query: HistoryQuery = {}): HistoryPage { return this.w.call(Op.HistoryQuery, query); }
  get(id: string): HistoryEntry | undefined { return this.w.call(Op.HistoryGet, id); }
  count(): number { return this.w.call(Op.HistoryCount); }
  /**
   * Resolves once every entry is in: `Client.open` and `unlock` return as soon as a large
   * profile's newest entries are (queries and `count()` see the rest as it is folded in).
   */
  loaded(): Promise<void> { return this.w.call(Op.HistoryLoaded); }
  /**
   * Once every entry is in, builds the search index in steps of about 10 ms, yielding to the
   * page between them (typing and scrolling stay responsive); resolves when it is built. A query
   * meanwhile finishes the build; a change meanwhile comes in with the next query. Rejects if the
   * client is closed meanwhile.
   */
  async prepare(): Promise<void> {
    await this.loaded().catch(() => {});
    while (!this.step(10)) await nextTask();
  }
  /** @internal A step of the index build, about `ms` long; whether the index is built. */
  step(ms: number): boolean { return this.w.call(Op.HistoryPrepare, ms); }
  /** Every host of the record store that wrote live history, with the hostnames it used. */
  hosts(): HistoryHost[] { return this.w.call(Op.HistoryHosts); }
  add(entry: NewHistoryEntry): Promise<HistoryEntry> { return this.wrote(this.w.call(Op.HistoryAdd, entry), 1); }
  addMany(entries: NewHistoryEntry[]): Promise<number> { return this.wrote(this.w.call(Op.HistoryAddMany, entries)); }
  /** Writes a delete record (whichever host wrote the entry); it disappears everywhere after sync. */
  delete(id: string): Promise<void> { return this.wrote(this.w.call(Op.HistoryDelete, id), 1); }
}

/** `client.kv`. */
class KvApi extends StoreApi {
  get(namespace: string, key: string): string | undefined { return this.w.call(Op.KvGet, namespace, key); }
  set(namespace: string, key: string, value: string): Promise<void> { return this.wrote(this.w.call(Op.KvSet, namespace, key, String(value)), 1); }
  delete(namespace: string, key: string): Promise<void> { return this.wrote(this.w.call(Op.KvDelete, namespace, key), 1); }
  list(namespace?: string): KvEntry[] { return this.w.call(Op.KvList, namespace); }
}

/** The tags whose records the extras module folds: scripts, shell aliases, variables. */
const FOLDED = ['script', 'config-shell-alias', 'dotfiles-var'];
const none = new Uint8Array();

/**
 * What `client.scripts`, `.aliases` and `.vars` read: the stores the extras module folds from the
 * pages the wasm client keeps of their tags (`viewPages`), folded again only when the wasm client
 * says those may have changed (`otherChanges`). A profile without such records does not load the
 * module for them.
 */
class Folded {
  readonly #w: WasmClient;
  /** The stores, once folded. */
  s?: Extras.Stores;
  /** `otherChanges` when they were folded. */
  #at?: number;
  #queue: Promise<unknown> = Promise.resolve();
  constructor(w: WasmClient) { this.#w = w; }
  #run(): Promise<void> {
    const p = this.#queue.then(async () => {
      const at = this.#w.otherChanges;
      if (at === this.#at) return;
      const [a, b, c] = await Promise.all(FOLDED.map((g) => this.#w.viewPages(g)));
      const s = a.length + b.length + c.length ? new (await loadExtras()).Stores(a, b, c) : undefined;
      this.s?.free();
      this.s = s;
      this.#at = at;
    });
    this.#queue = p.catch(() => {});
    return p;
  }
  /** Folds them again if they may have changed; if that fails (the module did not load), the last fold stays until the next try. */
  update(): Promise<void> { return this.#run().catch(() => {}); }
  /** The stores as they are now, for a write (empty if the profile has none). */
  async ready(): Promise<Extras.Stores> {
    await this.#run();
    return (this.s ??= new (await loadExtras()).Stores(none, none, none));
  }
}

/**
 * `client.scripts`: atuin's `script` store (`atuin scripts`). Writes are records of this
 * profile's host, pushed by the next sync; every CLI host runs them after its `atuin sync`.
 */
class ScriptsApi extends StoreApi {
  readonly #f: Folded;
  /** @internal */
  constructor(w: WasmClient, wrote: Wrote, f: Folded) {
    super(w, wrote);
    this.#f = f;
  }
  /** Live scripts, sorted by name. */
  list(): Script[] { return this.#f.s?.scripts() ?? []; }
  /** The live script with this id, else the one with this name (`atuin scripts get NAME`). */
  get(idOrName: string): Script | undefined { return this.#f.s?.script(idOrName); }
  /**
   * Without `id`: create a script (a new UUID v7). With the `id` of a live script: replace every
   * field, as `atuin scripts edit` does (absent fields become empty). With any other `id`: create
   * the script with it (restores a deleted one, as a later create does in Atuin's replay).
   * Resolves to the script as it now reads (tags sorted, repeats dropped). Rejects with kind
   * `invalid` for an empty name or a name another live script has.
   */
  async set(script: NewScript): Promise<Script> {
    const json = JSON.stringify(script, (_, x: unknown) => x ?? undefined) ?? '{}';
    const id = await this.#write((s) => s.scriptSet(json));
    return this.#f.s!.scriptWritten(id);
  }
  /** Delete the live script with this id (kind `invalid` if there is none). */
  async delete(id: string): Promise<void> { await this.#write((s) => s.scriptDelete(id)); }
  /** Appends the record the extras module builds (`[version, payload, id]`), then folds it in. */
  async #write(make: (s: Extras.Stores) => unknown[]): Promise<string> {
    const [version, payload, id] = make(await this.#f.ready()) as [string, Uint8Array, string];
    await this.wrote(this.w.appendOwn('script', version, payload), 1);
    await this.#f.update();
    return id;
  }
}

/** `client.aliases`: legacy `config-shell-alias` records, read-only (as `atuin dotfiles alias list`). */
class AliasesApi {
  readonly #f: Folded;
  /** @internal */
  constructor(f: Folded) { this.#f = f; }
  /** Live aliases, sorted by name. */
  list(): ShellAlias[] { return this.#f.s?.aliases() ?? []; }
  get(name: string): ShellAlias | undefined { return this.#f.s?.alias(name); }
}

/** `client.vars`: legacy `dotfiles-var` records, read-only (as `atuin dotfiles var list`). */
class VarsApi {
  readonly #f: Folded;
  /** @internal */
  constructor(f: Folded) { this.#f = f; }
  /** Live variables, sorted by name. */
  list(): DotfilesVar[] { return this.#f.s?.vars() ?? []; }
  get(name: string): DotfilesVar | undefined { return this.#f.s?.var(name); }
}

/**
 * `client.threads`: AI threads (`ai-session` records, written by atuin with `[threads] capture`
 * on), read-only. A call reads the local records of that tag when they may have changed since the
 * last; the code that decodes and folds them (zstd included) is its own module (pkg/threads.js and
 * its wasm), loaded on first use.
 */
class ThreadsApi {
  readonly #w: WasmClient;
  /** @internal */
  constructor(w: WasmClient) { this.#w = w; }
  /** Every thread, newest activity first. */
  async list(): Promise<Thread[]> { return (await this.#read()).list(); }
  /** The thread with this `id` and its messages in order, or undefined. */
  async get(id: string): Promise<ThreadWithMessages | undefined> { return (await this.#read()).get(id); }
  async #read() {
    return (await import('./threads.js')).threads(this.#w);
  }
}

export class Client {
  readonly #w: Wasm;
  readonly #server: string;
  readonly #profile: string;
  readonly history: HistoryApi;
  readonly kv: KvApi;
  readonly scripts: ScriptsApi;
  readonly aliases: AliasesApi;
  readonly vars: VarsApi;
  readonly threads: ThreadsApi;
  readonly #folded: Folded;
  /** Live mode's, told of this client's writes and logout. */
  readonly #hooks = new Set<(news: ClientNews, n: number) => void>();
  readonly #tell = (news: ClientNews, n = 0) => this.#hooks.forEach((h) => h(news, n));
  readonly #wrote: Wrote = (p, n) =>
    p.then((v) => {
      const k = n ?? Number(v);
      if (k) this.#tell('wrote', k);
      return v;
    });

  private constructor(w: Wasm, server: string, profile: string) {
    this.#w = w;
    this.#server = server;
    this.#profile = profile;
    this.history = new HistoryApi(w, this.#wrote);
    this.kv = new KvApi(w, this.#wrote);
    this.#folded = new Folded(w);
    this.scripts = new ScriptsApi(w, this.#wrote, this.#folded);
    this.aliases = new AliasesApi(this.#folded);
    this.vars = new VarsApi(this.#folded);
    this.threads = new ThreadsApi(w);
  }

  /** `p`, then the scripts, aliases and variables folded again if they may have changed. */
  #fold<T>(p: Promise<T>): Promise<T> { return p.finally(() => this.#folded.update()); }

  /** Open (or create) a profile: its own IndexedDB database, bound to one server. */
  static open(options: OpenOptions): Promise<Client>;
  static async open({ server, profile = 'default', pageSize, retry, wasm }: Partial<OpenOptions> = {}): Promise<Client> {
    if (!server) throw new TypeError('Client.open: `server` is required');
    await initialize(wasm);
    const w: Wasm = await wasmFn(Fn.Open, { server, profile, pageSize, retry });
    const c = new Client(w, server, profile);
    await c.#folded.update();
    return c;
  }

  get hostId(): string { return this.#w.call(Op.HostId); }
  get username(): string | undefined { return this.#w.call(Op.Username); }
  get loggedIn(): boolean { return this.#w.call(Op.LoggedIn); }
  /** The session token (secret: it opens the account), or undefined. */
  get session(): string | undefined { return this.#w.call(Op.Session); }

  /** Create an account. Without `key` a fresh Atuin key is made: read it with `key()`. */
  async register({ username, email, password, key }: { username: string; email: string; password: string; key?: string }): Promise<void> {
    return this.#fold(this.#w.call(Op.Register, username, email, password, await keyFor(key)));
  }
  /** Log in with the password and the account's Atuin key (as `atuin key` prints it). */
  async login({ username, password, key }: { username: string; password: string; key: string }): Promise<void> {
    return this.#fold(this.#w.call(Op.Login, username, password, await keyFor(key)));
  }
  /** Forget the session, the key and the saved vault (records stay). */
  async logout(): Promise<void> {
    this.#tell('leaving');
    await this.#w.call(Op.Logout);
    this.#tell('logout');
  }
  /** `{ username }` of the session's account, from the server. */
  async me(): Promise<{ username: string }> { return { username: await this.#w.call(Op.Me) }; }

  /** The Atuin key as `atuin key` prints it, or undefined. Keep it secret. */
  key(): string | undefined { return this.#w.key(); }
  async setKey(key: string): Promise<void> {
    return this.#fold(this.#w.call(Op.SetKey, await keyFor(key)));
  }
  setSession(session: string | undefined): void { this.#w.call(Op.SetSession, session); }

  /**
   * Keep the session and key in IndexedDB, sealed under `passphrase` (Argon2id +
   * XChaCha20-Poly1305; Argon2id is in the extras module, loaded on first use).
   */
  saveVault(passphrase: string, options?: VaultOptions): Promise<void> { return this.#w.call(Op.SaveVault, passphrase, options, kdf); }
  hasVault(): Promise<boolean> { return this.#w.call(Op.HasVault); }
  /** Restore the session and key from the vault (its key derivation: see `saveVault`). */
  unlock(passphrase: string): Promise<void> { return this.#fold(this.#w.call(Op.Unlock, passphrase, kdf)); }

  /**
   * Sync with the server. Resumable: a sync cut off (signal) continues where it stopped. With
   * `entries`, the report lists the history entries the sync made live.
   */
  sync(options?: SyncOptions): Promise<SyncReport> { return this.#fold(this.#w.call(Op.Sync, options)); }
  /**
   * Live sync: syncs as soon as another host pushes (the server's live status socket). One tab
   * per profile holds the socket and syncs (elected with Web Locks); the others follow over a
   * BroadcastChannel. A tab without the session or key gets them from another tab of the
   * profile, in memory only, so any tab can take over. Its code loads on first use. Close it
   * before the client.
   */
  async live(options?: LiveOptions): Promise<Live> {
    // Its own module (pkg/live.js), loaded on first use: the entry stays small.
    const { Live } = await import('./live.js');
    const w = this.#w;
    const wasm = {
      liveStart: (baseMs: number, maxMs: number, onEvent: unknown) => w.call(Op.LiveStart, baseMs, maxMs, onEvent),
      liveStop: () => w.call(Op.LiveStop),
      liveRetriesAfter: (kind: string) => w.call(Op.LiveRetriesAfter, kind),
    };
    return new Live({ client: this, wasm, hooks: this.#hooks, tab }, this.#server, this.#profile, options);
  }
  /** The server's status (same shape as `status()`). */
  remoteStatus(): Promise<Status> { return this.#w.call(Op.RemoteStatus); }
  /** Reload the views (history, kv, scripts, aliases, vars) from IndexedDB (after another tab or worker wrote to this profile). */
  refresh(): Promise<void> { return this.#fold(this.#w.call(Op.Refresh)); }
  /** The local status `{ hosts: { [host]: { [tag]: lastIdx } } }`. */
  status(): Promise<Status> { return this.#w.call(Op.Status); }
  /** The holes of the local series: indexes the server could not give, asked for again on every sync. */
  missing(): Promise<SeriesHoles[]> { return this.#w.call(Op.Missing); }
  /** Records that could not be decrypted or decoded with the current key. */
  unreadableCount(): number { return this.#w.call(Op.UnreadableCount) + (this.#folded.s?.unreadable ?? 0); }

  /** Every local record as wire JSON text; with `tag`, only that tag's. */
  exportRecords(tag?: string): Promise<string> { return this.#w.exportRecords(tag); }
  /** Append records (wire JSON text, e.g. from `migrateLegacy`); returns how many. */
  importRecords(json: string): Promise<number> { return this.#fold(this.#wrote(this.#w.call(Op.ImportRecords, json))); }

  /** Release the wasm side of this client. */
  close(): void {
    this.#folded.s?.free();
    this.#w.free();
  }
}

/**
 * Migrate a legacy (atuin <= 17) record store with the account's Atuin key (phrase or key file
 * text). `input`: the `records.db` file (SQLite, read with sql.js loaded on first use; pass
 * `sqliteWasm` to say where its wasm is, default `sqlite.wasm` beside the package) or the legacy
 * JSON text. Resolves to `{ records, series }`: `records` is wire JSON text for
 * `Client.importRecords`. Rejects with a `TerrapinError` of kind `legacy` carrying `problems`
 * and `series`, naming every record that can't be decrypted or chained; then nothing is migrated.
 * Its code is its own module (pkg/legacy-db.js), loaded on first use.
 */
export async function migrateLegacy(
  input: Uint8Array | ArrayBuffer | Blob | string,
  key: string,
  options: {
    /** Where `sqlite.wasm` is served (`terrapin-web/sqlite-wasm`), if not beside the package. */
    sqliteWasm?: string | URL;
    /** Where the migration's wasm is served (`terrapin-web/legacy-wasm`), likewise. */
    legacyWasm?: string | URL;
  } = {},
): Promise<LegacyMigration> {
  if (typeof key !== 'string' || !key) throw new TypeError('migrateLegacy: `key` (the Atuin key) is required');
  return (await import('./legacy-db.js')).migrateInput(input, key, options);
}

/**
 * Delete a profile's database and everything in it. A `Client` open on it elsewhere (another
 * tab) gives its connection up; its later reads and writes of the store then fail.
 */
export async function deleteProfile(profile: string): Promise<void> {
  await initialize();
  await wasmFn(Fn.DeleteProfile, profile);
  // Live mode in the profile's other tabs: `loggedout` (reason `profile-deleted`).
  if (typeof BroadcastChannel == 'function') {
    const c = new BroadcastChannel('terrapin-profile:' + profile);
    c.postMessage({ type: 'deleted', tab });
    c.close();
  }
}

/** A fresh random Atuin key string. */
export async function generateKey(): Promise<string> {
  await initialize();
  return wasmFn(Fn.GenerateKey);
}

/**
 * Read a shell history file (bash, zsh plain or extended, fish: told apart by `filename`, else by
 * the content) into entries for `history.addMany`. Pass the file's bytes (zsh's byte escapes are
 * undone) or its text. Times the file has are set (`timestamp` in ms, `duration` in ns); the rest
 * is left to the caller. The parser is in the extras module (see `initializeExtras`), loaded on
 * first use.
 */
export async function parseShellHistory(data: Uint8Array | string, filename?: string): Promise<NewHistoryEntry[]> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return (await loadExtras()).parseShellHistory(bytes, filename);
}
