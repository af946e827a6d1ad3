// Terrapin history viewer: connect, sync, search, stats, store, import.
import './style.css';
import { Client, deleteProfile, generateKey, isTerrapinError, migrateLegacy } from 'terrapin-web';
import type { DamagedSeries, HistoryEntry, HistoryQuery, IdxRange, LegacyProblem, LegacySeries, Live, LiveState, LiveSynced, SearchMode, Status, SyncProgress, SyncReport } from 'terrapin-web';
import wasmUrl from 'terrapin-web/wasm?url';
import sqliteWasmUrl from 'terrapin-web/sqlite-wasm?url';
import legacyWasmUrl from 'terrapin-web/legacy-wasm?url';
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import { $, copyText, dateToMs, h, num, toast, when } from './util';
import { describe, errorKind } from './errors';
import { StatsBuilder, daysChart, hoursChart, successChart, topChart } from './stats';
import { findPlace, showIndicator, startLive } from './live';
import { parseHistoryFile } from './importer';
import { fillRow, newRow } from './results';
import { forgetPrefs, loadPrefs, savePrefs } from './prefs';

// ---------------------------------------------------------------- settings

interface Settings {
  server: string;
  profile: string;
  /** Secrets sealed under the user's passphrase; else they were held in memory only. */
  locked: boolean;
  username?: string;
  importHost?: string;
}
const SETTINGS_KEY = 'terrapin-www';
const SYNC_EVERY_MS = 5 * 60_000;
const PAGE = 100;
const ROW_H = 52;

function loadSettings(): Settings | null {
  try {
    const s = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? 'null');
    return s && typeof s.server === 'string' && typeof s.profile === 'string' ? s : null;
  } catch {
    return null;
  }
}
function saveSettings(s: Settings | null) {
  if (s) localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
  else localStorage.removeItem(SETTINGS_KEY);
}
const defaultServer = (): string => (import.meta.env.VITE_TERRAPIN_SERVER as string | undefined) || location.origin;
const normServer = (s: string) => s.trim().replace(/\/+$/, '');

function browserHostName(hostId: string): string {
  const ua = navigator.userAgent;
  const b = /Edg\//.test(ua) ? 'edge' : /Firefox\//.test(ua) ? 'firefox' : /Chrom(e|ium)\//.test(ua) ? 'chromium' : /Safari\//.test(ua) ? 'safari' : 'browser';
  return `${b}-${hostId.replace(/-/g, '').slice(-6)}`;
}

// ---------------------------------------------------------------- state

let settings: Settings | null = null;
let client: Client | null = null;
let syncing: AbortController | null = null;
let syncAgain = false;
let lastSync = 0;
let syncTimer: ReturnType<typeof setInterval> | undefined;
/** Live sync (the package's live mode), once started. */
let live: Live | null = null;
/** Bumped when live sync starts or stops, so a start that is still loading can tell it's stale. */
let liveGen = 0;
let statsDirty = true;
let storeDirty = true;

const metrics = {
  /** Per keystroke: event to results in the DOM, of which in history.query, and in the handler. */
  keystrokes: [] as { q: string; ms: number; queryMs: number; handlerMs: number }[],
  frames: [] as number[],
  /** ms since navigation start: Client.open done, first results shown. */
  opened: undefined as number | undefined,
  firstResults: undefined as number | undefined,
  queries: 0,
  pendingDeletes: 0,
  /** Total time spent in the package's history.query. */
  queryMs: 0,
};
// A handle for tests and benchmarks (and curious users in the console).
(window as unknown as Record<string, unknown>).__terrapin = { get client() { return client; }, get live() { return live; }, metrics, generateKey };

// ---------------------------------------------------------------- views

type View = 'connect' | 'newkey' | 'unlock' | 'app';
function showView(v: View) {
  $('view-loading').hidden = true;
  for (const name of ['connect', 'newkey', 'unlock', 'app'] as View[]) $(`view-${name}`).hidden = name !== v;
  $('sync-area').hidden = v !== 'app';
  $('account-area').hidden = v !== 'app';
  document.body.dataset.view = v;
}

/** Shows (or hides) the message bar; `relogin` adds a "Log in again" button. */
function alertMsg(text: string | null, relogin = false) {
  $('alert').hidden = !text;
  $('alert-text').textContent = text ?? '';
  $('alert-relogin').hidden = !text || !relogin;
}
// Kinds a fresh login (password, or the right key) fixes; the local copy is kept.
const RELOGIN_KINDS = new Set(['unauthorized', 'wrong_key', 'no_session', 'no_key']);

async function openClient(s: Settings): Promise<Client> {
  return Client.open({ server: s.server, profile: s.profile, wasm: wasmUrl, retry: { attempts: 3, baseMs: 300, maxMs: 3000 } });
}

function closeClient() {
  syncing?.abort();
  syncing = null;
  clearInterval(syncTimer);
  live?.close();
  live = null;
  liveGen++;
  showIndicator(null);
  try {
    client?.close();
  } catch {
    /* already closed */
  }
  client = null;
}

// ---------------------------------------------------------------- connect

function connectMode(): 'login' | 'register' {
  return ($('connect-form') as HTMLFormElement).querySelector<HTMLInputElement>('input[name=mode]:checked')?.value === 'register' ? 'register' : 'login';
}
function updateConnectMode() {
  const reg = connectMode() === 'register';
  $('email-row').hidden = !reg;
  $<HTMLInputElement>('f-email').required = reg;
  $('key-help-register').hidden = !reg;
  $<HTMLInputElement>('f-key').required = !reg;
  $<HTMLInputElement>('f-password').autocomplete = reg ? 'new-password' : 'current-password';
  $('connect-submit').textContent = reg ? 'Register' : 'Log in';
}

function showConnect() {
  showView('connect');
  const server = $<HTMLInputElement>('f-server');
  if (!server.value) server.value = settings?.server ?? defaultServer();
  if (settings?.username && !$<HTMLInputElement>('f-username').value) $<HTMLInputElement>('f-username').value = settings.username;
  updateConnectMode();
  $<HTMLInputElement>('f-username').focus();
}

