// The views of the account's other stores: Scripts, Aliases & variables, AI threads, and kv
// editing in the Store tab. Their code is loaded on first use (./scripts, ./dotfiles, ./threads,
// ./kv); this module loads them, keeps which are out of date, and draws the shown ones again when
// the records changed. The Threads tab shows only for an account with `ai-session` records.
import { $ } from './util';
import { currentClient } from './session';

export type StoreView = 'scripts' | 'dotfiles' | 'threads' | 'kv';

/** What each view module exports. */
interface ViewModule {
  /** Draws the view from the current client; it calls `wrote` after writing records. */
  render(wrote: () => void): unknown;
  /** Forgets what the view showed of the account (locked, or logged out). */
  reset(): void;
}

const load: Record<StoreView, () => Promise<ViewModule>> = {
  scripts: () => import('./scripts'),
  dotfiles: () => import('./dotfiles'),
  threads: () => import('./threads'),
  kv: () => import('./kv'),
};
const loaded = new Map<StoreView, ViewModule>();
/** Views to draw again when next shown (kv is drawn with every drawing of the Store tab). */
const stale = new Set<StoreView>(['scripts', 'dotfiles', 'threads']);
/** The view wrote records: push them. */
let wrote = () => {};

/** Where each view draws (its panel, or the Store tab for kv). */
const panelOf = (v: StoreView) => $(v === 'kv' ? 'panel-store' : `panel-${v}`);
const shown = (v: StoreView) => !panelOf(v).hidden;

/** `f` runs after a view wrote records (the app syncs them). */
export function onStoreWrite(f: () => void) {
  wrote = f;
}

async function module(v: StoreView): Promise<ViewModule | null> {
  const have = loaded.get(v);
  if (have) return have;
  const failed = panelOf(v).querySelector<HTMLElement>('.view-failed');
  try {
    const m = await load[v]();
    loaded.set(v, m);
    if (failed) failed.hidden = true;
    return m;
  } catch {
    // Offline before the view's code was ever loaded (the service worker keeps it once loaded).
    if (failed) {
      failed.hidden = false;
      failed.textContent = "This view's code could not be loaded (offline?). Try again when online.";
    }
    return null;
  }
}

/** The view `v` is shown: drawn if out of date (kv: every time the Store tab is drawn). */
export async function showStoreView(v: StoreView) {
  if (v !== 'kv' && !stale.has(v)) return;
  const m = await module(v);
  if (!m || !shown(v)) return;
  stale.delete(v);
  m.render(() => wrote());
}

/** The account's records changed (sync, another tab, an import): the shown views again. */
export function storesChanged() {
  for (const v of ['scripts', 'dotfiles', 'threads'] as StoreView[]) {
    stale.add(v);
    if (shown(v)) void showStoreView(v);
  }
  void threadsTab();
}

/** Shows the Threads tab when the account has `ai-session` records (hides it otherwise). */
async function threadsTab(): Promise<boolean> {
  const c = currentClient();
  const hosts = c ? (await c.status()).hosts : {};
  const has = Object.values(hosts).some((tags) => 'ai-session' in tags);
  $('tab-threads').hidden = !has;
  if (!has && shown('threads')) $('tab-search').click();
  return has;
}

/** Forgets what the views showed of the account. */
export function resetStores() {
  for (const m of loaded.values()) m.reset();
  stale.add('scripts').add('dotfiles').add('threads');
  $('tab-threads').hidden = true;
}

/**
 * Loads every view's code (after the app opened: the service worker then keeps it for offline),
 * and for an account with AI threads the package's threads module and its wasm too.
 */
export function preloadStoreViews(): Promise<unknown> {
  const threads = threadsTab().then((has) => (has ? currentClient()?.threads.list() : undefined));
  return Promise.all([...(Object.keys(load) as StoreView[]).map(module), threads.catch(() => {})]);
}
