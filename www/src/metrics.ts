// Timing figures for the tests and benchmarks (`window.__terrapin.metrics`). Only this module
// writes them, through the functions below.

export interface Metrics {
  /** Per keystroke: event to results in the DOM, of which in history.query, and in the handler. */
  keystrokes: { q: string; ms: number; queryMs: number; handlerMs: number }[];
  frames: number[];
  /** ms since navigation start: Client.open done, first results shown. */
  opened: number | undefined;
  firstResults: number | undefined;
  queries: number;
  pendingDeletes: number;
  /** Total time spent in the package's history.query. */
  queryMs: number;
}

const m: Metrics = { keystrokes: [], frames: [], opened: undefined, firstResults: undefined, queries: 0, pendingDeletes: 0, queryMs: 0 };
export const metrics: Readonly<Metrics> = m;

/** The saved profile's client is open. */
export function markOpened() {
  m.opened = performance.now();
}

/** The first results are shown (once per page load). */
export function markFirstResults() {
  if (m.firstResults !== undefined) return;
  m.firstResults = performance.now();
  performance.mark('terrapin:first-results');
}

/** Runs `query` (a call of the package's history.query), counted and timed. */
export function timeQuery<T>(query: () => T): T {
  m.queries++;
  const t = performance.now();
  const r = query();
  m.queryMs += performance.now() - t;
  return r;
}

/** Runs `handle` for the keystroke of `ev` (the search text now `q`): timed to the DOM and to the next frame. */
export function timeKeystroke(ev: Event, q: string, handle: () => void) {
  const t0 = ev.timeStamp;
  const q0 = m.queryMs;
  const start = performance.now();
  handle();
  const end = performance.now();
  m.keystrokes.push({ q, ms: end - t0, queryMs: m.queryMs - q0, handlerMs: end - start });
  requestAnimationFrame(() => m.frames.push(performance.now() - t0));
}

/** `p`, a delete under way, counted until it settles. */
export function countDelete<T>(p: Promise<T>): Promise<T> {
  m.pendingDeletes++;
  return p.finally(() => m.pendingDeletes--);
}
