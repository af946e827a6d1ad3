// The Scripts tab: atuin's scripts (`atuin scripts`), listed and searched, created, edited in a
// monospace editor, deleted (with undo), and the `atuin scripts run NAME` line to copy. Writes
// are script records of this browser's host, pushed at once; every CLI host runs the edited
// script after its `atuin sync`. Loaded on first use by ./stores.
import type { NewScript, Script } from 'terrapin-web';
import { $, copyText, h, num, toast } from './util';
import { describe } from './errors';
import { alertMsg, confirmDialog } from './dialogs';
import { currentClient } from './session';
import { runLine } from './shell';

/** Pushes what this view wrote (the app's sync). */
let wrote = () => {};
let wired = false;
/** The scripts listed now (matching the search), in order. */
let listed: Script[] = [];
/** The script open in the editor (null: a new one), and what the form held when opened. */
let editing: { id: string | null; saved: string } | null = null;
/** The last script deleted, for Undo. */
let deleted: Script | null = null;

const form = () => $<HTMLFormElement>('script-form');
const field = (id: string) => $<HTMLInputElement>(id);
const body = () => $<HTMLTextAreaElement>('sf-body');

export function render(pushWrites: () => void) {
  wrote = pushWrites;
  wire();
  renderList();
}

export function reset() {
  listed = [];
  deleted = null;
  closeEditor(false);
  $('scripts-undo').hidden = true;
  $('scripts-list').replaceChildren();
  field('scripts-q').value = '';
}

// ---------------------------------------------------------------- list

/** The interpreter line atuin writes above the body; '' for none (atuin then runs it with bash). */
const shebangLine = (s: string) => (!s ? '' : s.startsWith('#!') ? s : `#!${s}`);

/** Every one of `words` (lower case) in the name, description, tags or body, in any case. */
function matches(s: Script, words: string[]): boolean {
  if (!words.length) return true;
  const hay = [s.name, s.description, s.tags.join(' '), s.script].join('\n').toLocaleLowerCase();
  return words.every((w) => hay.includes(w));
}

function renderList() {
  const c = currentClient();
  if (!c) return;
  const all = c.scripts.list();
  const q = field('scripts-q').value.trim().toLocaleLowerCase();
  listed = all.filter((s) => matches(s, q ? q.split(/\s+/) : []));
  const focusedId = (document.activeElement?.closest('#scripts-list li') as HTMLElement | null)?.dataset.id;
  const items = listed.map(scriptItem);
  if (!items.length) items.push(h('li', { class: 'empty' }, all.length ? 'No script matches the search.' : 'No scripts yet. Make one here with New script, or on any host with atuin scripts new.'));
  $('scripts-list').replaceChildren(...items);
  $('scripts-count').textContent = !all.length ? '' : q ? `${num(listed.length)} of ${num(all.length)} scripts` : all.length === 1 ? '1 script' : `${num(all.length)} scripts`;
  document.body.dataset.scripts = String(all.length);
  // Keep the focus on the script it was on, if it is still listed.
  if (focusedId) focusItem(listed.findIndex((s) => s.id === focusedId));
}

function scriptItem(s: Script): HTMLElement {
  const nameId = `script-name-${s.id}`;
  const name = h('button', { type: 'button', class: 'linkish script-name', id: nameId, title: 'Edit', 'data-act': 'edit' }, s.name);
  const head = h('div', { class: 'script-head' }, name);
  const line = shebangLine(s.shebang);
  head.append(h('span', { class: `shebang${line ? '' : ' muted'}`, title: line ? 'Shebang: the interpreter' : 'No shebang: run with bash', text: line || '#!/usr/bin/env bash' }));
  if (s.tags.length) head.append(h('span', { class: 'tags' }, h('span', { class: 'sr-only', text: 'Tags:' }), ...s.tags.map((t) => h('span', { class: 'tag', text: t }))));
  const peek = s.script.replace(/\s+$/, '').split('\n').slice(0, 3).join('\n');
  const run = runLine(s.name);
  return h('li', { class: 'script', 'data-id': s.id, 'aria-labelledby': nameId },
    head,
    s.description ? h('p', { class: 'script-desc', text: s.description }) : h('p', { class: 'script-desc muted', text: 'No description' }),
    h('pre', { class: 'script-peek', title: 'The start of the script' }, peek || ' '),
    h('div', { class: 'script-acts' },
      h('code', { class: 'runline', text: run }),
      h('button', { type: 'button', class: 'btn small', 'data-act': 'copy', 'aria-label': `Copy run command: ${run}`, text: 'Copy run command' }),
      h('button', { type: 'button', class: 'btn small', 'data-act': 'edit', 'aria-label': `Edit ${s.name}`, text: 'Edit' }),
      h('button', { type: 'button', class: 'btn small', 'data-act': 'delete', 'aria-label': `Delete ${s.name}`, text: 'Delete' })));
}