async function onConnect(ev: SubmitEvent) {
  ev.preventDefault();
  const form = ev.target as HTMLFormElement;
  const mode = connectMode();
  const server = normServer($<HTMLInputElement>('f-server').value);
  const username = $<HTMLInputElement>('f-username').value.trim();
  const email = $<HTMLInputElement>('f-email').value.trim();
  const password = $<HTMLInputElement>('f-password').value;
  const key = $<HTMLTextAreaElement>('f-key').value.trim();
  const passphrase = $<HTMLInputElement>('f-passphrase').value;
  const missing = !server ? 'f-server' : !username ? 'f-username' : mode === 'register' && !email ? 'f-email' : !password ? 'f-password' : mode === 'login' && !key ? 'f-key' : null;
  if (missing) {
    alertMsg(`Please fill in “${document.querySelector(`label[for=${missing}]`)?.textContent}”.`);
    $(missing).focus();
    return;
  }
  try {
    new URL(server);
  } catch {
    alertMsg('The server URL is not a valid URL (e.g. https://sync.example.com).');
    $('f-server').focus();
    return;
  }
  const submit = $<HTMLButtonElement>('connect-submit');
  submit.disabled = true;
  submit.textContent = mode === 'register' ? 'Registering…' : 'Logging in…';
  alertMsg(null);
  try {
    if (!settings || settings.server !== server) {
      closeClient();
      if (settings) queueProfileDelete(settings.profile);
      settings = { server, profile: `www-${Date.now().toString(36)}`, locked: false };
    }
    client ??= await openClient(settings);
    if (mode === 'register') await client.register({ username, email, password, key: key || undefined });
    else await client.login({ username, password, key });
    await sealSecrets(passphrase);
    settings = { ...settings, username, locked: !!passphrase };
    settings.importHost ??= browserHostName(client.hostId);
    saveSettings(settings);
    form.reset();
    if (mode === 'register' && !key) {
      showView('newkey');
      $<HTMLTextAreaElement>('newkey-text').value = client.key() ?? '';
      $('newkey-copy').focus();
    } else {
      enterApp();
    }
  } catch (e) {
    alertMsg(describe(e, mode));
    const kind = errorKind(e);
    (kind === 'bad_key' ? $('f-key') : kind === 'unauthorized' ? $('f-password') : kind === 'network' || kind === 'not_found' && mode !== 'login' ? $('f-server') : $('f-username')).focus();
  } finally {
    submit.disabled = false;
    updateConnectMode();
  }
}

// Secrets are never stored in the clear: with a passphrase they are sealed in the vault,
// without one they live in memory until the page goes away.
async function sealSecrets(passphrase: string) {
  if (client && passphrase) await client.saveVault(passphrase);
}

// ---------------------------------------------------------------- unlock / logout

function showUnlock() {
  showView('unlock');
  $('unlock-who').textContent = `${settings?.username ?? ''} on ${settings?.server ?? ''}`;
  $<HTMLInputElement>('f-unlock').value = '';
  $('f-unlock').focus();
}

async function onUnlock(ev: SubmitEvent) {
  ev.preventDefault();
  if (!settings) return;
  const btn = (ev.target as HTMLFormElement).querySelector<HTMLButtonElement>('button[type=submit]')!;
  btn.disabled = true;
  btn.textContent = 'Unlocking…';
  try {
    client ??= await openClient(settings);
    await client.unlock($<HTMLInputElement>('f-unlock').value);
    alertMsg(null);
    enterApp();
  } catch (e) {
    alertMsg(describe(e, 'unlock'));
    $<HTMLInputElement>('f-unlock').select();
  } finally {
    btn.disabled = false;
    btn.textContent = 'Unlock';
  }
}

async function lock() {
  if (!settings?.locked) return;
  closeClient();
  client = await openClient(settings);
  resetAppState();
  showUnlock();
}

async function forgetEverything(ask: boolean) {
  if (ask) {
    const ok = await confirmDialog('Log out?', 'This logs out and deletes everything this browser keeps: the synced history copy, your session and key. Your history on the server and other machines is not touched.', '', 'Log out and forget');
    if (!ok) return;
  }
  try {
    await client?.logout();
  } catch {
    /* forget anyway */
  }
  // The profile's IndexedDB connection stays open until this page goes away (the package's
  // close() doesn't close it), so a delete now would block: reload and delete it first thing.
  if (settings) queueProfileDelete(settings.profile);
  closeClient();
  settings = null;
  saveSettings(null);
  sessionStorage.setItem('terrapin-www-toast', 'Logged out; local data deleted');
  location.reload();
}

const FORGET_KEY = 'terrapin-www-forget';
function queueProfileDelete(profile: string) {
  const list: string[] = JSON.parse(localStorage.getItem(FORGET_KEY) ?? '[]');
  if (!list.includes(profile)) list.push(profile);
  forgetPrefs(profile);
  localStorage.setItem(FORGET_KEY, JSON.stringify(list));
}
async function deleteQueuedProfiles() {
  const list: string[] = JSON.parse(localStorage.getItem(FORGET_KEY) ?? '[]');
  if (!list.length) return;
  for (const p of list) await deleteProfile(p).catch((e) => alertMsg(describe(e, 'other')));
  localStorage.removeItem(FORGET_KEY);
}

// ---------------------------------------------------------------- app

