// The Aliases & variables tab: the legacy `config-shell-alias` and `dotfiles-var` stores,
// read-only, as the lines a bash or zsh got from atuin's dotfiles (./shell quotes them the same
// way). Atuin 18.24 only lists them (`atuin dotfiles alias list`, `var list`). Loaded on first
// use by ./stores.
import { $, copyText, num, toast } from './util';
import { currentClient } from './session';
import { aliasLine, varLine } from './shell';

let wired = false;

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