/** Focuses the name of the listed script `i` (clamped); false when none is listed. */
function focusItem(i: number): boolean {
  if (!listed.length || i < 0) return false;
  const li = $('scripts-list').children[Math.min(i, listed.length - 1)];
  li?.querySelector<HTMLElement>('.script-name')?.focus();
  return true;
}

const itemIndex = (el: Element | null) => listed.findIndex((s) => s.id === (el?.closest('li') as HTMLElement | null)?.dataset.id);

// ---------------------------------------------------------------- editor

function formValue(): string {
  return JSON.stringify(['sf-name', 'sf-description', 'sf-shebang', 'sf-tags', 'sf-body'].map((id) => field(id).value));
}

function openEditor(s: Script | null) {
  formError(null);
  editing = { id: s?.id ?? null, saved: '' };
  field('sf-name').value = s?.name ?? '';
  field('sf-description').value = s?.description ?? '';
  field('sf-shebang').value = s?.shebang ?? '';
  field('sf-tags').value = s?.tags.join(', ') ?? '';
  body().value = s?.script ?? '';
  editing.saved = formValue();
  $('script-form-title').textContent = s ? `Edit ${s.name}` : 'New script';
  $('sf-delete').hidden = !s;
  form().hidden = false;
  document.body.dataset.scriptEditor = s ? 'edit' : 'new';
  (s ? body() : field('sf-name')).focus();
}

/** Closes the editor; `focus`: back to the script it edited (or New script). */
function closeEditor(focus = true) {
  const id = editing?.id;
  editing = null;
  form().hidden = true;
  delete document.body.dataset.scriptEditor;
  if (!focus) return;
  if (!id || !focusItem(listed.findIndex((s) => s.id === id))) $('script-new').focus();
}

/** Esc or Cancel: closes, asking first if something was changed. */
async function cancelEditor() {
  if (editing && formValue() !== editing.saved && !(await confirmDialog('Discard your changes?', 'What you changed in this script is not saved.', '', 'Discard'))) return;
  closeEditor();
}