let appWired = false;
function enterApp() {
  if (!client || !settings) return;
  showView('app');
  $('account-name').textContent = client.username ?? settings.username ?? '';
  $('lock-btn').hidden = !settings.locked;
  $('import-host').textContent = settings.importHost ?? '';
  if (!appWired) {
    wireSearch();
    appWired = true;
  }
  applyPrefs();
  selectTab('search', false);
  invalidateResults();
  runQuery();
  if (metrics.firstResults === undefined) {
    metrics.firstResults = performance.now();
    performance.mark('terrapin:first-results');
  }
  $('q').focus();
  clearInterval(syncTimer);
  live?.close();
  live = null;
  // Live: the tab holding the socket syncs when it connects and after every push elsewhere.
  const c = client;
  const g = ++liveGen;
  if (c) void startLive(c, { synced: onLiveSynced, state: onLiveState }).then((l) => {
    if (c !== client || g !== liveGen) return l?.close();
    live = l;
    if (live) return;
    // No live mode: sync now and on a timer.
    void doSync();
    syncTimer = setInterval(() => void doSync(), SYNC_EVERY_MS);
  });
}

function resetAppState() {
  damaged = [];
  scope = null;
  invalidateResults();
  total = 0;
  selected = 0;
  statsDirty = storeDirty = true;
  $('sync-status').textContent = '';
  $('results-inner').replaceChildren();
  rowEls.clear();
}

// ---------------------------------------------------------------- sync

/** Series the last sync could not complete (holes on the server, records under another key). */
let damaged: DamagedSeries[] = [];
let progressFrame = 0;
let lastProgress: SyncProgress | null = null;
let lastLiveRefresh = 0;
function showProgress() {
  progressFrame = 0;
  const p = lastProgress;
  if (!p || !syncing) return;
  const bar = $<HTMLProgressElement>('sync-progress');
  bar.hidden = false;
  bar.max = Math.max(1, p.allTotal);
  bar.value = p.allDone;
  bar.setAttribute('aria-valuetext', `${num(p.allDone)} of ${num(p.allTotal)} records`);
  $('sync-status').textContent = `${p.direction === 'download' ? 'Downloading' : 'Uploading'} ${num(p.allDone)} / ${num(p.allTotal)} records`;
  // Show what has arrived so far, at most once a second.
  if (p.direction === 'download' && performance.now() - lastLiveRefresh > 1000) {
    lastLiveRefresh = performance.now();
    refreshAfterChange();
  }
}

async function doSync(): Promise<void> {
  if (!client) return;
  if (live) {
    // Results and failures arrive through the live events, in every tab.
    live.sync().catch(() => undefined);
    return;
  }
  if (syncing) {
    syncAgain = true;
    return;
  }
  const ctl = new AbortController();
  syncing = ctl;
  const btn = $<HTMLButtonElement>('sync-btn');
  btn.textContent = 'Cancel sync';
  btn.setAttribute('aria-label', 'Cancel sync');
  $('sync-status').textContent = 'Syncing…';
  const bar = $<HTMLProgressElement>('sync-progress');
  bar.removeAttribute('value');
  bar.hidden = false;
  lastProgress = null;
  const c = client;
  try {
    const r = await c.sync({
      signal: ctl.signal,
      onProgress: (p) => {
        lastProgress = p;
        progressFrame ||= requestAnimationFrame(showProgress);
      },
    });
    if (c !== client) return;
    showSynced(c, r);
    if (r.uploaded || r.downloaded) refreshAfterChange();
    if (r.downloaded) announceChange();
  } catch (e) {
    if (c !== client) return;
    showSyncFailed(c, e);
  } finally {
    if (syncing === ctl) syncing = null;
    btn.textContent = 'Sync';
    btn.removeAttribute('aria-label');
    bar.hidden = true;
    if (syncAgain && c === client) {
      syncAgain = false;
      void doSync();
    }
  }
}

/** The status line, alerts and damage after a sync that went through. */
function showSynced(c: Client, r: Omit<SyncReport, 'entries'>) {
  lastSync = Date.now();
  const moved = [r.uploaded ? `↑ ${num(r.uploaded)}` : '', r.downloaded ? `↓ ${num(r.downloaded)}` : ''].filter(Boolean).join(' ');
  damaged = r.damaged;
  const hurt = damaged.length ? ` · ${num(damaged.length)} damaged series (see Store)` : '';
  $('sync-status').textContent = `Synced ${new Date().toLocaleTimeString()}${moved ? ` (${moved})` : ''} · ${num(c.history.count())} entries${hurt}`;
  alertMsg(syncProblems(c.unreadableCount(), r.keyCheck));
  document.body.dataset.damaged = String(damaged.length);
  delete document.body.dataset.syncError;
  storeDirty = true;
  if (currentTab === 'store') void renderStore();
  document.body.dataset.synced = String(lastSync);
}

function showSyncFailed(c: Client, e: unknown) {
  const kind = errorKind(e);
  if (kind === 'aborted') {
    $('sync-status').textContent = 'Sync cancelled';
  } else if (kind === 'network') {
    $('sync-status').textContent = `Offline · ${num(c.history.count())} entries on this device`;
    alertMsg(describe(e, 'sync'));
  } else {
    $('sync-status').textContent = 'Sync failed';
    alertMsg(describe(e, 'sync'), RELOGIN_KINDS.has(kind ?? ''));
  }
  document.body.dataset.syncError = kind ?? 'error';
  refreshAfterChange();
}

function onLiveSynced(d: LiveSynced) {
  const c = client;
  if (!c) return;
  showSynced(c, d.report);
  if (d.report.uploaded || d.report.downloaded || d.entries.length) refreshKeepingPlace(d.entries.length);
}

let liveError: Error | null = null;
function onLiveState(s: LiveState) {
  const c = client;
  if (!c) return;
  const bar = $<HTMLProgressElement>('sync-progress');
  bar.hidden = !s.syncing;
  if (s.progress) {
    bar.max = Math.max(1, s.progress.allTotal);
    bar.value = s.progress.allDone;
    bar.setAttribute('aria-valuetext', `${num(s.progress.allDone)} of ${num(s.progress.allTotal)} records`);
    // A long download: show what has arrived so far, at most once a second (the leader's tab
    // writes it). Short ones show up at their end, keeping the user's place.
    if (s.leader && s.progress.direction === 'download' && s.progress.allTotal > 2000 && performance.now() - lastLiveRefresh > 1000) {
      lastLiveRefresh = performance.now();
      refreshAfterChange();
    }
  } else bar.removeAttribute('value');
  if (s.syncing) $('sync-status').textContent = 'Syncing…';
  if (s.error && s.error !== liveError && !s.syncing) showSyncFailed(c, s.error);
  liveError = s.error;
}

