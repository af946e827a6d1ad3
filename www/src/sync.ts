// Syncing. Live (the package's `client.live()`): the tab holding the profile's socket syncs when
// another machine pushes and falls back to polling while it is down; the profile's tabs follow it,
// hear of each other's writes (`changed`) and of logging out (`loggedout`). When live mode can't
// load, this module syncs now and on a timer instead. Also: the progress bar, the status line and
// the messages after a sync. Its state is its own; the others call the functions exported here.
import type { Client, DamagedSeries, Live, LiveState, LiveSynced, LoggedOutReason, SyncProgress, SyncReport } from 'terrapin-web';
import { $, num } from './util';
import { timeLeft } from './progress';
import { describe, errorKind } from './errors';
import { alertMsg } from './dialogs';
import { currentClient } from './session';
import { showIndicator } from './live';
import { onDeleted, refreshAfterChange, refreshKeepingPlace, showSyncing } from './results';
import { afterSync } from './panels';

/** Without live mode only: how often to sync. */
const FALLBACK_SYNC_MS = 5 * 60_000;
// Kinds a fresh login (password, or the right key) fixes; the local copy is kept.
const RELOGIN_KINDS = new Set(['unauthorized', 'wrong_key', 'no_session', 'no_key']);

/** Live mode, once started. */
let live: Live | null = null;
/** Bumped when live mode starts or stops, so a start that is still loading can tell it's stale. */
let liveGen = 0;
/** The live error already shown. */
let liveError: LiveState['error'] = null;
/** Without live mode: the timer, and the sync running (to cancel it). */
let timer: ReturnType<typeof setInterval> | undefined;
let running: AbortController | null = null;
/** Asked for while one ran: run once more after it. */
let again = false;
/** When the last sync went through (ms). */
let last = 0;
let progress: SyncProgress | null = null;
/** When the running sync started (`performance.now()`), for its time left. */
let syncStarted = 0;
let progressFrame = 0;
/** When results were last refreshed during a long download (ms, performance.now()). */
let lastRefresh = 0;
/** What to do when the profile's session was ended in this browser (a tab logged out). */
let leave: () => void = () => {};

/** Live mode, if it runs (for the tests and benchmarks). */
export const currentLive = (): Live | null => live;

/** `f` runs when a tab of this profile logged out or deleted the profile (this one included). */
export function onLoggedOut(f: () => void) {
  leave = f;
}

/** Starts syncing for the client now open: live, or (without live mode) now and on a timer. */
export function startSyncing() {
  stopLive();
  const c = currentClient();
  const g = liveGen;
  if (c) void openLive(c).then((l) => {
    if (c !== currentClient() || g !== liveGen) return l?.close();
    live = l;
    if (l) return;
    // No live mode: sync now and on a timer.
    void doSync();
    timer = setInterval(() => void doSync(), FALLBACK_SYNC_MS);
  });
}

/** Live mode on `c` (null if its module fails to load). */
async function openLive(c: Client): Promise<Live | null> {
  let l: Live;
  try {
    l = await c.live();
  } catch {
    return null;
  }
  l.addEventListener('synced', (ev) => onLiveSynced(ev.detail));
  l.addEventListener('state', (ev) => {
    showIndicator(ev.detail, l.pollMs);
    onLiveState(ev.detail);
  });
  // Another tab of the profile wrote records (a delete, an import): `c` has loaded them.
  l.addEventListener('changed', () => {
    if (c === currentClient()) refreshAfterChange();
  });
  l.addEventListener('loggedout', (ev) => onLiveLoggedOut(c, ev.detail.reason));
  showIndicator(l.state, l.pollMs);
  return l;
}

function stopLive() {
  clearInterval(timer);
  live?.close();
  live = null;
  liveGen++;
}

/** Cancels the sync running and the timer (live mode goes on): for logging in again. */
export function pauseSyncing() {
  running?.abort();
  clearInterval(timer);
}

/** Stops every sync (the running one, the timer and live mode) and clears the status line. */
export function stopSyncing() {
  running?.abort();
  setRunning(null);
  stopLive();
  showIndicator(null, 0);
  $('sync-status').textContent = '';
}

function setRunning(ctl: AbortController | null) {
  running = ctl;
  showSyncing(!!ctl);
}

function showProgress() {
  progressFrame = 0;
  const p = progress;
  if (!p || !running) return;
  const bar = $<HTMLProgressElement>('sync-progress');
  bar.hidden = false;
  bar.max = Math.max(1, p.allTotal);
  bar.value = p.allDone;
  bar.setAttribute('aria-valuetext', `${num(p.allDone)} of ${num(p.allTotal)} records`);
  const left = timeLeft(p.allDone, p.allTotal, performance.now() - syncStarted);
  $('sync-status').textContent = `${p.direction === 'download' ? 'Downloading' : 'Uploading'} ${num(p.allDone)} / ${num(p.allTotal)} records${left ? `, ${left}` : ''}`;
  // Show what has arrived so far, at most once a second.
  if (p.direction === 'download' && performance.now() - lastRefresh > 1000) {
    lastRefresh = performance.now();
    refreshAfterChange();
  }
}

