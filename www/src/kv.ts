// kv in the Store tab: the entries per namespace, and setting or deleting one (a kv record of
// this browser's host, pushed by the next sync; `atuin kv get` reads it after `atuin sync`).
// Loaded on first use by ./stores.
import type { Client } from 'terrapin-web';
import { $, h, toast } from './util';
import { describe } from './errors';
import { confirmDialog } from './dialogs';
import { currentClient } from './session';

/** atuin's namespace when `atuin kv set` is given none. */
const DEFAULT_NS = 'default';

/** Pushes what this view wrote (the app's sync). */
let wrote = () => {};
let wired = false;

const nsInput = () => $<HTMLInputElement>('kv-f-ns');
const keyInput = () => $<HTMLInputElement>('kv-f-key');
const valueInput = () => $<HTMLTextAreaElement>('kv-f-value');
const formNs = () => nsInput().value.trim() || DEFAULT_NS;

export function render(pushWrites: () => void) {
  wrote = pushWrites;
  wire();
  const client = currentClient();
  if (client) renderTable(client);
}

export function reset() {
  $('kv-table').querySelector('tbody')!.replaceChildren();
  $<HTMLFormElement>('kv-form').reset();
  updateDelete();
}

function renderTable(c: Client) {
  const sel = $<HTMLSelectElement>('kv-ns');
  const all = c.kv.list();
  const namespaces = [...new Set(all.map((e) => e.namespace))].sort();
  const cur = sel.value;
  sel.replaceChildren(h('option', { value: '', text: 'All namespaces' }), ...namespaces.map((n) => h('option', { value: n, text: n })));
  sel.value = namespaces.includes(cur) ? cur : '';
  $('kv-ns-list').replaceChildren(...[...new Set([DEFAULT_NS, ...namespaces])].map((n) => h('option', { value: n })));
  const shown = sel.value ? all.filter((e) => e.namespace === sel.value) : all;
  const rows = shown
    .sort((a, b) => (a.namespace + '\0' + a.key < b.namespace + '\0' + b.key ? -1 : 1))
    .map((e) => {
      // The key opens the entry in the form below (to change or delete it).
      const edit = h('button', { type: 'button', class: 'linkish mono', 'aria-label': `Edit ${e.key} in ${e.namespace}`, text: e.key });
      edit.addEventListener('click', () => editEntry(e.namespace, e.key, e.value));
      return h('tr', {}, h('td', { text: e.namespace }), h('td', { class: 'mono' }, edit), h('td', { class: 'mono', text: e.value }));
    });
  if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: '3', class: 'muted', text: 'No kv entries.' })));
  $('kv-table').querySelector('tbody')!.replaceChildren(...rows);
  document.body.dataset.kv = String(all.length);
  updateDelete();
}

function editEntry(namespace: string, key: string, value: string) {
  nsInput().value = namespace;
  keyInput().value = key;
  valueInput().value = value;
  updateDelete();
  valueInput().focus();
  valueInput().select();
}

/** A problem with what the form holds, said in the form (`input`: marked and focused); null: none. */
function formError(text: string | null, input?: HTMLElement) {
  $('kv-error').hidden = !text;
  $('kv-error').textContent = text ?? '';
  keyInput().removeAttribute('aria-invalid');
  if (!input) return;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

/** Delete is offered for an entry that exists. */
function updateDelete() {
  const c = currentClient();
  const key = keyInput().value;
  $<HTMLButtonElement>('kv-delete').disabled = !c || !key || c.kv.get(formNs(), key) === undefined;
}

async function onSet(ev: Event) {
  ev.preventDefault();
  const c = currentClient();
  if (!c) return;
  const ns = formNs();
  const key = keyInput().value;
  if (!key.trim()) {
    formError('A kv entry needs a key.', keyInput());
    return;
  }
  try {
    await c.kv.set(ns, key, valueInput().value);
  } catch (e) {
    formError(`Could not set ${key} in ${ns}: ${describe(e, 'other')}`);
    return;
  }
  nsInput().value = ns;
  toast(`Set ${key} in ${ns}`);
  if (c === currentClient()) renderTable(c);
  wrote();
}

async function onDelete() {
  const c = currentClient();
  if (!c) return;
  const ns = formNs();
  const key = keyInput().value;
  const value = c.kv.get(ns, key);
  if (value === undefined) return;
  const ok = await confirmDialog('Delete this kv entry?', `It is deleted everywhere after the next sync (as \`atuin kv delete\`).`, `${ns} · ${key} = ${value}`, 'Delete');
  if (!ok) return;
  try {
    await c.kv.delete(ns, key);
  } catch (e) {
    formError(`Could not delete ${key} from ${ns}: ${describe(e, 'delete')}`);
    return;
  }
  toast(`Deleted ${key} from ${ns}`);
  $<HTMLFormElement>('kv-form').reset();
  if (c === currentClient()) renderTable(c);
  keyInput().focus();
  wrote();
}

function wire() {
  if (wired) return;
  wired = true;
  const c = currentClient();
  $('kv-ns').addEventListener('change', () => {
    const cl = currentClient();
    if (cl) renderTable(cl);
  });
  const form = $<HTMLFormElement>('kv-form');
  form.addEventListener('submit', (ev) => void onSet(ev));
  form.addEventListener('input', () => {
    formError(null);
    updateDelete();
  });
  form.addEventListener('reset', () => {
    formError(null);
    setTimeout(updateDelete);
  });
  // In the value box Enter is a new line; Ctrl+Enter (⌘+Enter) sets. Esc clears the form.
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      form.requestSubmit();
    } else if (ev.key === 'Escape' && !$<HTMLDialogElement>('confirm-dialog').open) {
      form.reset();
      keyInput().focus();
    }
  });
  $('kv-delete').addEventListener('click', () => void onDelete());
  if (c) updateDelete();
}
