// The Threads tab: AI threads (`ai-session` records, written by atuin with `[threads] capture`
// on), read-only: the list (harness, where it ran, when, how many messages), then one thread's
// messages in order. The package reads them with its own lazily loaded module
// (`client.threads`); this view is loaded on first use by ./stores.
import type { Thread, ThreadContent, ThreadMessage, ThreadWithMessages } from 'terrapin-web';
import { $, fullTime, h, num, when } from './util';
import { describe } from './errors';
import { currentClient } from './session';

let wired = false;
/** The threads listed now, in order. */
let listed: Thread[] = [];
/** The thread open (its id), or null for the list. */
let open: string | null = null;
/** Bumped per drawing, so an older one still reading stops. */
let run = 0;

const HARNESS: Record<string, string> = {
  ClaudeCode: 'Claude Code', Codex: 'Codex', Copilot: 'Copilot', Opencode: 'opencode', Pi: 'pi', Omp: 'omp', Unknown: 'Unknown agent',
};
const harnessName = (h: string) => HARNESS[h] ?? h;
const short = (id: string | null) => (id ? id.slice(-8) : '');
/** A thread's name: its title, else its harness and short id. */
const threadName = (t: Thread) => t.title || `${harnessName(t.session.harness)} thread ${short(t.atuinId) || t.session.session}`;

export async function render() {
  wire();
  const c = currentClient();
  if (!c) return;
  const mine = ++run;
  let threads: Thread[];
  try {
    threads = await c.threads.list();
  } catch (e) {
    if (mine === run) $('threads-count').textContent = `Threads could not be read: ${describe(e, 'other')}`;
    return;
  }
  if (mine !== run) return;
  listed = threads;
  document.body.dataset.threads = String(threads.length);
  renderList();
  if (open && threads.some((t) => t.id === open)) await openThread(open, false);
  else closeThread(false);
}

export function reset() {
  run++;
  listed = [];
  open = null;
  $('threads-list').replaceChildren();
  $('thread-messages').replaceChildren();
  $('thread-view').hidden = true;
  $('threads-list-wrap').hidden = false;
  $('threads-count').textContent = '';
}

// ---------------------------------------------------------------- list

function renderList() {
  const focused = (document.activeElement?.closest('#threads-list li') as HTMLElement | null)?.dataset.id;
  const items = listed.map(threadItem);
  if (!items.length) items.push(h('li', { class: 'empty' }, 'No AI threads. Atuin records them when [threads] capture is on in its config.'));
  $('threads-list').replaceChildren(...items);
  $('threads-count').textContent = listed.length === 1 ? '1 thread' : `${num(listed.length)} threads`;
  if (focused) focusItem(listed.findIndex((t) => t.id === focused));
}

function threadItem(t: Thread): HTMLElement {
  const nameId = `thread-name-${listed.indexOf(t)}`;
  const meta: (string | Node)[] = [
    h('span', { class: 'tag', text: harnessName(t.session.harness) }),
    h('span', { text: `${num(t.messageCount)} message${t.messageCount === 1 ? '' : 's'}` }),
    h('time', { datetime: new Date(t.updatedAt).toISOString(), title: fullTime(t.updatedAt), text: when(t.updatedAt) }),
  ];
  if (t.cwd) meta.push(h('span', { class: 'mono', title: 'Directory', text: t.cwd + (t.gitBranch ? ` (${t.gitBranch})` : '') }));
  if (t.model) meta.push(h('span', { class: 'muted', title: 'Model', text: t.model }));
  if (t.parent) meta.push(h('span', { class: 'muted', text: `${(t.parentKind ?? 'child').toLowerCase()} of ${harnessName(t.parent.harness)} ${t.parent.session}` }));
  if (t.host) meta.push(h('span', { class: 'muted mono', title: `Host ${t.host}`, text: `host ${short(t.host.replaceAll('-', ''))}` }));
  return h('li', { class: 'thread', 'data-id': t.id, 'aria-labelledby': nameId },
    h('button', { type: 'button', class: 'linkish thread-name', id: nameId, 'aria-describedby': `${nameId}-meta` }, threadName(t)),
    h('div', { class: 'thread-meta', id: `${nameId}-meta` }, ...meta));
}

function focusItem(i: number): boolean {
  if (!listed.length || i < 0) return false;
  $('threads-list').children[Math.min(i, listed.length - 1)]?.querySelector<HTMLElement>('.thread-name')?.focus();
  return true;
}

const itemIndex = (el: Element | null) => listed.findIndex((t) => t.id === (el?.closest('li') as HTMLElement | null)?.dataset.id);

// ---------------------------------------------------------------- one thread

async function openThread(id: string, focus = true) {
  const c = currentClient();
  if (!c) return;
  const mine = ++run;
  const t = await c.threads.get(id);
  if (mine !== run) return;
  if (!t) return closeThread(focus);
  open = id;
  showThread(t);
  $('threads-list-wrap').hidden = true;
  $('thread-view').hidden = false;
  document.body.dataset.thread = t.id;
  if (focus) $('thread-title').focus();
}

