// The app's tabs: Search, Stats, Scripts, Aliases & vars, Threads (shown only for an account with
// AI threads), Store and Import, by click, arrow keys, and `/` for the search.
import { $ } from './util';
import { showResults } from './results';
import { showPanel } from './panels';
import { showStoreView } from './stores';

export type Tab = 'search' | 'stats' | 'scripts' | 'dotfiles' | 'threads' | 'store' | 'import';
const TABS: Tab[] = ['search', 'stats', 'scripts', 'dotfiles', 'threads', 'store', 'import'];
let current: Tab = 'search';

export function selectTab(t: Tab, focus = true) {
  current = t;
  for (const x of TABS) {
    const tab = $(`tab-${x}`);
    tab.setAttribute('aria-selected', String(x === t));
    tab.tabIndex = x === t ? 0 : -1;
    $(`panel-${x}`).hidden = x !== t;
  }
  if (focus) $(`tab-${t}`).focus();
  if (t === 'stats' || t === 'store') showPanel(t);
  if (t === 'scripts' || t === 'dotfiles' || t === 'threads') void showStoreView(t);
  if (t === 'search') showResults();
}

export function wireTabs() {
  const tablist = document.querySelector('[role=tablist]')!;
  for (const t of TABS) $(`tab-${t}`).addEventListener('click', () => selectTab(t));
  tablist.addEventListener('keydown', (ev) => {
    const k = (ev as KeyboardEvent).key;
    // The tabs shown (Threads is hidden for an account without AI threads).
    const tabs = TABS.filter((x) => !$(`tab-${x}`).hidden);
    const i = tabs.indexOf(current);
    const next = k === 'ArrowRight' ? (i + 1) % tabs.length : k === 'ArrowLeft' ? (i + tabs.length - 1) % tabs.length : k === 'Home' ? 0 : k === 'End' ? tabs.length - 1 : -1;
    if (next >= 0) {
      ev.preventDefault();
      selectTab(tabs[next]);
    }
  });
  document.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement;
    if (ev.key === '/' && document.body.dataset.view === 'app' && !/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && !$<HTMLDialogElement>('confirm-dialog').open) {
      ev.preventDefault();
      selectTab('search', false);
      $('q').focus();
    }
  });
}