/**
 * Reloads the results after a sync added `added` entries, keeping the selected entry selected
 * and the rows on screen where they are (at the very top, new entries show up above).
 */
function refreshKeepingPlace(added: number) {
  const el = $('results');
  const top = Math.floor(el.scrollTop / ROW_H);
  const offset = el.scrollTop - top * ROW_H;
  const place = { selected, selectedId: total ? entryAt(selected)?.id : undefined, top, topId: el.scrollTop > 0 ? entryAt(top)?.id : undefined };
  refreshAfterChange();
  const p = findPlace(place, Math.min(added, 5000), (i) => (i < total ? entryAt(i)?.id : undefined));
  if (p.top !== top) el.scrollTop = p.top * ROW_H + offset;
  if (p.selected !== selected) {
    selected = p.selected;
    renderRows();
  }
}

// Other tabs of this app on the same profile: tell them when the history changed here.
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('terrapin-www') : null;
function announceChange() {
  if (settings) tabs?.postMessage({ type: 'changed', profile: settings.profile });
}
tabs?.addEventListener('message', (ev: MessageEvent) => {
  const c = client;
  if (ev.data?.type !== 'changed' || !c || ev.data.profile !== settings?.profile) return;
  if (typeof (c as Partial<Client>).refresh !== 'function') return;
  c.refresh().then(() => c === client && refreshAfterChange(), () => undefined);
});

function refreshAfterChange() {
  invalidateResults();
  if (!$('filters').hidden) fillHostList();
  statsDirty = storeDirty = true;
  runQuery(true);
  if (currentTab === 'stats') void renderStats();
  if (currentTab === 'store') void renderStore();
}

// ---------------------------------------------------------------- search

let query: HistoryQuery = {};
let total = 0;
let gen = 0;
let selected = 0;
const rowEls = new Map<number, HTMLElement>();
let virt: Virtualizer<HTMLElement, HTMLElement>;

/**
 * What the list shows besides the search: every run of one command (opened from a unique
 * row; the filters still apply), or one session's commands in order, oldest first (as
 * atuin's session filter), the search text set aside until going back.
 */
type Scope = { kind: 'runs'; command: string } | { kind: 'session'; session: string; savedText: string; from: string };
let scope: Scope | null = null;

/** The profile's remembered search mode and unique-or-all into the controls. */
function applyPrefs() {
  if (!settings) return;
  const p = loadPrefs(settings.profile);
  $<HTMLSelectElement>('mode').value = p.mode;
  $<HTMLInputElement>('unique').checked = p.unique;
}
function rememberPrefs() {
  if (settings) savePrefs(settings.profile, { mode: $<HTMLSelectElement>('mode').value as SearchMode, unique: $<HTMLInputElement>('unique').checked });
}

