// The Search tab: the query from the controls, its results cached a page at a time, the
// virtual list of rows (./row), the runs or session scope, and the list's keys and actions.
// Its state is this module's own; the others call the functions exported here.
import type { Client, HistoryEntry, HistoryQuery, SearchMode } from 'terrapin-web';
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import { $, copyText, dateToMs, h, num, toast, when } from './util';
import { describe } from './errors';
import { alertMsg, confirmDialog } from './dialogs';
import { countDelete, timeKeystroke, timeQuery } from './metrics';
import { currentClient, currentSettings } from './session';
import { fillRow, newRow } from './row';
import { findPlace } from './live';
import { loadPrefs, savePrefs } from './prefs';
import { freshStats, historyChanged, statsChanged } from './panels';

const PAGE = 100;
const ROW_H = 52;
const CACHE_MAX = 64;
const FILTERS = ['f-host', 'f-cwd', 'f-exit', 'f-session', 'f-after', 'f-before'];

/**
 * What the list shows besides the search: every run of one command (opened from a unique
 * row; the filters still apply), or one session's commands in order, oldest first (as
 * atuin's session filter), the search text set aside until going back.
 */
type Scope = { kind: 'runs'; command: string } | { kind: 'session'; session: string; savedText: string; from: string };

/** One query's results, fetched a page at a time. */
interface Cached {
  total: number;
  pages: Map<number, HistoryEntry[]>;
}

const r = {
  query: {} as HistoryQuery,
  total: 0,
  /** Bumped per query: a row filled for an older one is filled again. */
  gen: 0,
  selected: 0,
  scope: null as Scope | null,
  /**
   * Results per query, newest used last (LRU): typing back over a query seen since the data
   * last changed (backspace, clearing the box) costs nothing. Cleared whenever the history changes.
   */
  cache: new Map<string, Cached>(),
  current: { total: 0, pages: new Map() } as Cached,
  rows: new Map<number, HTMLElement>(),
  /** The list, wired on first entering the app (when it has a size). */
  virt: null as Virtualizer<HTMLElement, HTMLElement> | null,
  /** A sync without live mode is under way (the empty list says so). */
  syncing: false,
  /** Runs after a delete here went through. */
  deleted: () => {},
};

/** The profile's remembered search mode and unique-or-all into the controls. */
function applyPrefs() {
  const s = currentSettings();
  if (!s) return;
  const p = loadPrefs(s.profile);
  $<HTMLSelectElement>('mode').value = p.mode;
  $<HTMLInputElement>('unique').checked = p.unique;
}
function rememberPrefs() {
  const s = currentSettings();
  if (s) savePrefs(s.profile, { mode: $<HTMLSelectElement>('mode').value as SearchMode, unique: $<HTMLInputElement>('unique').checked });
}

/** Entering the app: the list wired (the first time), the profile's search preferences applied. */
export function enterResults() {
  if (!r.virt) wireResults();
  applyPrefs();
}

/** `f` runs after each delete made in the list (to sync it). */
export function onDeleted(f: () => void) {
  r.deleted = f;
}

/** Whether a sync without live mode is under way: the empty list says "Syncing your history…". */
export function showSyncing(on: boolean) {
  r.syncing = on;
}

function readQuery(): HistoryQuery {
  const q: HistoryQuery = { text: $<HTMLInputElement>('q').value, mode: $<HTMLSelectElement>('mode').value as SearchMode };
  if (r.scope?.kind === 'session') {
    q.session = r.scope.session;
    return q;
  }
  if (r.scope?.kind === 'runs') q.command = r.scope.command;
  else if ($<HTMLInputElement>('unique').checked) q.unique = true;
  const host = $<HTMLInputElement>('f-host').value.trim();
  const cwd = $<HTMLInputElement>('f-cwd').value.trim();
  const exit = $<HTMLInputElement>('f-exit').value.trim();
  const session = $<HTMLInputElement>('f-session').value.trim();
  if (host) q.host = host;
  if (cwd) q.cwd = cwd;
  if (exit !== '' && Number.isInteger(Number(exit))) q.exit = Number(exit);
  if (session) q.session = session;
  const after = dateToMs($<HTMLInputElement>('f-after').value);
  const before = dateToMs($<HTMLInputElement>('f-before').value, 1);
  if (after !== undefined) q.after = after;
  if (before !== undefined) q.before = before;
  return q;
}