export async function doSync(): Promise<void> {
  const c = currentClient();
  if (!c) return;
  if (live) {
    // Results and failures arrive through the live events, in every tab.
    live.sync().catch(() => undefined);
    return;
  }
  if (running) {
    again = true;
    return;
  }
  const ctl = new AbortController();
  setRunning(ctl);
  const btn = $<HTMLButtonElement>('sync-btn');
  btn.textContent = 'Cancel sync';
  btn.setAttribute('aria-label', 'Cancel sync');
  $('sync-status').textContent = 'Syncing…';
  const bar = $<HTMLProgressElement>('sync-progress');
  bar.removeAttribute('value');
  bar.hidden = false;
  progress = null;
  syncStarted = performance.now();
  try {
    const r = await c.sync({
      signal: ctl.signal,
      onProgress: (p) => {
        progress = p;
        progressFrame ||= requestAnimationFrame(showProgress);
      },
    });
    if (c !== currentClient()) return;
    showSynced(c, r);
    if (r.uploaded || r.downloaded) refreshAfterChange();
  } catch (e) {
    if (c !== currentClient()) return;
    showSyncFailed(c, e);
  } finally {
    if (running === ctl) setRunning(null);
    btn.textContent = 'Sync';
    btn.removeAttribute('aria-label');
    bar.hidden = true;
    if (again && c === currentClient()) {
      again = false;
      void doSync();
    }
  }
}

/** What the user should know after a sync that went through: unreadable and unsent records. */
function syncProblems(unreadable: number, keyCheck: string | undefined, damaged: DamagedSeries[]): string | null {
  const out: string[] = [];
  if (unreadable) out.push(`${num(unreadable)} records can't be read with this key.`);
  const foreign = damaged.filter((d) => d.error?.kind === 'foreign_key');
  if (foreign.length) {
    out.push(`${num(foreign.length)} series on this device hold records written under another key: they were not uploaded, so your other machines can read everything on the server. Log in with the key they were written under to upload them; the rest syncs as usual.`);
  }
  if (keyCheck === 'nothing_readable') out.push("The key could not be checked: none of the server's records could be read, so nothing was uploaded.");
  return out.length ? out.join(' ') : null;
}

/** The status line, alerts and damage after a sync that went through. */
function showSynced(c: Client, r: Omit<SyncReport, 'entries'>) {
  last = Date.now();
  const moved = [r.uploaded ? `↑ ${num(r.uploaded)}` : '', r.downloaded ? `↓ ${num(r.downloaded)}` : ''].filter(Boolean).join(' ');
  const hurt = r.damaged.length ? ` · ${num(r.damaged.length)} damaged series (see Store)` : '';
  $('sync-status').textContent = `Synced ${new Date().toLocaleTimeString()}${moved ? ` (${moved})` : ''} · ${num(c.history.count())} entries${hurt}`;
  alertMsg(syncProblems(c.unreadableCount(), r.keyCheck, r.damaged));
  document.body.dataset.damaged = String(r.damaged.length);
  delete document.body.dataset.syncError;
  afterSync(r.damaged);
  document.body.dataset.synced = String(last);
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
  const c = currentClient();
  if (!c) return;
  showSynced(c, d.report);
  if (d.report.uploaded || d.report.downloaded || d.entries.length) refreshKeepingPlace(d.entries.length);
}

function onLiveState(st: LiveState) {
  const c = currentClient();
  if (!c) return;
  const bar = $<HTMLProgressElement>('sync-progress');
  bar.hidden = !st.syncing;
  const p = st.progress;
  if (p) {
    bar.max = Math.max(1, p.allTotal);
    bar.value = p.allDone;
    bar.setAttribute('aria-valuetext', `${num(p.allDone)} of ${num(p.allTotal)} records`);
    // A long download: show what has arrived so far, at most once a second (the leader's tab
    // writes it). Short ones show up at their end, keeping the user's place.
    if (st.leader && p.direction === 'download' && p.allTotal > 2000 && performance.now() - lastRefresh > 1000) {
      lastRefresh = performance.now();
      refreshAfterChange();
    }
  } else bar.removeAttribute('value');
  if (st.syncing) $('sync-status').textContent = 'Syncing…';
  if (st.error && st.error !== liveError && !st.syncing) showSyncFailed(c, st.error);
  liveError = st.error;
}

function onLiveLoggedOut(c: Client, reason: LoggedOutReason) {
  // The server ended the session (another machine changed the password, the account is gone):
  // the leader's sync reports it (state `error`), and the local copy stays for logging in again.
  if (c === currentClient() && (reason === 'logout' || reason === 'profile-deleted')) leave();
}

export function wireSync() {
  onDeleted(() => void doSync());
  $('sync-btn').addEventListener('click', () => {
    if (running) running.abort();
    else void doSync();
  });
  window.addEventListener('online', () => void doSync());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && currentClient() && Date.now() - last > 60_000) void doSync();
  });
}
