// Syncing: live (the package's live mode, ./live) or, without it, now and on a timer; the
// progress bar, the status line, the messages after a sync, and the other tabs told of changes.
import type { Client, LiveState, LiveSynced, SyncReport } from 'terrapin-web';
import { $, num } from './util';
import { describe, errorKind } from './errors';
import { alertMsg } from './dialogs';
import { app } from './state';
import { showIndicator, startLive } from './live';
import { refreshAfterChange, refreshKeepingPlace } from './results';
import { renderStore } from './panels';

const SYNC_EVERY_MS = 5 * 60_000;
// Kinds a fresh login (password, or the right key) fixes; the local copy is kept.
const RELOGIN_KINDS = new Set(['unauthorized', 'wrong_key', 'no_session', 'no_key']);
const s = app.sync;

/** Starts syncing for the client now open: live, or (without live mode) now and on a timer. */
export function startSyncing() {
  stopLive();
  // Live: the tab holding the socket syncs when it connects and after every push elsewhere.
  const c = app.client;
  const g = app.liveGen;
  if (c) void startLive(c, { synced: onLiveSynced, state: onLiveState }).then((l) => {
    if (c !== app.client || g !== app.liveGen) return l?.close();
    app.live = l;
    if (l) return;
    // No live mode: sync now and on a timer.
    void doSync();
    s.timer = setInterval(() => void doSync(), SYNC_EVERY_MS);
  });
}

function stopLive() {
  clearInterval(s.timer);
  app.live?.close();
  app.live = null;
  app.liveGen++;
}

/** Cancels the sync running and the timer (live mode goes on): for logging in again. */
export function pauseSyncing() {
  s.running?.abort();
  clearInterval(s.timer);
}

/** Stops every sync: the running one, the timer and live mode. */
export function stopSyncing() {
  s.running?.abort();
  s.running = null;
  stopLive();
  showIndicator(null);
}

function showProgress() {
  s.progressFrame = 0;
  const p = s.progress;
  if (!p || !s.running) return;
  const bar = $<HTMLProgressElement>('sync-progress');
  bar.hidden = false;
  bar.max = Math.max(1, p.allTotal);
  bar.value = p.allDone;
  bar.setAttribute('aria-valuetext', `${num(p.allDone)} of ${num(p.allTotal)} records`);
  $('sync-status').textContent = `${p.direction === 'download' ? 'Downloading' : 'Uploading'} ${num(p.allDone)} / ${num(p.allTotal)} records`;
  // Show what has arrived so far, at most once a second.
  if (p.direction === 'download' && performance.now() - s.lastRefresh > 1000) {
    s.lastRefresh = performance.now();
    refreshAfterChange();
  }
}

export async function doSync(): Promise<void> {
  if (!app.client) return;
  if (app.live) {
    // Results and failures arrive through the live events, in every tab.
    app.live.sync().catch(() => undefined);
    return;
  }
  if (s.running) {
    s.again = true;
    return;
  }
  const ctl = new AbortController();
  s.running = ctl;
  const btn = $<HTMLButtonElement>('sync-btn');
  btn.textContent = 'Cancel sync';
  btn.setAttribute('aria-label', 'Cancel sync');
  $('sync-status').textContent = 'Syncing…';
  const bar = $<HTMLProgressElement>('sync-progress');
  bar.removeAttribute('value');
  bar.hidden = false;
  s.progress = null;
  const c = app.client;
  try {
    const r = await c.sync({
      signal: ctl.signal,
      onProgress: (p) => {
        s.progress = p;
        s.progressFrame ||= requestAnimationFrame(showProgress);
      },
    });
    if (c !== app.client) return;
    showSynced(c, r);
    if (r.uploaded || r.downloaded) refreshAfterChange();
    if (r.downloaded) announceChange();
  } catch (e) {
    if (c !== app.client) return;
    showSyncFailed(c, e);
  } finally {
    if (s.running === ctl) s.running = null;
    btn.textContent = 'Sync';
    btn.removeAttribute('aria-label');
    bar.hidden = true;
    if (s.again && c === app.client) {
      s.again = false;
      void doSync();
    }
  }
}

