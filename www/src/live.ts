// Live sync in the viewer: the package's live mode (one socket per profile across tabs, synced
// as soon as another host pushes) and the indicator that shows where it stands.
import type { Client, Live, LiveState, LiveSynced } from 'terrapin-web';
import { $, num } from './util';
import { describe } from './errors';

export interface LiveHooks {
  synced(detail: LiveSynced): void;
  state(state: LiveState): void;
}

/** Starts live sync on `c` (null if its module fails to load: then the app syncs on a timer). */
export async function startLive(c: Client, hooks: LiveHooks): Promise<Live | null> {
  let live: Live;
  try {
    live = await c.live();
  } catch {
    return null;
  }
  live.addEventListener('synced', (ev) => hooks.synced(ev.detail));
  live.addEventListener('state', (ev) => {
    showIndicator(ev.detail);
    hooks.state(ev.detail);
  });
  showIndicator(live.state);
  return live;
}

/** The indicator: live, syncing (with counts), polling, offline, or an error. */
export function showIndicator(s: LiveState | null) {
  const el = $('live-indicator');
  el.hidden = !s || s.connection === 'closed';
  if (!s) return;
  let text: string;
  let kind: string = s.connection;
  if (s.syncing) {
    kind = 'syncing';
    const p = s.progress;
    text = p && p.allTotal ? `Syncing ${p.direction === 'download' ? '↓' : '↑'} ${num(p.allDone)} / ${num(p.allTotal)}` : 'Syncing';
  } else {
    text = { connecting: 'Connecting', live: 'Live', polling: 'Polling', offline: 'Offline', error: 'Sync error', closed: '' }[s.connection];
  }
  el.textContent = text;
  el.dataset.state = kind;
  el.title = s.error && !s.syncing ? describe(s.error, 'sync') : s.connection === 'live' ? 'Connected: changes from your other machines show up at once' : s.connection === 'polling' ? 'No live connection: syncing every 30 s' : text;
  document.body.dataset.live = kind;
}

/** Where the user is in the results, by entry id, so new entries above don't move it. */
export interface Place {
  selectedId?: string;
  selected: number;
  topId?: string;
  top: number;
}

/**
 * The place after the results changed: each anchor is looked for from its old index down, as far
 * as `shift` rows (the entries added); not found (deleted, filtered out), the index stays.
 */
export function findPlace(p: Place, shift: number, idAt: (i: number) => string | undefined): { selected: number; top: number } {
  const find = (id: string | undefined, from: number) => {
    if (id === undefined) return from;
    for (let i = from; i <= from + shift; i++) if (idAt(i) === id) return i;
    return from;
  };
  return { selected: find(p.selectedId, p.selected), top: find(p.topId, p.top) };
}