function readQuery(): HistoryQuery {
  const q: HistoryQuery = { text: $<HTMLInputElement>('q').value, mode: $<HTMLSelectElement>('mode').value as SearchMode };
  if (scope?.kind === 'session') {
    q.session = scope.session;
    return q;
  }
  if (scope?.kind === 'runs') q.command = scope.command;
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

// Results per query, newest used last (LRU): typing back over a query seen since the data last
// changed (backspace, clearing the box) costs nothing. Cleared whenever the history changes.
interface Cached {
  total: number;
  pages: Map<number, HistoryEntry[]>;
}
const CACHE_MAX = 64;
const cache = new Map<string, Cached>();
let cur: Cached = { total: 0, pages: new Map() };
function invalidateResults() {
  cache.clear();
}
function cachedFor(q: HistoryQuery): Cached {
  const key = JSON.stringify({ ...q, text: q.text?.trim() ?? '' });
  let c = cache.get(key);
  if (c) cache.delete(key);
  else c = { total: -1, pages: new Map() };
  cache.set(key, c);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
  return c;
}

function fetchPage(p: number): HistoryEntry[] {
  let pg = cur.pages.get(p);
  if (!pg) {
    pg = [];
    if (client) {
      try {
        metrics.queries++;
        const t = performance.now();
        const r = client.history.query({ ...query, offset: p * PAGE, limit: PAGE });
        metrics.queryMs += performance.now() - t;
        pg = r.entries;
        cur.total = r.total;
      } catch (e) {
        alertMsg(describe(e, 'other'));
      }
    }
    cur.pages.set(p, pg);
  }
  return pg;
}
function entryAt(i: number): HistoryEntry | undefined {
  // A session reads oldest first: the query's newest-first results from the end.
  const j = scope?.kind === 'session' ? total - 1 - i : i;
  if (j < 0) return undefined;
  return fetchPage(Math.floor(j / PAGE))[j % PAGE];
}

function runQuery(keepScroll = false) {
  if (!client || !virt) return;
  query = readQuery();
  gen++;
  cur = cachedFor(query);
  fetchPage(0);
  total = Math.max(0, cur.total);
  if (!keepScroll) selected = 0;
  selected = Math.max(0, Math.min(selected, total - 1));
  virt.setOptions({ ...virt.options, count: total });
  virt._willUpdate();
  if (!keepScroll) $('results').scrollTop = 0;
  renderRows();
  const all = client.history.count();
  const filtered = query.text?.trim() || Object.keys(query).some((k) => !['text', 'mode', 'unique'].includes(k));
  const what = query.unique ? `${total === 1 ? 'command' : 'commands'}` : total === 1 ? 'entry' : 'entries';
  $('result-count').textContent = query.unique
    ? `${num(total)} distinct ${what}${filtered ? (total === 1 ? ' matches' : ' match') : ''} · ${num(all)} entries`
    : filtered ? `${num(total)} of ${num(all)} entries match` : `${num(all)} entries`;
  document.body.dataset.results = String(total);
  document.body.dataset.unique = String(!!query.unique);
  showScope();
}

/** The bar above the list naming the runs or session shown, with the way back. */
function showScope() {
  $('scope').hidden = !scope;
  document.body.dataset.scope = scope?.kind ?? '';
  if (!scope) return;
  $('scope-text').textContent = scope.kind === 'runs'
    ? `Every run of ${scope.command.replace(/\n/g, '⏎ ')}`
    : `Session ${scope.session}: ${num(total)} commands, oldest first`;
}

/** Lists every run of the unique row at `i`. */
function openRuns(i: number) {
  const e = entryAt(i);
  if (!e || e.runs === undefined) return;
  scope = { kind: 'runs', command: e.command };
  runQuery();
  $('results').focus({ preventScroll: true });
}

/** Lists the session of the row at `i`, in order, with that row selected. */
function openSession(i: number) {
  const e = entryAt(i);
  if (!e) return;
  const savedText = scope?.kind === 'session' ? scope.savedText : $<HTMLInputElement>('q').value;
  scope = { kind: 'session', session: e.session, savedText, from: e.id };
  $<HTMLInputElement>('q').value = '';
  runQuery();
  // Sessions are short: find the row it was opened from.
  for (let j = 0; j < Math.min(total, 20_000); j++) {
    if (entryAt(j)?.id === e.id) {
      select(j);
      break;
    }
  }
  $('results').focus({ preventScroll: true });
}

function closeScope() {
  if (!scope) return;
  if (scope.kind === 'session') $<HTMLInputElement>('q').value = scope.savedText;
  scope = null;
  runQuery();
}

function renderRows() {
  const inner = $('results-inner');
  inner.style.height = `${virt.getTotalSize()}px`;
  const items = virt.getVirtualItems();
  const keep = new Map<number, HTMLElement>();
  const free: HTMLElement[] = [];
  const wanted = new Set(items.map((it) => it.index));
  for (const [i, el] of rowEls) (wanted.has(i) ? keep.set(i, el) : free.push(el));
  for (const it of items) {
    let el = keep.get(it.index);
    const fresh = !el || el.dataset.gen !== String(gen);
    if (!el) {
      el = free.pop() ?? newRow();
      keep.set(it.index, el);
    }
    if (fresh) fillRow(el, it.index, total, gen, entryAt(it.index));
    el.style.transform = `translateY(${it.start}px)`;
    el.setAttribute('aria-selected', String(it.index === selected));
    if (!el.isConnected) inner.append(el);
  }
  for (const el of free) el.remove();
  rowEls.clear();
  for (const [i, el] of keep) rowEls.set(i, el);
  if (!total) {
    if (!inner.querySelector('.empty')) inner.append(h('div', { class: 'empty', text: client?.history.count() ? 'No matches.' : syncing ? 'Syncing your history…' : 'No history yet: sync, or import a shell history file.' }));
  } else inner.querySelector('.empty')?.remove();
  const active = total ? `row-${selected}` : '';
  for (const id of ['results', 'q']) {
    if (active && document.getElementById(active)) $(id).setAttribute('aria-activedescendant', active);
    else $(id).removeAttribute('aria-activedescendant');
  }
}

function select(i: number) {
  if (!total) return;
  selected = Math.max(0, Math.min(total - 1, i));
  virt.scrollToIndex(selected, { align: 'auto' });
  renderRows();
}

async function copyEntry(i: number) {
  const e = entryAt(i);
  if (!e) return;
  toast((await copyText(e.command)) ? 'Copied' : 'Could not copy');
}

async function deleteEntry(i: number) {
  const e = entryAt(i);
  if (!e || !client) return;
  if (e.runs !== undefined) {
    toast('This row stands for every run: open its runs (→) to delete one');
    return;
  }
  const ok = await confirmDialog('Delete this entry?', `Run ${when(e.timestamp)} in ${e.cwd} on ${e.host}. A delete record is synced: Atuin on your other machines drops it too.`, e.command, 'Delete');
  if (!ok) return;
  try {
    metrics.pendingDeletes++;
    await client.history.delete(e.id).finally(() => metrics.pendingDeletes--);
    toast('Deleted');
    announceChange();
    invalidateResults();
    runQuery(true);
    statsDirty = true;
    void doSync();
  } catch (err) {
    alertMsg(describe(err, 'delete'));
  }
}

function onListKey(ev: KeyboardEvent, fromInput: boolean) {
  const pageRows = Math.max(1, Math.floor($('results').clientHeight / ROW_H) - 1);
  switch (ev.key) {
    case 'ArrowDown': select(selected + 1); break;
    case 'ArrowUp': select(selected - 1); break;
    case 'PageDown': select(selected + pageRows); break;
    case 'PageUp': select(selected - pageRows); break;
    case 'Home': if (fromInput) return; select(0); break;
    case 'End': if (fromInput) return; select(total - 1); break;
    case 'Enter': void copyEntry(selected); break;
    case 'Delete': if (fromInput) return; void deleteEntry(selected); break;
    case 'ArrowRight': if (fromInput) return; openRuns(selected); break;
    case 's': case 'S': if (fromInput || ev.ctrlKey || ev.metaKey || ev.altKey) return; openSession(selected); break;
    case 'ArrowLeft': if (fromInput || !scope) return; closeScope(); break;
    case 'Escape': if (!scope) return; closeScope(); break;
    case 'c': if (fromInput || !(ev.ctrlKey || ev.metaKey)) return; void copyEntry(selected); break;
    default: return;
  }
  ev.preventDefault();
}

function wireSearch() {
  const scroller = $('results');
  const rect = scroller.getBoundingClientRect();
  virt = new Virtualizer<HTMLElement, HTMLElement>({
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
  virt._didMount();
  virt._willUpdate();

  const qInput = $<HTMLInputElement>('q');
  qInput.addEventListener('input', (ev) => {
    const t0 = ev.timeStamp;
    const q0 = metrics.queryMs;
    const start = performance.now();
    runQuery();
    const end = performance.now();
    metrics.keystrokes.push({ q: qInput.value, ms: end - t0, queryMs: metrics.queryMs - q0, handlerMs: end - start });
    requestAnimationFrame(() => metrics.frames.push(performance.now() - t0));
  });
  qInput.addEventListener('keydown', (ev) => onListKey(ev, true));
  scroller.addEventListener('keydown', (ev) => onListKey(ev, false));
  scroller.addEventListener('click', (ev) => {
    const t = ev.target as HTMLElement;
    const row = t.closest<HTMLElement>('.hrow');
    if (!row) return;
    const i = Number(row.dataset.i);
    selected = i;
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
    scope = null;
    runQuery();
  });
  $('scope-back').addEventListener('click', () => {
    closeScope();
    $('q').focus();
  });
  for (const id of ['f-host', 'f-cwd', 'f-exit', 'f-session', 'f-after', 'f-before']) $(id).addEventListener('input', () => runQuery());
  $('filters-clear').addEventListener('click', () => {
    for (const id of ['f-host', 'f-cwd', 'f-exit', 'f-session', 'f-after', 'f-before']) $<HTMLInputElement>(id).value = '';
    runQuery();
  });
  $('filters-toggle').addEventListener('click', () => {
    const f = $('filters');
    f.hidden = !f.hidden;
    $('filters-toggle').setAttribute('aria-expanded', String(!f.hidden));
    if (!f.hidden) {
      $('f-host').focus();
      fillHostList();
      if (statsDirty) void renderStats();
    }
  });
}

/** The hosts seen in the history, for the host filter (most entries first). */
function fillHostList() {
  if (!client || typeof client.history.hosts !== 'function') return;
  const count = new Map<string, number>();
  for (const x of client.history.hosts()) for (const n of x.hostnames) count.set(n.host, (count.get(n.host) ?? 0) + n.entries);
  const hosts = [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  $('hosts-list').replaceChildren(...hosts.map(([x, n]) => h('option', { value: x, label: `${x} (${num(n)} entries)` })));
}

// ---------------------------------------------------------------- tabs

type Tab = 'search' | 'stats' | 'store' | 'import';
const TABS: Tab[] = ['search', 'stats', 'store', 'import'];
let currentTab: Tab = 'search';
function selectTab(t: Tab, focus = true) {
  currentTab = t;
  for (const x of TABS) {
    const tab = $(`tab-${x}`);
    tab.setAttribute('aria-selected', String(x === t));
    tab.tabIndex = x === t ? 0 : -1;
    $(`panel-${x}`).hidden = x !== t;
  }
  if (focus) $(`tab-${t}`).focus();
  if (t === 'stats' && statsDirty) void renderStats();
  if (t === 'store' && storeDirty) void renderStore();
  if (t === 'search') {
    virt?.measure();
    renderRows();
  }
}

// ---------------------------------------------------------------- stats

let statsRun = 0;
async function renderStats() {
  if (!client) return;
  const run = ++statsRun;
  statsDirty = false;
  const c = client;
  $('stats-summary').textContent = 'Counting…';
  const b = new StatsBuilder();
  // Each chunk is one query (the package sorts every entry per query): few, large chunks.
  const chunk = 20000;
  for (let off = 0; ; off += chunk) {
    const r = c.history.query({ offset: off, limit: chunk });
    b.add(r.entries);
    if (off + chunk >= r.total) break;
    await new Promise((res) => setTimeout(res, 0));
    if (run !== statsRun || c !== client) return;
  }
  const st = b.finish();
  const put = (id: string, el: Element) => $(id).querySelector('.chart-body')!.replaceChildren(el);
  put('chart-top', topChart(st.top));
  put('chart-success', successChart(st.ok, st.failed, st.unknown));
  put('chart-days', daysChart(st.days));
  put('chart-hours', hoursChart(st.hours));
  const known = st.ok + st.failed;
  $('stats-summary').textContent = st.total
    ? `${num(st.total)} commands over ${num(st.days.length)} days · ${known ? `${((st.ok / known) * 100).toFixed(1)}% of those with a known exit succeeded` : 'exit status unknown'}`
    : 'No history yet.';
  $('cwds-list').replaceChildren(...st.cwds.map((x) => h('option', { value: x })));
  document.body.dataset.stats = String(st.total);
}

// ---------------------------------------------------------------- store

/** What the user should know after a sync that went through: unreadable and unsent records. */
function syncProblems(unreadable: number, keyCheck: string | undefined): string | null {
  const out: string[] = [];
  if (unreadable) out.push(`${num(unreadable)} records can't be read with this key.`);
  const foreign = damaged.filter((d) => d.error?.kind === 'foreign_key');
  if (foreign.length) {
    out.push(`${num(foreign.length)} series on this device hold records written under another key: they were not uploaded, so your other machines can read everything on the server. Log in with the key they were written under to upload them; the rest syncs as usual.`);
  }
  if (keyCheck === 'nothing_readable') out.push("The key could not be checked: none of the server's records could be read, so nothing was uploaded.");
  return out.length ? out.join(' ') : null;
}

const ranges = (rs: IdxRange[]) => rs.map((r) => (r.first === r.last ? num(r.first) : `${num(r.first)}–${num(r.last)}`)).join(', ');

/** The damaged series: the holes this device keeps, and what the last sync reported. */
async function renderDamage(c: Client) {
  const byKey = new Map<string, { host: string; tag: string; missing: IdxRange[]; problem: string }>();
  const kept = await c.missing();
  for (const s of kept) byKey.set(`${s.host}/${s.tag}`, { host: s.host, tag: s.tag, missing: s.missing, problem: '' });
  for (const d of damaged) {
    const k = `${d.host}/${d.tag}`;
    const row = byKey.get(k) ?? { host: d.host, tag: d.tag, missing: [], problem: '' };
    // The report also names holes above the last record held (at the end of a series).
    const seen = new Set(row.missing.map((r) => `${r.first}-${r.last}`));
    row.missing = [...row.missing, ...d.missing.filter((r) => !seen.has(`${r.first}-${r.last}`))].sort((a, b) => a.first - b.first);
    if (d.error) {
      row.problem = d.error.kind === 'foreign_key'
        ? `Records from idx ${num(d.error.idx ?? 0)} were written under another key (${d.error.recordKid}) and were not uploaded. Log in with that key to upload them.`
        : d.error.message;
    }
    byKey.set(k, row);
  }
  const unreadable = c.unreadableCount();
  const rows = [...byKey.values()].sort((a, b) => (a.host + a.tag < b.host + b.tag ? -1 : 1)).map((d) => h('tr', {},
    h('td', { class: 'mono', title: d.host }, d.host === c.hostId ? `${d.host} (this browser)` : d.host),
    h('td', { text: d.tag }),
    h('td', { class: 'mono', text: d.missing.length ? ranges(d.missing) : '—' }),
    h('td', { text: d.problem || 'The server lacks these records; the rest of the series synced. They are asked for again on every sync.' })));
  $('damage').hidden = !rows.length && !unreadable;
  $('damage-note').textContent = [
    rows.length ? 'These series did not sync completely. Everything else synced as usual.' : '',
    unreadable ? `${num(unreadable)} records can't be read with this key.` : '',
  ].filter(Boolean).join(' ');
  $('damage-table').querySelector('tbody')!.replaceChildren(...rows);
}

async function renderStore() {
  if (!client) return;
  storeDirty = false;
  const c = client;
  const local = await c.status();
  let remote: Status | undefined;
  try {
    remote = await c.remoteStatus();
    $('status-note').textContent = 'Last record index of every series, here and on the server.';
  } catch (e) {
    $('status-note').textContent = `Remote status unavailable: ${describe(e, 'sync')}`;
  }
  const hosts = new Set([...Object.keys(local.hosts), ...Object.keys(remote?.hosts ?? {})]);
  // How many records each damaged series lacks below its last idx.
  const holes = new Map<string, number>();
  for (const s of await c.missing()) holes.set(`${s.host}/${s.tag}`, s.missing.reduce((n, r) => n + r.last - r.first + 1, 0));
  const rows: HTMLElement[] = [];
  const sorted = [...hosts].sort((a, b) => (a === c.hostId ? -1 : b === c.hostId ? 1 : a < b ? -1 : 1));
  // Host ids are UUIDs: name them by the hostnames in their history.
  const names = new Map<string, string>();
  for (const x of c.history.hosts()) names.set(x.hostId, x.hostnames.map((n) => n.hostname).join(', '));
  for (const host of sorted) {
    const tags = new Set([...Object.keys(local.hosts[host] ?? {}), ...Object.keys(remote?.hosts[host] ?? {})]);
    for (const tag of [...tags].sort()) {
      const l = local.hosts[host]?.[tag];
      const r = remote?.hosts[host]?.[tag];
      let state = !remote ? '' : l === r ? 'in sync' : l === undefined || (r !== undefined && r > l) ? `${num((r ?? -1) - (l ?? -1))} to download` : `${num(l - (r ?? -1))} to upload`;
      const gone = holes.get(`${host}/${tag}`);
      if (gone) state = `${state ? `${state}, ` : ''}${num(gone)} missing on the server`;
      rows.push(h('tr', {},
        h('td', { class: 'mono', title: host }, host === c.hostId ? `${host} (this browser)` : host),
        h('td', { class: 'hostname', text: names.get(host) || '—' }),
        h('td', { text: tag }),
        h('td', { class: 'num', text: l === undefined ? '—' : num(l) }),
        h('td', { class: 'num', text: r === undefined ? '—' : num(r) }),
        h('td', { text: state })));
    }
  }
  if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: '6', class: 'muted', text: 'No records yet.' })));
  $('status-table').querySelector('tbody')!.replaceChildren(...rows);
  await renderDamage(c);
  renderKv();
}

