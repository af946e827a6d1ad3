// Live mode's indicator (where the package's live sync stands) and keeping the user's place in
// the results when entries arrive. ./sync runs live mode.
import type { LiveState } from 'terrapin-web';
import { $, num } from './util';
import { describe } from './errors';
import { timeLeft } from './progress';

/** When the live sync now running started (`performance.now()`), for its time left. */
let syncingSince = 0;

/** The indicator: live, syncing (with counts), polling (every `pollMs`), offline, or an error. */
export function showIndicator(s: LiveState | null, pollMs: number) {
  if (!s?.syncing) syncingSince = 0;
  else if (!syncingSince) syncingSince = performance.now();
  const el = $('live-indicator');
  el.hidden = !s || s.connection === 'closed';
  if (!s) return;
  let text: string;
  let kind: string = s.connection;
  if (s.syncing) {
    kind = 'syncing';
    const p = s.progress;
    const left = p ? timeLeft(p.allDone, p.allTotal, performance.now() - syncingSince) : '';
    text = p && p.allTotal ? `Syncing ${p.direction === 'download' ? '↓' : '↑'} ${num(p.allDone)} / ${num(p.allTotal)}${left ? `, ${left}` : ''}` : 'Syncing';
  } else {
    text = { connecting: 'Connecting', live: 'Live', polling: 'Polling', offline: 'Offline', error: 'Sync error', closed: '' }[s.connection];
  }
  el.textContent = text;
  el.dataset.state = kind;
  el.title = s.error && !s.syncing ? describe(s.error, 'sync') : s.connection === 'live' ? 'Connected: changes from your other machines show up at once' : s.connection === 'polling' ? `No live connection: syncing every ${Math.round(pollMs / 1000)} s` : text;
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
