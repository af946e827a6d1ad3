// The shapes of what terrapin-web takes and gives (re-exported by index.ts). Times are
// milliseconds since the Unix epoch unless named `…Ns`.

/** Every error this package throws. */
export interface TerrapinError extends Error {
  name: 'TerrapinError';
  kind:
    | 'network' | 'server' | 'rate_limited' | 'unauthorized' | 'not_found' | 'conflict'
    | 'refused' | 'bad_response' | 'no_session' | 'aborted' | 'wrong_key'
    | 'store' | 'wrong_passphrase' | 'vault' | 'bad_key' | 'crypto' | 'legacy' | 'no_key'
    | 'no_vault' | 'busy' | 'entropy' | 'invalid';
  /** The HTTP status, when the server answered. */
  status?: number;
  /** Kind `legacy`: everything that stopped the migration, and the series found. */
  problems?: LegacyProblem[];
  series?: LegacySeries[];
}

/** The wasm module, from elsewhere: a URL, a Response, bytes or a compiled module. */
export type WasmSource = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface OpenOptions {
  /** The sync server, e.g. `https://sync.example.com`. */
  server: string;
  /** The profile: its own IndexedDB database (default `"default"`). */
  profile?: string;
  /**
   * Records per stored sync page (default 4000), and at most per request: downloads ask for the
   * server's page size, pushes go in batches of it.
   */
  pageSize?: number;
  /** Retries of transient failures (network, 5xx, 429). */
  retry?: { attempts?: number; baseMs?: number; maxMs?: number };
  /** Where to load the wasm from (default: next to the package). */
  wasm?: WasmSource;
}

export interface HistoryEntry {
  /** Atuin's history id (32 hex digits). */
  id: string;
  timestamp: number;
  /** The exact timestamp in nanoseconds, as a decimal string. */
  timestampNs: string;
  /** Nanoseconds; -1 when unknown. */
  duration: number;
  /** -1 when unknown. */
  exit: number;
  command: string;
  cwd: string;
  session: string;
  /** `"host:user"` */
  hostname: string;
  host: string;
  user: string;
  author: string;
  /** Set when Atuin soft-deleted the entry. */
  deletedAt?: number | null;
  intent?: string | null;
  shell?: string | null;
  /** In a unique query's results: how many matching runs of this command (this entry is the newest). */
  runs?: number;
  /**
   * In results of a query with text: where the text matched `command`, as flat
   * `[start, end, start, end, ...]` ranges of string indices (UTF-16), sorted. Fuzzy: the
   * matched characters.
   */
  matches?: number[];
}

export interface NewHistoryEntry {
  command: string;
  id?: string;
  /** Default: now. */
  timestamp?: number;
  duration?: number;
  exit?: number;
  cwd?: string;
  session?: string;
  /** `"host:user"` (default `"browser:web"`). */
  hostname?: string;
  author?: string;
  intent?: string;
  shell?: string;
}

export type SearchMode = 'prefix' | 'full-text' | 'fuzzy';

export interface HistoryQuery {
  text?: string;
  /** Default `full-text`: every word appears, any order, any case. */
  mode?: SearchMode;
  /** The host part of `hostname`. */
  host?: string;
  cwd?: string;
  exit?: number;
  session?: string;
  /** Exactly this command (e.g. the runs of one unique result). */
  command?: string;
  /** Entries at or after this time. */
  after?: number;
  /** Entries before this time. */
  before?: number;
  includeDeleted?: boolean;
  /**
   * One result per distinct command (the filters apply to the runs first): its newest run,
   * with `runs`. Newest first (fuzzy: best first); `total` counts distinct commands.
   */
  unique?: boolean;
  offset?: number;
  /** Default 100. */
  limit?: number;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  /** How many entries (unique: distinct commands) matched in all. */
  total: number;
}

/** A host of the record store (`hostId`, as in `status()`) and the hostnames of its live history. */
export interface HistoryHost {
  hostId: string;
  /** Most entries first. */
  hostnames: { hostname: string; host: string; entries: number }[];
}

/** The record indexes `first..=last` of one series. */
export interface IdxRange {
  first: number;
  last: number;
}

