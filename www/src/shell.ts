// Shell lines for the Scripts and Aliases & vars tabs: the `atuin scripts run NAME` line, and
// aliases and variables as atuin-dotfiles wrote them for bash and zsh. No DOM: the tests load
// this module as it is.
import type { DotfilesVar, ShellAlias } from 'terrapin-web';

/** A word for the shell: as it is when plain, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** What to type on a CLI host to run the script `name`. */
export const runLine = (name: string) => `atuin scripts run ${shellWord(name)}`;

/** A value without the one pair of quotes around it (`'…'`, `"…"` or backticks), as atuin's unquote. */
function unquote(s: string): string {
  const cs = [...s];
  if (cs.length < 2 || !`"'\``.includes(cs[0]) || cs[cs.length - 1] !== cs[0]) return s;
  return cs.slice(1, -1).join('');
}

/** `alias NAME='value'`: atuin drops quotes around the value and puts its own (nothing escaped). */
export const aliasLine = (a: ShellAlias) => `alias ${a.name}='${unquote(a.value)}'`;

/** Letters, digits (any script), `_ - / .`: left bare; anything else double-quoted with `\ " $ \`` escaped. */
const BARE = /^[\p{Alphabetic}\p{Nd}\p{Nl}\p{No}_\-/.]*$/u;
const posixValue = (v: string) => (BARE.test(v) ? v : `"${v.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`);

/** `export NAME=value`, or `NAME=value` for a shell variable. */
export const varLine = (v: DotfilesVar) => `${v.export ? 'export ' : ''}${v.name}=${posixValue(v.value)}`;