/** A problem with what the form holds, said in the form (`field`: marked and focused); null: none. */
function formError(text: string | null, fieldId?: string) {
  $('sf-error').hidden = !text;
  $('sf-error').textContent = text ?? '';
  for (const el of form().querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  if (!fieldId) return;
  field(fieldId).setAttribute('aria-invalid', 'true');
  field(fieldId).focus();
}

/** Tags as typed: separated by commas, each once. */
const parseTags = (s: string) => [...new Set(s.split(',').map((t) => t.trim()).filter(Boolean))];

async function onSave(ev: Event) {
  ev.preventDefault();
  const c = currentClient();
  if (!c || !editing) return;
  const name = field('sf-name').value.trim();
  const clash = name && c.scripts.list().find((s) => s.name === name && s.id !== editing?.id);
  if (!name || clash) {
    formError(!name ? 'A script needs a name.' : `A script named “${name}” already exists.`, 'sf-name');
    return;
  }
  const s: NewScript = {
    name,
    description: field('sf-description').value,
    shebang: field('sf-shebang').value.trim(),
    tags: parseTags(field('sf-tags').value),
    script: body().value,
  };
  if (editing.id) s.id = editing.id;
  const btn = $<HTMLButtonElement>('sf-save');
  btn.disabled = true;
  let saved: Script;
  try {
    saved = await c.scripts.set(s);
  } catch (e) {
    formError(`Could not save the script: ${describe(e, 'other')}`);
    return;
  } finally {
    btn.disabled = false;
  }
  if (c !== currentClient()) return;
  toast(`Saved ${saved.name}`);
  editing = { id: saved.id, saved: '' };
  renderList();
  closeEditor();
  wrote();
}

// ---------------------------------------------------------------- delete, undo, copy

async function deleteScript(s: Script) {
  const c = currentClient();
  if (!c) return;
  const at = listed.findIndex((x) => x.id === s.id);
  try {
    await c.scripts.delete(s.id);
  } catch (e) {
    alertMsg(`Could not delete ${s.name}: ${describe(e, 'delete')}`);
    return;
  }
  if (c !== currentClient()) return;
  deleted = s;
  if (editing?.id === s.id) closeEditor(false);
  renderList();
  $('scripts-undo-text').textContent = `Deleted ${s.name}.`;
  $('scripts-undo-btn').setAttribute('aria-label', `Undo deleting ${s.name}`);
  $('scripts-undo').hidden = false;
  toast(`Deleted ${s.name}`);
  // The next script takes its place; the undo button when none is left.
  if (!focusItem(at)) $('scripts-undo-btn').focus();
  wrote();
}

/** Undo: the same script set again with its id (the package creates a deleted id anew). */
async function undoDelete() {
  const c = currentClient();
  const s = deleted;
  if (!c || !s) return;
  let back: Script;
  try {
    back = await c.scripts.set({ ...s });
  } catch (e) {
    alertMsg(`Could not restore ${s.name}: ${describe(e, 'other')}`);
    return;
  }
  if (c !== currentClient()) return;
  deleted = null;
  $('scripts-undo').hidden = true;
  toast(`Restored ${back.name}`);
  renderList();
  if (!focusItem(listed.findIndex((x) => x.id === back.id))) $('scripts-q').focus();
  wrote();
}

async function copyRun(s: Script) {
  toast((await copyText(runLine(s.name))) ? `Copied: ${runLine(s.name)}` : 'Could not copy');
}

// ---------------------------------------------------------------- keys and wiring

function wire() {
  if (wired) return;
  wired = true;
  const q = field('scripts-q');
  q.addEventListener('input', renderList);
  q.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown') {
      if (focusItem(0)) ev.preventDefault();
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      if (listed.length) openEditor(listed[0]);
    } else if (ev.key === 'Escape' && q.value) {
      ev.preventDefault();
      q.value = '';
      renderList();
    }
  });
  $('script-new').addEventListener('click', () => openEditor(null));
  const list = $('scripts-list');
  list.addEventListener('click', (ev) => {
    const btn = (ev.target as HTMLElement).closest<HTMLElement>('[data-act]');
    const s = listed[itemIndex(btn)];
    if (!btn || !s) return;
    const act = btn.dataset.act;
    if (act === 'edit') openEditor(s);
    else if (act === 'copy') void copyRun(s);
    else if (act === 'delete') void deleteScript(s);
  });
  list.addEventListener('keydown', (ev) => {
    const i = itemIndex(ev.target as Element);
    if (i < 0) return;
    const k = ev.key;
    const to = k === 'ArrowDown' ? i + 1 : k === 'ArrowUp' ? i - 1 : k === 'Home' ? 0 : k === 'End' ? listed.length - 1 : null;
    if (to !== null) {
      ev.preventDefault();
      if (to < 0) q.focus();
      else focusItem(to);
    } else if (k === 'Delete') {
      ev.preventDefault();
      void deleteScript(listed[i]);
    } else if (k === 'Escape') {
      ev.preventDefault();
      q.focus();
    }
  });
  const f = form();
  f.addEventListener('submit', (ev) => void onSave(ev));
  f.addEventListener('input', () => formError(null));
  f.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && (ev.key === 'Enter' || ev.key === 's')) {
      ev.preventDefault();
      f.requestSubmit();
    } else if (ev.key === 'Escape' && !$<HTMLDialogElement>('confirm-dialog').open) {
      ev.preventDefault();
      void cancelEditor();
    }
  });
  $('sf-cancel').addEventListener('click', () => void cancelEditor());
  $('sf-delete').addEventListener('click', () => {
    const s = editing?.id ? currentClient()?.scripts.get(editing.id) : undefined;
    if (s) void deleteScript(s);
  });
  $('scripts-undo-btn').addEventListener('click', () => void undoDelete());
  $('scripts-undo-close').addEventListener('click', () => {
    deleted = null;
    $('scripts-undo').hidden = true;
    q.focus();
  });
}