export interface SyncProgress {
  host: string;
  tag: string;
  direction: 'upload' | 'download';
  /** Indexes covered for this series so far (moved, or found missing on the server), and in all. */
  done: number;
  total: number;
  /** Indexes covered over the whole sync so far, and in all. */
  allDone: number;
  allTotal: number;
  /** Indexes of this series the server could not give, so far in this sync. */
  missing: IdxRange[];
}

export interface SyncOptions {
  signal?: AbortSignal;
  onProgress?: (p: SyncProgress) => void;
  /** Report the history entries this sync made live (`SyncReport.entries`). */
  entries?: boolean;
}

/** Why a series stopped syncing (the other series went on). */
export interface SeriesError {
  /**
   * `foreign_key`: a record to upload was written under another key (`recordKid`); nothing of the
   * series from `idx` on was uploaded. `unreadable`: a record to upload has a damaged wrapped key.
   * `local_hole`: this device lacks `idx`, so nothing past it was uploaded. `bad_page`: the
   * server answered a malformed page from `idx`. `key_unchecked`: the key could not be checked
   * (no record on the server could be read), so nothing was uploaded.
   */
  kind: 'foreign_key' | 'unreadable' | 'local_hole' | 'bad_page' | 'key_unchecked';
  message: string;
  idx?: number;
  recordKid?: string;
  keyKid?: string;
}

/** A series that did not sync completely; it is tried again on the next sync. */
export interface DamagedSeries {
  host: string;
  tag: string;
  /** Indexes the server lacks (holes at the start, middle or end); the records around them synced. */
  missing: IdxRange[];
  error?: SeriesError;
}

export interface SyncReport {
  uploaded: number;
  downloaded: number;
  /**
   * What the key was checked against before anything moved: `verified` (a record on the server
   * opened with it), `nothing_synced` (the server holds no encrypted records yet), or
   * `nothing_readable` (none of the server's records could be read: nothing was uploaded).
   */
  keyCheck: 'verified' | 'nothing_synced' | 'nothing_readable';
  /** With `SyncOptions.entries`: the history entries this sync made live. */
  entries?: HistoryEntry[];
  /** Every series that did not sync completely. Empty after a clean sync. */
  damaged: DamagedSeries[];
}

/** The holes this device keeps for one series (indexes below its last one that it lacks). */
export interface SeriesHoles {
  host: string;
  tag: string;
  missing: IdxRange[];
}

export interface Status {
  hosts: Record<string, Record<string, number>>;
}

export interface KvEntry {
  namespace: string;
  key: string;
  value: string;
}

/**
 * A script of atuin's `script` store (`atuin scripts`). The package's API (issue 26):
 * `client.scripts.list(): Script[]` (live scripts sorted by name), `get(idOrName)`,
 * `set(NewScript): Promise<Script>` (no id: create with a new UUID v7; the id of a live script:
 * replace every field, as `atuin scripts edit` does; any other id: create with it, which
 * restores a deleted script; 'invalid' error for an empty name or a name another live script
 * has), `delete(id): Promise<void>`.
 */
export interface Script {
  id: string;
  name: string;
  description: string;
  /** The interpreter (`bash`, `/usr/bin/env python3`); empty for none. */
  shebang: string;
  tags: string[];
  /** The body. */
  script: string;
}

/** What `client.scripts.set` takes: without `id` a new script, with `id` an update. */
export interface NewScript {
  id?: string;
  name: string;
  description?: string;
  shebang?: string;
  tags?: string[];
  script: string;
}

/** A legacy `config-shell-alias` record's alias (read-only: `client.aliases.list()`, by name). */
export interface ShellAlias {
  name: string;
  value: string;
}

/** A legacy `dotfiles-var` record's variable (read-only: `client.vars.list()`, by name). */
export interface DotfilesVar {
  name: string;
  value: string;
  /** `export NAME=value` when true, else a shell variable `NAME=value`. */
  export: boolean;
}

/** A harness and its own id for a thread (atuin's key for it). */
export interface ThreadHandle {
  /** `ClaudeCode`, `Codex`, `Copilot`, `Opencode`, `Pi`, `Omp` or `Unknown`. */
  harness: string;
  session: string;
}