function renderKv() {
  if (!client) return;
  const sel = $<HTMLSelectElement>('kv-ns');
  const all = client.kv.list();
  const namespaces = [...new Set(all.map((e) => e.namespace))].sort();
  const cur = sel.value;
  sel.replaceChildren(h('option', { value: '', text: 'All namespaces' }), ...namespaces.map((n) => h('option', { value: n, text: n })));
  sel.value = namespaces.includes(cur) ? cur : '';
  const shown = sel.value ? all.filter((e) => e.namespace === sel.value) : all;
  const rows = shown
    .sort((a, b) => (a.namespace + '\0' + a.key < b.namespace + '\0' + b.key ? -1 : 1))
    .map((e) => h('tr', {}, h('td', { text: e.namespace }), h('td', { class: 'mono', text: e.key }), h('td', { class: 'mono', text: e.value })));
  if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: '3', class: 'muted', text: 'No kv entries.' })));
  $('kv-table').querySelector('tbody')!.replaceChildren(...rows);
}

// ---------------------------------------------------------------- import

const SQLITE_MAGIC = 'SQLite format 3\0';

async function importFile(file: File) {
  if (!client || !settings) return;
  const out = $('import-result');
  selectTab('import', false);
  $('import-legacy').hidden = true;
  out.textContent = `Reading ${file.name}…`;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (new TextDecoder().decode(bytes.subarray(0, SQLITE_MAGIC.length)) === SQLITE_MAGIC) return await importLegacy(file.name, bytes);
    const entries = parseHistoryFile(bytes, file.name, file.lastModified || Date.now());
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
    announceChange();
    await doSync();
    out.textContent = `Imported ${num(added)} commands from ${file.name} as host ${hostname}.`;
  } catch (e) {
    out.textContent = describe(e, 'import');
  }
}

