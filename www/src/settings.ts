// The account's settings, kept in localStorage between visits. The current ones are the
// session's (./session); this module only reads and writes what is stored.

export interface Settings {
  server: string;
  profile: string;
  /** Secrets sealed under the user's passphrase; else they were held in memory only. */
  locked: boolean;
  username?: string;
  importHost?: string;
}

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
