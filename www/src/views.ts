// The views: connect (log in or register), the new key, unlock, the app; the ways between them
// (lock, log out, leaving when another tab logged out) and entering the app with an open client.
// What they change of the session goes through ./session.
import { isTerrapinError } from 'terrapin-web';
import { $, copyText, toast } from './util';
import { describe, errorKind } from './errors';
import { alertMsg, confirmDialog } from './dialogs';
import { browserHostName, defaultServer, type Settings } from './settings';
import { markFirstResults, markOpened } from './metrics';
import { closeClient, currentClient, currentSettings, dropAccount, forgetProfile, markLocked, openClient, resumeSettings, useSettings } from './session';
import { enterResults, invalidateResults, resetResults, runQuery } from './results';
import { resetPanels } from './panels';
import { onLoggedOut, pauseSyncing, startSyncing, stopSyncing } from './sync';
import { selectTab } from './tabs';

type View = 'connect' | 'newkey' | 'unlock' | 'app';
function showView(v: View) {
  $('view-loading').hidden = true;
  for (const name of ['connect', 'newkey', 'unlock', 'app'] as View[]) $(`view-${name}`).hidden = name !== v;
  $('sync-area').hidden = v !== 'app';
  $('account-area').hidden = v !== 'app';
  document.body.dataset.view = v;
}

const normServer = (s: string) => s.trim().replace(/\/+$/, '');

/** Stops syncing and closes the client (and with it the profile's IndexedDB connection). */
function leaveClient() {
  stopSyncing();
  closeClient();
}

/** This tab logs out: the profile's `loggedout` it hears meanwhile is its own. */
let leaving = false;

/** A message for the page loaded next (after logging out). */
const NOTE_KEY = 'terrapin-www-toast';

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
  const settings = currentSettings();
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
    const current = currentSettings();
    if (!current || current.server !== server) {
      // Another server: a new profile; the old one's records are of no use here.
      const old = current?.profile;
      leaveClient();
      useSettings({ server, profile: `www-${Date.now().toString(36)}`, locked: false });
      if (old) void forgetProfile(old);
    }
    const client = await openClient();
    if (mode === 'register') await client.register({ username, email, password, key: key || undefined });
    else await client.login({ username, password, key });
    // Secrets are never stored in the clear: with a passphrase they are sealed in the vault,
    // without one they live in memory until the page goes away.
    if (passphrase) await client.saveVault(passphrase);
    const settings: Settings = { ...currentSettings()!, username, locked: !!passphrase };
    settings.importHost ??= browserHostName(client.hostId);
    useSettings(settings, true);
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

// ---------------------------------------------------------------- unlock, lock, log out

function showUnlock() {
  showView('unlock');
  const settings = currentSettings();
  $('unlock-who').textContent = `${settings?.username ?? ''} on ${settings?.server ?? ''}`;
  $<HTMLInputElement>('f-unlock').value = '';
  $('f-unlock').focus();
}

async function onUnlock(ev: SubmitEvent) {
  ev.preventDefault();
  if (!currentSettings()) return;
  const btn = (ev.target as HTMLFormElement).querySelector<HTMLButtonElement>('button[type=submit]')!;
  btn.disabled = true;
  btn.textContent = 'Unlocking…';
  try {
    const client = await openClient();
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
  if (!currentSettings()?.locked) return;
  leaveClient();
  await openClient();
  resetAppState();
  showUnlock();
}

/**
 * Logs out and deletes everything this browser keeps of the account, then loads the page
 * afresh, so nothing of it stays in memory either.
 */
async function forgetEverything() {
  const ok = await confirmDialog('Log out?', 'This logs out and deletes everything this browser keeps: the synced history copy, your session and key. Your history on the server and other machines is not touched.', '', 'Log out and forget');
  if (!ok) return;
  leaving = true;
  try {
    await currentClient()?.logout();
  } catch {
    /* forget anyway */
  }
  const profile = currentSettings()?.profile;
  stopSyncing();
  dropAccount();
  if (profile && !(await forgetProfile(profile))) {
    // Logged out all the same; the alert says why the local copy is still here.
    leaving = false;
    resetAppState();
    showConnect();
    return;
  }
  sessionStorage.setItem(NOTE_KEY, 'Logged out; local data deleted');
  location.reload();
}

// ---------------------------------------------------------------- app

function enterApp() {
  const client = currentClient();
  const settings = currentSettings();
  if (!client || !settings) return;
  showView('app');
  $('account-name').textContent = client.username ?? settings.username ?? '';
  $('lock-btn').hidden = !settings.locked;
  $('import-host').textContent = settings.importHost ?? '';
  enterResults();
  selectTab('search', false);
  invalidateResults();
  runQuery();
  markFirstResults();
  $('q').focus();
  startSyncing();
}

/** Forgets what the app showed of the account (locked, or logged out). */
function resetAppState() {
  resetPanels();
  resetResults();
}

export function wireViews() {
  $('connect-form').addEventListener('submit', (ev) => void onConnect(ev as SubmitEvent));
  for (const r of document.querySelectorAll('input[name=mode]')) r.addEventListener('change', updateConnectMode);
  $('unlock-form').addEventListener('submit', (ev) => void onUnlock(ev as SubmitEvent));
  $('forget-btn').addEventListener('click', () => void forgetEverything());
  $('logout-btn').addEventListener('click', () => void forgetEverything());
  $('lock-btn').addEventListener('click', () => void lock());
  onLoggedOut(() => {
    // Another tab logged out of this profile and deletes its local copy.
    if (leaving) return;
    leaving = true;
    stopSyncing();
    dropAccount();
    sessionStorage.setItem(NOTE_KEY, 'Logged out in another tab; local data deleted');
    location.reload();
  });
  $('alert-relogin').addEventListener('click', () => {
    alertMsg(null);
    pauseSyncing();
    // Same server: onConnect keeps this profile and its records, and replaces session and key.
    $<HTMLInputElement>('f-server').value = currentSettings()?.server ?? defaultServer();
    showConnect();
  });
  $('newkey-copy').addEventListener('click', async () => toast((await copyText($<HTMLTextAreaElement>('newkey-text').value)) ? 'Key copied' : 'Could not copy'));
  $('newkey-done').addEventListener('click', () => {
    $<HTMLTextAreaElement>('newkey-text').value = '';
    enterApp();
  });
}

/** At start: the saved account's profile opened, then locked, asking to log in, or the app. */
export async function resume() {
  const note = sessionStorage.getItem(NOTE_KEY);
  if (note) {
    sessionStorage.removeItem(NOTE_KEY);
    toast(note);
  }
  const settings = resumeSettings();
  if (!settings) {
    showConnect();
    return;
  }
  try {
    const client = await openClient();
    markOpened();
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
    if (isTerrapinError(e) && e.kind === 'wrong_passphrase') markLocked();
    showConnect();
  }
}
