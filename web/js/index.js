// terrapin-web: Atuin record sync in the browser (and Web Workers).
// A thin, idiomatic wrapper over the wasm exports in ../pkg; every rule lives in Rust.
import init, {
  WasmClient,
  deleteProfile as wasmDeleteProfile,
  generateKey as wasmGenerateKey,
  parseShellHistory as wasmParseShellHistory,
} from '../pkg/terrapin_web.js';

let ready;
let loaded = false;

/**
 * Load the wasm module. Called by `Client.open`; call it yourself to pass the module from
 * elsewhere (a URL, a Response, bytes or a compiled `WebAssembly.Module`).
 */
export function initialize(moduleOrPath) {
  ready ??= init(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath }).then((m) => {
    loaded = true;
    return m;
  });
  return ready;
}

/** Errors thrown by this package: an `Error` with `kind` and, from the server, `status`. */
export function isTerrapinError(e) {
  return e instanceof Error && e.name === 'TerrapinError';
}

class History {
  #w;
  constructor(w) { this.#w = w; }
  /** Live entries matching `query`, newest first (fuzzy: best first). */
  query(query = {}) { return this.#w.historyQuery(query); }
  get(id) { return this.#w.historyGet(id); }
  count() { return this.#w.historyCount(); }
  hosts() { return this.#w.historyHosts(); }
  add(entry) { return this.#w.historyAdd(entry); }
  addMany(entries) { return this.#w.historyAddMany(entries); }
  /** Delete an entry (whichever host wrote it): writes a delete record. */
  delete(id) { return this.#w.historyDelete(id); }
}

class Kv {
  #w;
  constructor(w) { this.#w = w; }
  get(namespace, key) { return this.#w.kvGet(namespace, key); }
  set(namespace, key, value) { return this.#w.kvSet(namespace, key, String(value)); }
  delete(namespace, key) { return this.#w.kvDelete(namespace, key); }
  list(namespace) { return this.#w.kvList(namespace); }
}

export class Client {
  #w;
  #server;
  #profile;
  /** @type {History} */ history;
  /** @type {Kv} */ kv;

  constructor(w, server, profile) {
    this.#w = w;
    this.#server = server;
    this.#profile = profile;
    this.history = new History(w);
    this.kv = new Kv(w);
  }

  /** Open (or create) a profile: its own IndexedDB database, bound to one server. */
  static async open({ server, profile = 'default', pageSize, retry, wasm } = {}) {
    if (!server) throw new TypeError('Client.open: `server` is required');
    await initialize(wasm);
    const w = await WasmClient.open({ server, profile, pageSize, retry });
    return new Client(w, server, profile);
  }

  get hostId() { return this.#w.hostId; }
  get username() { return this.#w.username; }
  get loggedIn() { return this.#w.loggedIn; }
  /** The session token (secret: it opens the account), or undefined. */
  get session() { return this.#w.session; }

  /** Create an account. Without `key` a fresh Atuin key is made: read it with `key()`. */
  register({ username, email, password, key }) { return this.#w.register(username, email, password, key); }
  /** Log in with the password and the account's Atuin key (as `atuin key` prints it). */
  login({ username, password, key }) { return this.#w.login(username, password, key); }
  /** Forget the session, the key and the saved vault (records stay). */
  logout() { return this.#w.logout(); }
  /** `{ username }` of the session's account, from the server. */
  async me() { return { username: await this.#w.me() }; }

  /** The Atuin key as `atuin key` prints it, or undefined. Keep it secret. */
  key() { return this.#w.key(); }
  setKey(key) { return this.#w.setKey(key); }
  setSession(session) { this.#w.setSession(session); }

  /** Keep the session and key in IndexedDB, sealed under `passphrase` (Argon2id + XChaCha20-Poly1305). */
  saveVault(passphrase, options) { return this.#w.saveVault(passphrase, options); }
  hasVault() { return this.#w.hasVault(); }
  /** Restore the session and key from the vault. */
  unlock(passphrase) { return this.#w.unlock(passphrase); }

  /**
   * Sync with the server. Resumable: a sync cut off (signal) continues where it stopped. With
   * `entries`, the report lists the history entries the sync made live.
   */
  sync(options) { return this.#w.sync(options); }
  /**
   * Live sync: syncs whenever another host pushes (the server's live status socket), with one
   * socket per profile across tabs (Web Locks elect the tab that holds it). Emits `state` and
   * `synced` (with the new history entries). Close it before the client.
   */
  async live(options) {
    // Its own module (pkg/live.js), loaded on first use: the entry stays small.
    const { Live } = await import('./live.js');
    return new Live(this, this.#server, this.#profile, options);
  }
  /** The server's status, same shape as `status()`. */
  remoteStatus() { return this.#w.remoteStatus(); }
  /** Reload history and kv from IndexedDB (after another tab or worker wrote to this profile). */
  refresh() { return this.#w.refresh(); }
  /** The local status `{ hosts: { [host]: { [tag]: lastIdx } } }`. */
  status() { return this.#w.status(); }
  /** The holes of the local series (idx the server could not give), asked for again on every sync. */
  missing() { return this.#w.missing(); }
  /** Records that could not be decrypted or decoded with the current key. */
  unreadableCount() { return this.#w.unreadableCount(); }

  /** Every local record as wire JSON text. */
  exportRecords() { return this.#w.exportRecords(); }
  /** Append records (wire JSON text, e.g. from `migrateLegacy`); returns how many. */
  importRecords(json) { return this.#w.importRecords(json); }

  /** Release the wasm side of this client. */
  close() { this.#w.free(); }
}

const SQLITE_MAGIC = 'SQLite format 3\0';

/**
 * Migrate a legacy (atuin <= 17) record store with the account's Atuin `key` (phrase or key file
 * text): `input` is its `records.db` (bytes, ArrayBuffer or Blob; read with SQLite in wasm,
 * loaded only now) or the legacy JSON text. Resolves to `{ records, series }`: `records` is wire
 * JSON text for `Client.importRecords`. Throws (kind `legacy`, with `problems` and `series`)
 * naming every record that can't be decrypted or chained; then nothing is migrated.
 */
export async function migrateLegacy(input, key, { sqliteWasm, legacyWasm } = {}) {
  if (typeof key !== 'string' || !key) throw new TypeError('migrateLegacy: `key` (the Atuin key) is required');
  const legacy = await import('./legacy-db.js');
  let json = input;
  if (typeof Blob !== 'undefined' && input instanceof Blob) input = await input.arrayBuffer();
  if (input instanceof ArrayBuffer) input = new Uint8Array(input);
  if (input instanceof Uint8Array) {
    const head = new TextDecoder().decode(input.subarray(0, SQLITE_MAGIC.length));
    json = head === SQLITE_MAGIC ? await legacy.recordsDbToJson(input, sqliteWasm) : new TextDecoder().decode(input);
  } else if (typeof input !== 'string') {
    throw new TypeError('migrateLegacy: `input` must be a records.db (bytes or Blob) or JSON text');
  }
  return legacy.migrate(json, key, legacyWasm);
}

/** Delete a profile's database and everything in it. */
export async function deleteProfile(profile) {
  await initialize();
  return wasmDeleteProfile(profile);
}

/** A fresh random Atuin key string. */
export async function generateKey() {
  await initialize();
  return wasmGenerateKey();
}

/**
 * Read a shell history file (bash, zsh plain or extended, fish) into new history entries.
 * Pass the file's bytes (zsh's own byte escapes are undone) or its text. Synchronous: the
 * module must be loaded (`await initialize()` or `Client.open` first).
 */
export function parseShellHistory(data, filename) {
  if (!loaded) throw new Error('terrapin-web: call `await initialize()` (or Client.open) before parseShellHistory');
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return wasmParseShellHistory(bytes, filename);
}