/** An old (Atuin <= 17) records.db: migrated with this account's key, imported, synced. */
async function importLegacy(name: string, bytes: Uint8Array) {
  const c = client!;
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
    if (added) {
      refreshAfterChange();
      announceChange();
    }
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

function wireDrop() {
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

// ---------------------------------------------------------------- dialog

// Resolved from the button that submitted the dialog's form (or Esc), synchronously: the
// dialog's `close` event is queued, and one from an earlier use can arrive after the next
// showModal(), so it must not decide anything.
let dialogDone: ((ok: boolean) => void) | null = null;
function wireDialog() {
  const dlg = $<HTMLDialogElement>('confirm-dialog');
  const finish = (ok: boolean) => {
    const done = dialogDone;
    dialogDone = null;
    done?.(ok);
  };
  dlg.querySelector('form')!.addEventListener('submit', (ev) => finish((ev as SubmitEvent).submitter?.getAttribute('value') === 'ok'));
  dlg.addEventListener('cancel', () => finish(false));
  dlg.addEventListener('close', () => {
    if (!dlg.open) finish(dlg.returnValue === 'ok');
  });
}

function confirmDialog(title: string, text: string, cmd: string, okLabel: string): Promise<boolean> {
  const dlg = $<HTMLDialogElement>('confirm-dialog');
  dialogDone?.(false);
  const back = document.activeElement as HTMLElement | null;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-cmd').textContent = cmd;
  $('confirm-cmd').hidden = !cmd;
  $('confirm-ok').textContent = okLabel;
  dlg.returnValue = '';
  if (!dlg.open) dlg.showModal();
  $('confirm-cancel').focus();
  return new Promise((res) => {
    dialogDone = (ok) => {
      back?.focus({ preventScroll: true });
      res(ok);
    };
  });
}

// ---------------------------------------------------------------- boot

function wireStatic() {
  $('connect-form').addEventListener('submit', (ev) => void onConnect(ev as SubmitEvent));
  for (const r of document.querySelectorAll('input[name=mode]')) r.addEventListener('change', updateConnectMode);
  $('unlock-form').addEventListener('submit', (ev) => void onUnlock(ev as SubmitEvent));
  // Typing searches; Enter in the search box submits nothing.
  $('search-form').addEventListener('submit', (ev) => ev.preventDefault());
  $('forget-btn').addEventListener('click', () => void forgetEverything(true));
  $('logout-btn').addEventListener('click', () => void forgetEverything(true));
  $('lock-btn').addEventListener('click', () => void lock());
  $('alert-close').addEventListener('click', () => alertMsg(null));
  $('alert-relogin').addEventListener('click', () => {
    alertMsg(null);
    syncing?.abort();
    clearInterval(syncTimer);
    // Same server: onConnect keeps this profile and its records, and replaces session and key.
    $<HTMLInputElement>('f-server').value = settings?.server ?? defaultServer();
    showConnect();
  });
  $('sync-btn').addEventListener('click', () => {
    if (syncing) syncing.abort();
    else void doSync();
  });
  $('newkey-copy').addEventListener('click', async () => toast((await copyText($<HTMLTextAreaElement>('newkey-text').value)) ? 'Key copied' : 'Could not copy'));
  $('newkey-done').addEventListener('click', () => {
    $<HTMLTextAreaElement>('newkey-text').value = '';
    enterApp();
  });
  const tablist = document.querySelector('[role=tablist]')!;
  for (const t of TABS) $(`tab-${t}`).addEventListener('click', () => selectTab(t));
  tablist.addEventListener('keydown', (ev) => {
    const k = (ev as KeyboardEvent).key;
    const i = TABS.indexOf(currentTab);
    const next = k === 'ArrowRight' ? (i + 1) % TABS.length : k === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length : k === 'Home' ? 0 : k === 'End' ? TABS.length - 1 : -1;
    if (next >= 0) {
      ev.preventDefault();
      selectTab(TABS[next]);
    }
  });
  $('kv-ns').addEventListener('change', renderKv);
  document.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement;
    if (ev.key === '/' && document.body.dataset.view === 'app' && !/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && !$<HTMLDialogElement>('confirm-dialog').open) {
      ev.preventDefault();
      selectTab('search', false);
      $('q').focus();
    }
  });
  window.addEventListener('online', () => void doSync());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && client && Date.now() - lastSync > 60_000) void doSync();
  });
  wireDrop();
  wireDialog();
}

