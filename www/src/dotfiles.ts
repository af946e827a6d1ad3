// The Aliases & variables tab: the legacy `config-shell-alias` and `dotfiles-var` stores, read-only,
// as the lines a bash or zsh got from atuin's dotfiles (quoted the same way). Atuin 18.24 only
// lists them (`atuin dotfiles alias list`, `var list`). Loaded on first use by ./stores.
import type { DotfilesVar, ShellAlias } from 'terrapin-web';
import { $, copyText, num, toast } from './util';
import { currentClient } from './session';

let wired = false;

/** A value without the one pair of quotes around it (`'…'`, `"…"` or a backtick pair), as atuin's unquote. */
function unquote(s: string): string {
  const cs = [...s];
  if (cs.length < 2 || !`"'\``.includes(cs[0]) || cs[cs.length - 1] !== cs[0]) return s;
  return cs.slice(1, -1).join('');
}

/** `alias NAME='value'`: atuin drops quotes around the value and puts its own (nothing escaped). */
export const aliasLine = (a: ShellAlias) => `alias ${a.name}='${unquote(a.value)}'`;

/** Letters, digits (any script), `_ - / .`: left bare; anything else double-quoted with `\ " $ \`` escaped. */
const BARE = /^[\p{Alphabetic}\p{Nd}\p{Nl}\p{No}_\-/.]*$/u;
function posixValue(v: string): string {
  return BARE.test(v) ? v : `"${v.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** `export NAME=value`, or `NAME=value` for a shell variable. */
export const varLine = (v: DotfilesVar) => `${v.export ? 'export ' : ''}${v.name}=${posixValue(v.value)}`;

function fill(which: 'aliases' | 'vars', lines: string[]) {
  const count = $(`${which}-count`);
  count.textContent = `(${num(lines.length)})`;
  $(`${which}-sh`).textContent = lines.join('\n');
  $(`${which}-sh`).hidden = !lines.length;
  $(`${which}-empty`).hidden = !!lines.length;
  $<HTMLButtonElement>(`${which}-copy`).disabled = !lines.length;
}

export function render() {
  wire();
  const c = currentClient();
  if (!c) return;
  const aliases = c.aliases.list();
  const vars = c.vars.list();
  fill('aliases', aliases.map(aliasLine));
  fill('vars', vars.map(varLine));
  document.body.dataset.dotfiles = `${aliases.length}/${vars.length}`;
}

export function reset() {
  fill('aliases', []);
  fill('vars', []);
}

function wire() {
  if (wired) return;
  wired = true;
  for (const which of ['aliases', 'vars']) {
    $(`${which}-copy`).addEventListener('click', async () => {
      toast((await copyText($(`${which}-sh`).textContent ?? '')) ? `Copied the ${which === 'vars' ? 'variables' : 'aliases'}` : 'Could not copy');
    });
  }
}
