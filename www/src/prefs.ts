// Search preferences remembered per profile: the search mode and unique-or-all.
import type { SearchMode } from 'terrapin-web';

export interface SearchPrefs {
  mode: SearchMode;
  unique: boolean;
}

/** As atuin's interactive search: fuzzy, each distinct command once. */
export const DEFAULT_PREFS: SearchPrefs = { mode: 'fuzzy', unique: true };
const MODES: SearchMode[] = ['fuzzy', 'prefix', 'full-text'];
const key = (profile: string) => `terrapin-www-search:${profile}`;

export function loadPrefs(profile: string): SearchPrefs {
  try {
    const p = JSON.parse(localStorage.getItem(key(profile)) ?? 'null');
    return {
      mode: MODES.includes(p?.mode) ? p.mode : DEFAULT_PREFS.mode,
      unique: typeof p?.unique === 'boolean' ? p.unique : DEFAULT_PREFS.unique,
    };
  } catch {
    return { ...DEFAULT_PREFS };
  }
}

export function savePrefs(profile: string, p: SearchPrefs) {
  localStorage.setItem(key(profile), JSON.stringify(p));
}

export function forgetPrefs(profile: string) {
  localStorage.removeItem(key(profile));
}