export function invalidateResults() {
  r.cache.clear();
}
function cachedFor(q: HistoryQuery): Cached {
  const key = JSON.stringify({ ...q, text: q.text?.trim() ?? '' });
  let c = r.cache.get(key);
  if (c) r.cache.delete(key);
  else c = { total: -1, pages: new Map() };
  r.cache.set(key, c);
  if (r.cache.size > CACHE_MAX) r.cache.delete(r.cache.keys().next().value!);
  return c;
}

function fetchPage(p: number): HistoryEntry[] {
  let pg = r.current.pages.get(p);
  if (!pg) {
    pg = [];
    const client = currentClient();
    if (client) {
      try {
        const res = timeQuery(() => client.history.query({ ...r.query, offset: p * PAGE, limit: PAGE }));
        pg = res.entries;
        r.current.total = res.total;
      } catch (e) {
        alertMsg(describe(e, 'other'));
      }
    }
    r.current.pages.set(p, pg);
  }
  return pg;
}
function entryAt(i: number): HistoryEntry | undefined {
  // A session reads oldest first: the query's newest-first results from the end.
  const j = r.scope?.kind === 'session' ? r.total - 1 - i : i;
  if (j < 0) return undefined;
  return fetchPage(Math.floor(j / PAGE))[j % PAGE];
}

export function runQuery(keepScroll = false) {
  const client = currentClient();
  const virt = r.virt;
  if (!client || !virt) return;
  r.query = readQuery();
  r.gen++;
  r.current = cachedFor(r.query);
  fetchPage(0);
  r.total = Math.max(0, r.current.total);
  if (!keepScroll) r.selected = 0;
  r.selected = Math.max(0, Math.min(r.selected, r.total - 1));
  virt.setOptions({ ...virt.options, count: r.total });
  virt._willUpdate();
  if (!keepScroll) $('results').scrollTop = 0;
  renderRows();
  const { query, total } = r;
  const all = client.history.count();
  const filtered = query.text?.trim() || Object.keys(query).some((k) => !['text', 'mode', 'unique'].includes(k));
  const what = query.unique ? `${total === 1 ? 'command' : 'commands'}` : total === 1 ? 'entry' : 'entries';
  $('result-count').textContent = query.unique
    ? `${num(total)} distinct ${what}${filtered ? (total === 1 ? ' matches' : ' match') : ''} · ${num(all)} entries`
    : filtered ? `${num(total)} of ${num(all)} entries match` : `${num(all)} entries`;
  document.body.dataset.results = String(total);
  document.body.dataset.unique = String(!!query.unique);
  showScope();
  if (!query.text?.trim()) warmSearch(client);
}

const warmed = new WeakSet<object>();
/**
 * A profile's first listing needs no search index (docs/ARCHITECTURE.md, "Search"): build it
 * when the page is idle, in steps that keep it responsive, so the first keystroke doesn't wait.
 */
function warmSearch(client: Client) {
  if (warmed.has(client)) return;
  warmed.add(client);
  const idle = window.requestIdleCallback ?? ((f: () => void) => setTimeout(f, 50));
  // A large profile opens with its newest entries and folds in the rest after: the results
  // again once they are all in, then the index.
  const shown = client.history.count();
  client.history.loaded().then(
    () => {
      if (currentClient() !== client) return;
      if (client.history.count() !== shown) refreshAfterChange();
      idle(() => {
        if (currentClient() === client) client.history.prepare().catch(() => {});
      });
    },
    () => {},
  );
}

/** The history changed (sync, import, another tab): results, host list and tabs again. */
export function refreshAfterChange() {
  invalidateResults();
  if (!$('filters').hidden) fillHostList();
  runQuery(true);
  historyChanged();
}

/**
 * Reloads the results after a sync added `added` entries, keeping the selected entry selected
 * and the rows on screen where they are (at the very top, new entries show up above).
 */
export function refreshKeepingPlace(added: number) {
  const el = $('results');
  const top = Math.floor(el.scrollTop / ROW_H);
  const offset = el.scrollTop - top * ROW_H;
  const place = { selected: r.selected, selectedId: r.total ? entryAt(r.selected)?.id : undefined, top, topId: el.scrollTop > 0 ? entryAt(top)?.id : undefined };
  refreshAfterChange();
  const p = findPlace(place, Math.min(added, 5000), (i) => (i < r.total ? entryAt(i)?.id : undefined));
  if (p.top !== top) el.scrollTop = p.top * ROW_H + offset;
  if (p.selected !== r.selected) {
    r.selected = p.selected;
    renderRows();
  }
}