/** One AI thread (`ai-session` records: atuin's `[threads] capture`), read-only: `client.threads`. */
export interface Thread {
  /** `harness:session`: what `client.threads.get` takes. */
  id: string;
  session: ThreadHandle;
  /** atuin's id for the thread (32 hex digits; `atuin threads` shows its last 8). */
  atuinId: string | null;
  /** The thread it branched from (a subagent's, a fork's), if it names one. */
  parent: ThreadHandle | null;
  /** `Subagent`, `Fork` or `Continuation`. */
  parentKind: string | null;
  cwd: string | null;
  gitBranch: string | null;
  model: string | null;
  /** Unix ms of the first and the last message. */
  startedAt: number;
  updatedAt: number;
  /** Messages with content (structural rows are not counted). */
  messageCount: number;
  title: string | null;
  titleSource: string | null;
  /** The host of its first message. */
  host: string | null;
}

/** Token usage a message reported, as its harness reported it. */
export interface ThreadUsage {
  input: number | null;
  output: number | null;
  cacheRead: number | null;
  cacheWrite: number | null;
  reasoning: number | null;
}

/** One hunk of a file a tool call changed. */
export interface ThreadHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** Each starting with ` `, `-`, `+` or `\`. */
  lines: string[];
}

/** One block of a thread message. Tool input and output are the JSON the harness wrote. */
export type ThreadContent =
  | { type: 'text' | 'reasoning' | 'summary' | 'error'; text: string }
  | { type: 'toolUse'; id: string; name: string; input: unknown }
  | { type: 'toolResult'; call: string; output: unknown; error: boolean }
  | { type: 'other'; value: unknown }
  | { type: 'reasoningSummary'; tokens: number | null }
  | {
      type: 'patch';
      call: string;
      files: { path: string; change: 'Add' | 'Update' | 'Delete'; movedTo: string | null; hunks: ThreadHunk[] }[];
    }
  /** A block of a kind atuin 18.24.4 does not know: its name and value. */
  | { type: 'unknown'; kind: string; value: unknown };

/** One message of a thread. */
export interface ThreadMessage {
  id: string;
  session: ThreadHandle;
  sourceId: string;
  parent: ThreadHandle | null;
  parentKind: string | null;
  parentSourceId: string | null;
  /** Unix ms. */
  timestamp: number;
  /** The time in the offset its harness gave (RFC 3339). */
  timestampText: string;
  /** `User`, `Assistant`, `System`, `Tool`, or another role's own name. */
  role: string;
  content: ThreadContent[];
  cwd: string | null;
  gitBranch: string | null;
  model: string | null;
  provider: string | null;
  usage: ThreadUsage | null;
  stopReason: string | null;
  sessionTitle: string | null;
  sessionTitleSource: string | null;
  titleChange: { source: string; text: string | null } | null;
  turnId: string | null;
  atuinId: string | null;
  /** The host whose record it is. */
  host: string | null;
}

/** A thread with its messages in order (`client.threads.get`). */
export interface ThreadWithMessages extends Thread {
  messages: ThreadMessage[];
}

export interface VaultOptions {
  /** Argon2id memory in KiB (default 19456). */
  memoryKiB?: number;
  /** Argon2id passes (default 2). */
  iterations?: number;
  parallelism?: number;
}

/** One legacy series found by `migrateLegacy`. */
export interface LegacySeries {
  /** The legacy host id. */
  host: string;
  tag: string;
  records: number;
  /** The host id the series is migrated to (derived from `host`, never a live host's). */
  migratedHost: string;
}

/** One thing that stops a legacy migration; every kind names its records. */
export type LegacyProblem =
  | { kind: 'duplicate_id'; id: string }
  | { kind: 'missing_parent'; record: string; parent: string }
  | { kind: 'fork'; parent: string; children: string[] }
  | { kind: 'multiple_roots'; series: string; roots: string[] }
  | { kind: 'cycle'; series: string; records: string[] }
  | { kind: 'undecryptable'; record: string; reason: string }
  | { kind: 'check_failed'; record: string; reason: string };

export interface LegacyMigration {
  /** The migrated records as wire JSON text, for `Client.importRecords`. */
  records: string;
  series: LegacySeries[];
}