function closeThread(focus = true) {
  const was = open;
  open = null;
  delete document.body.dataset.thread;
  $('thread-view').hidden = true;
  $('threads-list-wrap').hidden = false;
  if (focus) focusItem(Math.max(0, listed.findIndex((t) => t.id === was)));
}

function showThread(t: ThreadWithMessages) {
  $('thread-title').textContent = threadName(t);
  const where = [harnessName(t.session.harness), t.cwd, t.gitBranch && `branch ${t.gitBranch}`, t.model, t.host && `host ${short(t.host.replaceAll('-', ''))}`];
  $('thread-meta').textContent = `${where.filter(Boolean).join(' · ')} — ${fullTime(t.startedAt)} to ${fullTime(t.updatedAt)} · ${num(t.messageCount)} messages${t.atuinId ? ` · id ${short(t.atuinId)}` : ''}`;
  $('thread-messages').replaceChildren(...t.messages.filter((m) => m.content.length).map(messageItem));
}

function messageItem(m: ThreadMessage): HTMLElement {
  const who = m.role === 'Assistant' && m.model ? `Assistant (${m.model})` : m.role;
  const head = h('header', { class: 'msg-head' },
    h('strong', { text: who }),
    h('time', { datetime: new Date(m.timestamp).toISOString(), title: m.timestampText, text: fullTime(m.timestamp) }));
  if (m.usage?.output != null) head.append(h('span', { class: 'muted', text: `${num(m.usage.output)} tokens out` }));
  return h('li', { class: `msg role-${m.role.toLowerCase()}`, tabindex: '-1' }, head, ...m.content.map(block));
}

const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

function block(c: ThreadContent): HTMLElement {
  switch (c.type) {
    case 'text':
      return h('div', { class: 'msg-text', text: c.text });
    case 'summary':
      return h('div', { class: 'msg-text msg-note' }, h('span', { class: 'sr-only', text: 'Summary: ' }), c.text);
    case 'error':
      return h('div', { class: 'msg-text msg-error' }, h('strong', { text: 'Error: ' }), c.text);
    case 'reasoning':
      return details('Reasoning', c.text);
    case 'reasoningSummary':
      return h('p', { class: 'muted', text: c.tokens == null ? 'Reasoned' : `Reasoning · ${num(c.tokens)} tokens` });
    case 'toolUse':
      return details(`Tool call: ${c.name}`, json(c.input));
    case 'toolResult':
      return details(c.error ? 'Tool result (error)' : 'Tool result', c.output == null ? '(not kept)' : json(c.output));
    case 'patch':
      return details(`Changed ${c.files.map((f) => f.path + (f.movedTo ? ` → ${f.movedTo}` : '')).join(', ')}`,
        c.files.map((f) => [`${f.change} ${f.path}`, ...f.hunks.flatMap((x) => [`@@ -${x.oldStart},${x.oldLines} +${x.newStart},${x.newLines} @@`, ...x.lines])].join('\n')).join('\n\n'));
    case 'other':
      return details('Other content', json(c.value));
    default:
      return details(`Content of kind ${c.kind}`, json(c.value));
  }
}

function details(summary: string, body: string): HTMLElement {
  return h('details', { class: 'msg-block' }, h('summary', { text: summary }), h('pre', { class: 'msg-pre', text: body }));
}

// ---------------------------------------------------------------- keys

function wire() {
  if (wired) return;
  wired = true;
  const list = $('threads-list');
  list.addEventListener('click', (ev) => {
    const i = itemIndex(ev.target as Element);
    if (i >= 0 && (ev.target as Element).closest('.thread-name')) void openThread(listed[i].id);
  });
  list.addEventListener('keydown', (ev) => {
    const i = itemIndex(ev.target as Element);
    if (i < 0) return;
    const to = ev.key === 'ArrowDown' ? i + 1 : ev.key === 'ArrowUp' ? i - 1 : ev.key === 'Home' ? 0 : ev.key === 'End' ? listed.length - 1 : -2;
    if (to === -2 || to < 0 || to >= listed.length) return;
    ev.preventDefault();
    focusItem(to);
  });
  $('thread-back').addEventListener('click', () => closeThread());
  $('thread-view').addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      closeThread();
      return;
    }
    // ↑/↓ between messages, as between search results.
    const msgs = [...$('thread-messages').children] as HTMLElement[];
    const at = msgs.indexOf((ev.target as Element).closest('.msg') as HTMLElement);
    const to = ev.key === 'ArrowDown' ? at + 1 : ev.key === 'ArrowUp' ? at - 1 : -2;
    if (to < 0 || to >= msgs.length || (ev.target as Element).tagName === 'SUMMARY' && at < 0) return;
    ev.preventDefault();
    msgs[to].focus();
  });
}