/** Forgets the results shown (another account, or locked). */
export function resetResults() {
  r.scope = null;
  invalidateResults();
  r.total = 0;
  r.selected = 0;
  $('results-inner').replaceChildren();
  r.rows.clear();
}

/** The bar above the list naming the runs or session shown, with the way back. */
function showScope() {
  const { scope } = r;
  $('scope').hidden = !scope;
  document.body.dataset.scope = scope?.kind ?? '';
  if (!scope) return;
  $('scope-text').textContent = scope.kind === 'runs'
    ? `Every run of ${scope.command.replace(/\n/g, '⏎ ')}`
    : `Session ${scope.session}: ${num(r.total)} commands, oldest first`;
}

/** Lists every run of the unique row at `i`. */
function openRuns(i: number) {
  const e = entryAt(i);
  if (!e || e.runs === undefined) return;
  r.scope = { kind: 'runs', command: e.command };
  runQuery();
  $('results').focus({ preventScroll: true });
}

/** Lists the session of the row at `i`, in order, with that row selected. */
function openSession(i: number) {
  const e = entryAt(i);
  if (!e) return;
  const savedText = r.scope?.kind === 'session' ? r.scope.savedText : $<HTMLInputElement>('q').value;
  r.scope = { kind: 'session', session: e.session, savedText, from: e.id };
  $<HTMLInputElement>('q').value = '';
  runQuery();
  // Sessions are short: find the row it was opened from.
  for (let j = 0; j < Math.min(r.total, 20_000); j++) {
    if (entryAt(j)?.id === e.id) {
      select(j);
      break;
    }
  }
  $('results').focus({ preventScroll: true });
}

function closeScope() {
  if (!r.scope) return;
  if (r.scope.kind === 'session') $<HTMLInputElement>('q').value = r.scope.savedText;
  r.scope = null;
  runQuery();
}

function renderRows() {
  const virt = r.virt!;
  const inner = $('results-inner');
  inner.style.height = `${virt.getTotalSize()}px`;
  const items = virt.getVirtualItems();
  const keep = new Map<number, HTMLElement>();
  const free: HTMLElement[] = [];
  const wanted = new Set(items.map((it) => it.index));
  for (const [i, el] of r.rows) (wanted.has(i) ? keep.set(i, el) : free.push(el));
  for (const it of items) {
    let el = keep.get(it.index);
    const fresh = !el || el.dataset.gen !== String(r.gen);
    if (!el) {
      el = free.pop() ?? newRow();
      keep.set(it.index, el);
    }
    if (fresh) fillRow(el, it.index, r.total, r.gen, entryAt(it.index));
    el.style.transform = `translateY(${it.start}px)`;
    el.setAttribute('aria-selected', String(it.index === r.selected));
    if (!el.isConnected) inner.append(el);
  }
  for (const el of free) el.remove();
  r.rows.clear();
  for (const [i, el] of keep) r.rows.set(i, el);
  if (!r.total) {
    if (!inner.querySelector('.empty')) inner.append(h('div', { class: 'empty', text: currentClient()?.history.count() ? 'No matches.' : r.syncing ? 'Syncing your history…' : 'No history yet: sync, or import a shell history file.' }));
  } else inner.querySelector('.empty')?.remove();
  const active = r.total ? `row-${r.selected}` : '';
  for (const id of ['results', 'q']) {
    if (active && document.getElementById(active)) $(id).setAttribute('aria-activedescendant', active);
    else $(id).removeAttribute('aria-activedescendant');
  }
}

/** The Search tab is shown again: the list takes its size and draws. */
export function showResults() {
  if (!r.virt) return;
  r.virt.measure();
  renderRows();
}

function select(i: number) {
  if (!r.total) return;
  r.selected = Math.max(0, Math.min(r.total - 1, i));
  r.virt!.scrollToIndex(r.selected, { align: 'auto' });
  renderRows();
}

async function copyEntry(i: number) {
  const e = entryAt(i);
  if (!e) return;
  toast((await copyText(e.command)) ? 'Copied' : 'Could not copy');
}

async function deleteEntry(i: number) {
  const e = entryAt(i);
  const client = currentClient();
  if (!e || !client) return;
  if (e.runs !== undefined) {
    toast('This row stands for every run: open its runs (→) to delete one');
    return;
  }
  const ok = await confirmDialog('Delete this entry?', `Run ${when(e.timestamp)} in ${e.cwd} on ${e.host}. A delete record is synced: Atuin on your other machines drops it too.`, e.command, 'Delete');
  if (!ok) return;
  try {
    await countDelete(client.history.delete(e.id));
    toast('Deleted');
    invalidateResults();
    runQuery(true);
    statsChanged();
    r.deleted();
  } catch (err) {
    alertMsg(describe(err, 'delete'));
  }
}