async function boot() {
  wireStatic();
  const note = sessionStorage.getItem('terrapin-www-toast');
  if (note) {
    sessionStorage.removeItem('terrapin-www-toast');
    toast(note);
  }
  await deleteQueuedProfiles();
  settings = loadSettings();
  if (!settings) {
    showConnect();
    return;
  }
  try {
    client = await openClient(settings);
    metrics.opened = performance.now();
    if (settings.locked && (await client.hasVault())) {
      showUnlock();
      return;
    }
    if (!settings.username) {
      showConnect();
      return;
    }
    // No passphrase: the session and key were held in memory only. The synced history is
    // still here to read (offline too); syncing asks to log in again.
    enterApp();
  } catch (e) {
    alertMsg(describe(e, 'unlock'));
    if (isTerrapinError(e) && e.kind === 'wrong_passphrase') settings.locked = true;
    showConnect();
  }
}

// Offline: a service worker keeps the app shell (production builds; secure contexts only).
async function registerServiceWorker() {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator) || !window.isSecureContext) return;
  try {
    const reg = await navigator.serviceWorker.register('./sw.js');
    await navigator.serviceWorker.ready;
    const urls = performance
      .getEntriesByType('resource')
      .map((e) => e.name)
      .filter((u) => u.startsWith(location.origin) && u.includes('/assets/'));
    (reg.active ?? navigator.serviceWorker.controller)?.postMessage({ type: 'assets', urls });
  } catch {
    /* the app works without it, online */
  }
}

void boot();
window.addEventListener('load', () => void registerServiceWorker());
