// The session: the account's settings and the client open on its profile (one IndexedDB
// database). Only this module changes them; the others read them through currentSettings()
// and currentClient(). The views that lead through logging in, unlocking and logging out are
// ./views.
import { Client, deleteProfile } from 'terrapin-web';
import wasmUrl from 'terrapin-web/wasm?url';
import { describe } from './errors';
import { alertMsg } from './dialogs';
import { forgetPrefs } from './prefs';
import { loadSettings, saveSettings, type Settings } from './settings';

let settings: Settings | null = null;
let client: Client | null = null;

export const currentSettings = (): Settings | null => settings;
export const currentClient = (): Client | null => client;

/** The account saved by the last visit becomes the current one (null: none). */
export function resumeSettings(): Settings | null {
  return (settings = loadSettings());
}

/** Makes `s` the current settings; `save`: kept for the next visit too. */
export function useSettings(s: Settings, save = false) {
  settings = s;
  if (save) saveSettings(s);
}

/** Marks the current account as locked (its secrets sealed), in memory. */
export function markLocked() {
  if (settings) settings = { ...settings, locked: true };
}

/** The client on the current profile, opened unless it is open. */
export async function openClient(): Promise<Client> {
  if (!settings) throw new Error('no profile to open');
  const { server, profile } = settings;
  return (client ??= await Client.open({ server, profile, wasm: wasmUrl, retry: { attempts: 3, baseMs: 300, maxMs: 3000 } }));
}

/** Closes the client (and with it the profile's IndexedDB connection). Stop syncing first. */
export function closeClient() {
  try {
    client?.close();
  } catch {
    /* already closed */
  }
  client = null;
}

/**
 * No account any more (logged out, here or in another tab): the client closed, the settings
 * forgotten, and the saved ones too if they name this profile.
 */
export function dropAccount() {
  closeClient();
  const profile = settings?.profile;
  settings = null;
  if (loadSettings()?.profile === profile) saveSettings(null);
}

/** Deletes a profile this browser no longer uses: its IndexedDB database and search prefs. */
export async function forgetProfile(profile: string): Promise<boolean> {
  forgetPrefs(profile);
  try {
    await deleteProfile(profile);
    return true;
  } catch (e) {
    alertMsg(describe(e, 'other'));
    return false;
  }
}
