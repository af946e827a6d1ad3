// The viewer's state, in one object every module reads and writes, and the settings kept in
// localStorage between visits.
import type { Client, DamagedSeries, HistoryEntry, HistoryQuery, Live, LiveState, SyncProgress } from 'terrapin-web';
import type { Virtualizer } from '@tanstack/virtual-core';

export interface Settings {
  server: string;
  profile: string;
  /** Secrets sealed under the user's passphrase; else they were held in memory only. */
  locked: boolean;
  username?: string;
  importHost?: string;
}

export type Tab = 'search' | 'stats' | 'store' | 'import';
export const TABS: Tab[] = ['search', 'stats', 'store', 'import'];

/**
 * What the list shows besides the search: every run of one command (opened from a unique
 * row; the filters still apply), or one session's commands in order, oldest first (as
 * atuin's session filter), the search text set aside until going back.
 */
export type Scope = { kind: 'runs'; command: string } | { kind: 'session'; session: string; savedText: string; from: string };

/** One query's results, fetched a page at a time. */
export interface Cached {
  total: number;
  pages: Map<number, HistoryEntry[]>;
}

export const app = {
  settings: null as Settings | null,
  client: null as Client | null,
  /** Live sync (the package's live mode), once started. */
  live: null as Live | null,
  /** Bumped when live sync starts or stops, so a start that is still loading can tell it's stale. */
  liveGen: 0,
  /** The results list is wired (on first entering the app, when it has a size). */
  wired: false,
  tab: 'search' as Tab,
  statsDirty: true,
  storeDirty: true,
  /** Bumped per Stats rendering, so an older one still counting stops. */
  statsRun: 0,
  sync: {
    /** The sync running (without live mode), to cancel it. */
    running: null as AbortController | null,
    /** Asked for while one ran: run once more after it. */
    again: false,
    /** When the last sync went through (ms). */
    last: 0,
    /** The timer syncing without live mode. */
    timer: undefined as ReturnType<typeof setInterval> | undefined,
    /** Series the last sync could not complete (holes on the server, records under another key). */
    damaged: [] as DamagedSeries[],
    progress: null as SyncProgress | null,
    progressFrame: 0,
    /** When results were last refreshed during a long download (ms, performance.now()). */
    lastRefresh: 0,
    /** The live error already shown. */
    liveError: null as LiveState['error'],
  },
  results: {
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
    virt: null as Virtualizer<HTMLElement, HTMLElement> | null,
  },
};

export const metrics = {
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

const SETTINGS_KEY = 'terrapin-www';

export function loadSettings(): Settings | null {
  try {
    const s = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? 'null');
    return s && typeof s.server === 'string' && typeof s.profile === 'string' ? s : null;
  } catch {
    return null;
  }
}
export function saveSettings(s: Settings | null) {
  if (s) localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
  else localStorage.removeItem(SETTINGS_KEY);
}
export const defaultServer = (): string => (import.meta.env.VITE_TERRAPIN_SERVER as string | undefined) || location.origin;

/** This browser as a host name for imported history: `chromium-1a2b3c`. */
export function browserHostName(hostId: string): string {
  const ua = navigator.userAgent;
  const b = /Edg\//.test(ua) ? 'edge' : /Firefox\//.test(ua) ? 'firefox' : /Chrom(e|ium)\//.test(ua) ? 'chromium' : /Safari\//.test(ua) ? 'safari' : 'browser';
  return `${b}-${hostId.replace(/-/g, '').slice(-6)}`;
}
