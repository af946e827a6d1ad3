// The legacy (atuin <= 17) migration, imported only by `migrateLegacy`: the package entry does
// not carry it. The migration itself is the core's, in its own wasm module (web/legacy); a
// `records.db` is read with sql.js (SQLite in wasm, loaded only for a database).
import initSqlJs, { type SqlJsStatic } from 'sql.js';
import initLegacy, { migrate as wasmMigrate } from '../pkg/terrapin_legacy.js';
import type { LegacyMigration } from './types.js';

let legacy: Promise<unknown> | undefined;

const SQLITE_MAGIC = 'SQLite format 3\0';

/** `migrateLegacy` (index.ts): a `records.db` (bytes or Blob) or the legacy JSON text. */
export async function migrateInput(
  input: Uint8Array | ArrayBuffer | Blob | string,
  key: string,
  { sqliteWasm, legacyWasm }: { sqliteWasm?: string | URL; legacyWasm?: string | URL },
): Promise<LegacyMigration> {
  let json = input;
  if (typeof Blob !== 'undefined' && input instanceof Blob) input = await input.arrayBuffer();
  if (input instanceof ArrayBuffer) input = new Uint8Array(input);
  if (input instanceof Uint8Array) {
    const head = new TextDecoder().decode(input.subarray(0, SQLITE_MAGIC.length));
    json = head === SQLITE_MAGIC ? await recordsDbToJson(input, sqliteWasm) : new TextDecoder().decode(input);
  } else if (typeof input !== 'string') {
    throw new TypeError('migrateLegacy: `input` must be a records.db (bytes or Blob) or JSON text');
  }
  // A string by now: decoded bytes, or the text given.
  return migrate(json as string, key, legacyWasm);
}

/** Migrates legacy JSON text with the Atuin `key` (see `migrateLegacy`). */
export async function migrate(json: string, key: string, wasmUrl?: string | URL): Promise<LegacyMigration> {
  legacy ??= initLegacy(wasmUrl ? { module_or_path: wasmUrl } : undefined).catch((e: unknown) => {
    legacy = undefined;
    throw e;
  });
  await legacy;
  return wasmMigrate(json, key);
}

const COLUMNS = ['id', 'parent', 'host', 'timestamp', 'tag', 'version', 'data', 'cek'];

let sqlite: Promise<SqlJsStatic> | undefined;

const text = (v: unknown) => (v instanceof Uint8Array ? new TextDecoder('utf-8', { fatal: true }).decode(v) : v);

/** The legacy JSON text of the `records` table of the SQLite database `bytes`. */
export async function recordsDbToJson(bytes: Uint8Array, wasmUrl?: string | URL): Promise<string> {
  sqlite ??= initSqlJs({
    locateFile: () => (wasmUrl ? String(wasmUrl) : new URL('./sqlite.wasm', import.meta.url).href),
  }).catch((e: unknown) => {
    sqlite = undefined;
    throw e;
  });
  const SQL = await sqlite;
  const db = new SQL.Database(bytes);
  try {
    const have = new Set(db.exec("SELECT name FROM pragma_table_info('records')")[0]?.values.map((r) => r[0]) ?? []);
    const missing = COLUMNS.filter((c) => !have.has(c));
    if (have.size === 0) throw new Error('not a legacy Atuin records.db: it has no `records` table');
    if (missing.length) throw new Error(`not a legacy Atuin records.db: table \`records\` lacks ${missing.map((c) => `\`${c}\``).join(', ')}`);
    // The timestamp as text: nanoseconds do not fit a JS number.
    const stmt = db.prepare(
      'SELECT id, parent, host, CAST(timestamp AS TEXT), tag, version, data, cek FROM records ORDER BY rowid',
    );
    const out: string[] = [];
    try {
      while (stmt.step()) {
        const [id, parent, host, ts, tag, version, data, cek] = stmt.get();
        if (typeof ts !== 'string' || !/^\d+$/.test(ts)) throw new Error(`records.db: record ${id} has timestamp ${JSON.stringify(ts)}, not a whole number of nanoseconds`);
        out.push(
          `{"id":${JSON.stringify(id)},"parent":${JSON.stringify(parent ?? null)},"host":${JSON.stringify(host)},` +
            `"timestamp":${ts},"tag":${JSON.stringify(tag)},"version":${JSON.stringify(version)},` +
            `"data":{"data":${JSON.stringify(text(data))},"content_encryption_key":${JSON.stringify(text(cek))}}}`,
        );
      }
    } finally {
      stmt.free();
    }
    return `[${out.join(',')}]`;
  } finally {
    db.close();
  }
}
