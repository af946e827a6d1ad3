// One row of the results list: a run, or (unique) a distinct command with its number of runs,
// last run, last exit and directory. Matched characters are marked (./highlight).
import type { HistoryEntry } from 'terrapin-web';
import { duration, fullTime, h, num, when } from './util';
import { fillHighlighted } from './highlight';

/** Atuin records -1 when the exit status is unknown (imported history has none). */
export const exitKnown = (exit: number) => exit >= 0;
/** The directory Atuin's import writes when it has none. */
const cwdKnown = (cwd: string) => !!cwd && cwd !== 'unknown';

export function newRow(): HTMLElement {
  return h('div', { class: 'hrow', role: 'option', 'aria-selected': 'false' },
    h('div', { class: 'cmd' }),
    h('div', { class: 'meta' }),
    // Mouse shortcuts (not focusable: no controls inside an option); keyboard and screen reader
    // users have the keys of the list (see #keys-help) on the selected row.
    h('div', { class: 'acts', 'aria-hidden': 'true' },
      h('span', { class: 'btn small', 'data-act': 'copy', text: 'Copy', title: 'Copy the command (Enter)' }),
      h('span', { class: 'btn small', 'data-act': 'runs', text: 'Runs', title: 'List every run of this command (→)' }),
      h('span', { class: 'btn small', 'data-act': 'session', text: 'Session', title: 'Show this session (S)' }),
      h('span', { class: 'btn small', 'data-act': 'delete', text: 'Delete', title: 'Delete this entry (Delete)' })));
}

/** Fills a row for entry `e` at `i` of `total` (unique rows: `e.runs` set). */
export function fillRow(el: HTMLElement, i: number, total: number, gen: number, e: HistoryEntry | undefined) {
  el.dataset.i = String(i);
  el.dataset.gen = String(gen);
  el.id = `row-${i}`;
  el.setAttribute('aria-posinset', String(i + 1));
  el.setAttribute('aria-setsize', String(total));
  const [cmd, meta, acts] = el.children as unknown as HTMLElement[];
  if (!e) {
    cmd.textContent = '';
    meta.replaceChildren();
    return;
  }
  el.dataset.id = e.id;
  const unique = e.runs !== undefined;
  el.classList.toggle('unique', unique);
  if (unique) el.dataset.runs = String(e.runs);
  else delete el.dataset.runs;
  fillHighlighted(cmd, e.command, e.matches);
  cmd.title = e.command;
  const parts: HTMLElement[] = [];
  if (unique) parts.push(h('span', { class: 'runs', text: e.runs === 1 ? '1 run' : `${num(e.runs!)} runs`, title: 'times run (→ lists them)' }));
  parts.push(h('span', { text: unique ? `last ${when(e.timestamp)}` : when(e.timestamp), title: fullTime(e.timestamp) }));
  const d = duration(e.duration);
  if (d) parts.push(h('span', { text: d, title: unique ? 'duration of the last run' : 'duration' }));
  if (exitKnown(e.exit)) parts.push(h('span', { class: e.exit === 0 ? 'exit-ok' : 'exit-bad', text: `exit ${e.exit}`, title: unique ? 'exit status of the last run' : 'exit status' }));
  if (cwdKnown(e.cwd)) parts.push(h('span', { text: e.cwd, title: unique ? 'directory of the last run' : 'directory' }));
  parts.push(h('span', { text: e.host, title: `host ${e.hostname}` }));
  meta.replaceChildren(...parts);
  // Runs: unique rows; Delete: one run (a unique row stands for several).
  (acts.children[1] as HTMLElement).hidden = !unique;
  (acts.children[3] as HTMLElement).hidden = unique;
}