/** The hosts seen in the history, for the host filter (most entries first). */
function fillHostList() {
  const client = currentClient();
  if (!client) return;
  const count = new Map<string, number>();
  for (const x of client.history.hosts()) for (const n of x.hostnames) count.set(n.host, (count.get(n.host) ?? 0) + n.entries);
  const hosts = [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  $('hosts-list').replaceChildren(...hosts.map(([x, n]) => h('option', { value: x, label: `${x} (${num(n)} entries)` })));
}

/** Wires the list and the search controls (once, when the list is first shown). */
function wireResults() {
  const scroller = $('results');
  const rect = scroller.getBoundingClientRect();
  const virt = new Virtualizer<HTMLElement, HTMLElement>({
    count: 0,
    getScrollElement: () => scroller,
    estimateSize: () => ROW_H,
    overscan: 6,
    initialRect: { width: rect.width, height: rect.height || 600 },
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    onChange: () => renderRows(),
  });
  r.virt = virt;
  virt._didMount();
  virt._willUpdate();

  const onListKey = (ev: KeyboardEvent, fromInput: boolean) => {
    const pageRows = Math.max(1, Math.floor(scroller.clientHeight / ROW_H) - 1);
    const { selected } = r;
    switch (ev.key) {
      case 'ArrowDown': select(selected + 1); break;
      case 'ArrowUp': select(selected - 1); break;
      case 'PageDown': select(selected + pageRows); break;
      case 'PageUp': select(selected - pageRows); break;
      case 'Home': if (fromInput) return; select(0); break;
      case 'End': if (fromInput) return; select(r.total - 1); break;
      case 'Enter': void copyEntry(selected); break;
      case 'Delete': if (fromInput) return; void deleteEntry(selected); break;
      case 'ArrowRight': if (fromInput) return; openRuns(selected); break;
      case 's': case 'S': if (fromInput || ev.ctrlKey || ev.metaKey || ev.altKey) return; openSession(selected); break;
      case 'ArrowLeft': if (fromInput || !r.scope) return; closeScope(); break;
      case 'Escape': if (!r.scope) return; closeScope(); break;
      case 'c': if (fromInput || !(ev.ctrlKey || ev.metaKey)) return; void copyEntry(selected); break;
      default: return;
    }
    ev.preventDefault();
  };

  const qInput = $<HTMLInputElement>('q');
  qInput.addEventListener('input', (ev) => timeKeystroke(ev, qInput.value, () => runQuery()));
  qInput.addEventListener('keydown', (ev) => onListKey(ev, true));
  scroller.addEventListener('keydown', (ev) => onListKey(ev, false));
  scroller.addEventListener('click', (ev) => {
    const t = ev.target as HTMLElement;
    const row = t.closest<HTMLElement>('.hrow');
    if (!row) return;
    const i = Number(row.dataset.i);
    r.selected = i;
    renderRows();
    const act = t.closest<HTMLElement>('[data-act]')?.dataset.act;
    if (act === 'copy') void copyEntry(i);
    else if (act === 'delete') void deleteEntry(i);
    else if (act === 'runs') openRuns(i);
    else if (act === 'session') openSession(i);
    else scroller.focus({ preventScroll: true });
  });
  scroller.addEventListener('dblclick', (ev) => {
    const row = (ev.target as HTMLElement).closest<HTMLElement>('.hrow');
    if (row && !(ev.target as HTMLElement).closest('[data-act]')) void copyEntry(Number(row.dataset.i));
  });
  $('mode').addEventListener('change', () => {
    rememberPrefs();
    runQuery();
  });
  $('unique').addEventListener('change', () => {
    rememberPrefs();
    r.scope = null;
    runQuery();
  });
  $('scope-back').addEventListener('click', () => {
    closeScope();
    $('q').focus();
  });
  for (const id of FILTERS) $(id).addEventListener('input', () => runQuery());
  $('filters-clear').addEventListener('click', () => {
    for (const id of FILTERS) $<HTMLInputElement>(id).value = '';
    runQuery();
  });
  $('filters-toggle').addEventListener('click', () => {
    const f = $('filters');
    f.hidden = !f.hidden;
    $('filters-toggle').setAttribute('aria-expanded', String(!f.hidden));
    if (!f.hidden) {
      $('f-host').focus();
      fillHostList();
      freshStats();
    }
  });
}
