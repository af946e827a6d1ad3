// The Import tab: a shell history file (parsed by the package: terrapin-core's parsers for zsh
// extended/plain, bash with or without HISTTIMEFORMAT comments, and fish) becomes history of
// this browser's host; an old Atuin store (records.db) is migrated with the account's key.
// Either is then synced. Files come from the picker or are dropped anywhere on the app.
import { isTerrapinError, migrateLegacy, parseShellHistory } from 'terrapin-web';
import type { LegacyProblem, LegacySeries, NewHistoryEntry } from 'terrapin-web';
import sqliteWasmUrl from 'terrapin-web/sqlite-wasm?url';
import legacyWasmUrl from 'terrapin-web/legacy-wasm?url';
import { $, h, num } from './util';
import { describe } from './errors';
import { browserHostName } from './settings';
import { currentClient, currentSettings } from './session';
import { refreshAfterChange } from './results';
import { doSync } from './sync';
import { selectTab } from './tabs';

const SQLITE_MAGIC = 'SQLite format 3\0';

/** Entries without a timestamp get increasing times, 1 ms apart, ending at `end`. */
function fillTimes(entries: NewHistoryEntry[], end: number) {
  const n = entries.length;
  entries.forEach((e, i) => {
    if (e.timestamp === undefined) e.timestamp = end - (n - i);
  });
}

async function parseHistoryFile(data: Uint8Array | string, filename?: string, mtime = Date.now()): Promise<NewHistoryEntry[]> {
  const entries = await parseShellHistory(data, filename);
  fillTimes(entries, mtime);
  return entries;
}

async function importFile(file: File) {
  const client = currentClient();
  const settings = currentSettings();
  if (!client || !settings) return;
  const out = $('import-result');
  selectTab('import', false);
  $('import-legacy').hidden = true;
  out.textContent = `Reading ${file.name}…`;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (new TextDecoder().decode(bytes.subarray(0, SQLITE_MAGIC.length)) === SQLITE_MAGIC) return await importLegacy(file.name, bytes);
    const entries = await parseHistoryFile(bytes, file.name, file.lastModified || Date.now());
    if (!entries.length) {
      out.textContent = `${file.name}: no commands found.`;
      return;
    }
    const hostname = `${settings.importHost ?? browserHostName(client.hostId)}:${settings.username ?? 'web'}`;
    const session = crypto.randomUUID().replace(/-/g, '');
    let added = 0;
    for (let i = 0; i < entries.length; i += 5000) {
      const batch = entries.slice(i, i + 5000).map((e) => ({ ...e, hostname, session, cwd: e.cwd ?? 'unknown', exit: e.exit ?? -1 }));
      added += await client.history.addMany(batch);
      out.textContent = `Importing ${file.name}: ${num(added)} / ${num(entries.length)}…`;
    }
    out.textContent = `Imported ${num(added)} commands from ${file.name} as host ${hostname}. Syncing…`;
    document.body.dataset.imported = String(added);
    refreshAfterChange();
    await doSync();
    out.textContent = `Imported ${num(added)} commands from ${file.name} as host ${hostname}.`;
  } catch (e) {
    out.textContent = describe(e, 'import');
  }
}

/** An old (Atuin <= 17) records.db: migrated with this account's key, imported, synced. */
async function importLegacy(name: string, bytes: Uint8Array) {
  const c = currentClient()!;
  const out = $('import-result');
  const key = c.key();
  if (!key) {
    out.textContent = 'No key is set: log in again with your Atuin key to migrate an old store.';
    return;
  }
  out.textContent = `Migrating ${name}…`;
  let found: LegacySeries[] = [];
  try {
    const m = await migrateLegacy(bytes, key, { sqliteWasm: sqliteWasmUrl, legacyWasm: legacyWasmUrl });
    found = m.series;
    showLegacy(found, []);
    const total = found.reduce((n, s) => n + s.records, 0);
    const added = await c.importRecords(m.records);
    document.body.dataset.legacyImported = String(added);
    const what = `${name}: ${num(total)} records in ${num(found.length)} series decrypted and re-encrypted; ${added ? `${num(added)} new` : 'all were already here'}.`;
    out.textContent = `${what} Syncing…`;
    if (added) refreshAfterChange();
    await doSync();
    out.textContent = what;
  } catch (e) {
    const problems = isTerrapinError(e) && e.kind === 'legacy' ? e.problems ?? [] : [];
    if (isTerrapinError(e) && e.series) found = e.series;
    showLegacy(found, problems.map((p) => legacyProblem(p)));
    out.textContent = problems.length
      ? `${name} was not migrated: ${num(problems.length)} problem${problems.length === 1 ? '' : 's'} (nothing was written).`
      : `${name} was not migrated: ${describe(e, 'import')}`;
    document.body.dataset.legacyProblems = String(problems.length);
  }
}

function legacyProblem(p: LegacyProblem): string {
  switch (p.kind) {
    case 'undecryptable':
    case 'check_failed':
      return p.reason;
    case 'missing_parent':
      return `record ${p.record}: its parent ${p.parent} is missing`;
    case 'fork':
      return `record ${p.parent} has several children: ${p.children.join(', ')}`;
    case 'multiple_roots':
      return `series ${p.series} has several first records: ${p.roots.join(', ')}`;
    case 'cycle':
      return `series ${p.series}: records in a cycle: ${p.records.join(', ')}`;
    case 'duplicate_id':
      return `record ${p.id} appears more than once`;
  }
}

function showLegacy(series: LegacySeries[], problems: string[]) {
  $('import-legacy').hidden = false;
  $('legacy-series').querySelector('tbody')!.replaceChildren(
    ...series.map((s) =>
      h('tr', {}, h('td', { class: 'mono', text: s.host }), h('td', { text: s.tag }), h('td', { class: 'num', text: num(s.records) }), h('td', { class: 'mono', text: s.migratedHost })),
    ),
  );
  $('legacy-problems').replaceChildren(...problems.map((p) => h('li', { text: p })));
}

/** The file picker, and files dropped anywhere while the app is shown. */
export function wireImport() {
  let depth = 0;
  const overlay = $('drop-overlay');
  const hasFiles = (ev: DragEvent) => !!ev.dataTransfer && [...ev.dataTransfer.types].includes('Files');
  const active = () => document.body.dataset.view === 'app';
  document.addEventListener('dragenter', (ev) => {
    if (!hasFiles(ev) || !active()) return;
    depth++;
    overlay.hidden = false;
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  document.addEventListener('dragover', (ev) => {
    if (hasFiles(ev)) ev.preventDefault();
  });
  document.addEventListener('drop', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth = 0;
    overlay.hidden = true;
    const f = ev.dataTransfer?.files[0];
    if (f && active()) void importFile(f);
  });
  $<HTMLInputElement>('import-file').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const f = input.files?.[0];
    if (f) void importFile(f).finally(() => (input.value = ''));
  });
}
