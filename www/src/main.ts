// Terrapin history viewer: connect, sync, search, stats, scripts, aliases and vars, store,
// import. This module only boots: each part of the app is a module of its own, which keeps its
// own state.
import './style.css';
import { generateKey, initializeExtras } from 'terrapin-web';
import extrasWasmUrl from 'terrapin-web/extras-wasm?url';
import { $ } from './util';
import { metrics } from './metrics';
import { currentClient } from './session';
import { wireDialogs } from './dialogs';
import { wireViews, resume } from './views';
import { currentLive, doSync, wireSync } from './sync';
import { onStoreWrite, preloadStoreViews } from './stores';
import { wireTabs } from './tabs';
import { wireImport } from './importer';

// A handle for tests and benchmarks (and curious users in the console).
(window as unknown as Record<string, unknown>).__terrapin = { get client() { return currentClient(); }, get live() { return currentLive(); }, metrics, generateKey };

// Offline: a service worker keeps the app shell (production builds; secure contexts only).
async function registerServiceWorker() {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator) || !window.isSecureContext) return;
  try {
    const reg = await navigator.serviceWorker.register('./sw.js');
    await navigator.serviceWorker.ready;
    // The views loaded on first use, and the package's extras module (the vault's unlock, the
    // import of shell history), loaded now so that they are kept too.
    await Promise.all([preloadStoreViews(), initializeExtras(extrasWasmUrl)]);
    const urls = performance
      .getEntriesByType('resource')
      .map((e) => e.name)
      .filter((u) => u.startsWith(location.origin) && u.includes('/assets/'));
    (reg.active ?? navigator.serviceWorker.controller)?.postMessage({ type: 'assets', urls });
  } catch {
    /* the app works without it, online */
  }
}

wireViews();
wireSync();
wireTabs();
onStoreWrite(() => void doSync());
wireImport();
wireDialogs();
// Typing searches; Enter in the search box submits nothing.
$('search-form').addEventListener('submit', (ev) => ev.preventDefault());
void resume();
window.addEventListener('load', () => void registerServiceWorker());
