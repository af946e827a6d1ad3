// Terrapin history viewer: connect, sync, search, stats, store, import. This module only boots:
// the state lives in ./state, each part of the app in its own module.
import './style.css';
import { generateKey } from 'terrapin-web';
import { $ } from './util';
import { app, metrics } from './state';
import { wireDialogs } from './dialogs';
import { wireSession, resume } from './session';
import { wireSync } from './sync';
import { wirePanels } from './panels';
import { wireTabs } from './tabs';
import { wireImport } from './importer';

// A handle for tests and benchmarks (and curious users in the console).
(window as unknown as Record<string, unknown>).__terrapin = { get client() { return app.client; }, get live() { return app.live; }, metrics, generateKey };

// Offline: a service worker keeps the app shell (production builds; secure contexts only).
async function registerServiceWorker() {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator) || !window.isSecureContext) return;
  try {
    const reg = await navigator.serviceWorker.register('./sw.js');
    await navigator.serviceWorker.ready;
    const urls = performance
      .getEntriesByType('resource')
      .map((e) => e.name)
      .filter((u) => u.startsWith(location.origin) && u.includes('/assets/'));
    (reg.active ?? navigator.serviceWorker.controller)?.postMessage({ type: 'assets', urls });
  } catch {
    /* the app works without it, online */
  }
}

wireSession();
wireSync();
wireTabs();
wirePanels();
wireImport();
wireDialogs();
// Typing searches; Enter in the search box submits nothing.
$('search-form').addEventListener('submit', (ev) => ev.preventDefault());
void resume();
window.addEventListener('load', () => void registerServiceWorker());