/** What the user should know after a sync that went through: unreadable and unsent records. */
function syncProblems(unreadable: number, keyCheck: string | undefined): string | null {
  const out: string[] = [];
  if (unreadable) out.push(`${num(unreadable)} records can't be read with this key.`);
  const foreign = s.damaged.filter((d) => d.error?.kind === 'foreign_key');
  if (foreign.length) {
    out.push(`${num(foreign.length)} series on this device hold records written under another key: they were not uploaded, so your other machines can read everything on the server. Log in with the key they were written under to upload them; the rest syncs as usual.`);
  }
  if (keyCheck === 'nothing_readable') out.push("The key could not be checked: none of the server's records could be read, so nothing was uploaded.");
  return out.length ? out.join(' ') : null;
}

/** The status line, alerts and damage after a sync that went through. */
function showSynced(c: Client, r: Omit<SyncReport, 'entries'>) {
  s.last = Date.now();
  const moved = [r.uploaded ? `↑ ${num(r.uploaded)}` : '', r.downloaded ? `↓ ${num(r.downloaded)}` : ''].filter(Boolean).join(' ');
  s.damaged = r.damaged;
  const hurt = s.damaged.length ? ` · ${num(s.damaged.length)} damaged series (see Store)` : '';
  $('sync-status').textContent = `Synced ${new Date().toLocaleTimeString()}${moved ? ` (${moved})` : ''} · ${num(c.history.count())} entries${hurt}`;
  alertMsg(syncProblems(c.unreadableCount(), r.keyCheck));
  document.body.dataset.damaged = String(s.damaged.length);
  delete document.body.dataset.syncError;
  app.storeDirty = true;
  if (app.tab === 'store') void renderStore();
  document.body.dataset.synced = String(s.last);
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
  const c = app.client;
  if (!c) return;
  showSynced(c, d.report);
  if (d.report.uploaded || d.report.downloaded || d.entries.length) refreshKeepingPlace(d.entries.length);
}

function onLiveState(st: LiveState) {
  const c = app.client;
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
    if (st.leader && p.direction === 'download' && p.allTotal > 2000 && performance.now() - s.lastRefresh > 1000) {
      s.lastRefresh = performance.now();
      refreshAfterChange();
    }
  } else bar.removeAttribute('value');
  if (st.syncing) $('sync-status').textContent = 'Syncing…';
  if (st.error && st.error !== s.liveError && !st.syncing) showSyncFailed(c, st.error);
  s.liveError = st.error;
}

// Other tabs of this app on the same profile: told when the history changed here.
const tabs = new BroadcastChannel('terrapin-www');

export function announceChange() {
  if (app.settings) tabs.postMessage({ type: 'changed', profile: app.settings.profile });
}

/**
 * This tab deletes `profile`'s local copy. Its database can't go while another tab holds it
 * open, so the tabs on it are told to close it and leave (see `onForgotten`).
 */
export function announceForgotten(profile: string) {
  tabs.postMessage({ type: 'forgotten', profile });
}

/** Calls `leave` when another tab deletes this tab's profile. */
export function onForgotten(leave: () => void) {
  tabs.addEventListener('message', (ev: MessageEvent) => {
    if (ev.data?.type === 'forgotten' && ev.data.profile === app.settings?.profile) leave();
  });
}

/** The history changed here (a delete, an import): the other tabs are told, and it syncs. */
export async function changedHere() {
  announceChange();
  await doSync();
}

export function wireSync() {
  tabs.addEventListener('message', (ev: MessageEvent) => {
    const c = app.client;
    if (ev.data?.type !== 'changed' || !c || ev.data.profile !== app.settings?.profile) return;
    c.refresh().then(() => c === app.client && refreshAfterChange(), () => undefined);
  });
  $('sync-btn').addEventListener('click', () => {
    if (s.running) s.running.abort();
    else void doSync();
  });
  window.addEventListener('online', () => void doSync());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && app.client && Date.now() - s.last > 60_000) void doSync();
  });
}
