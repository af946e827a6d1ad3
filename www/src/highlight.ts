// Matched characters of a command, marked with <mark> elements built as DOM nodes: the
// command is only ever text (never parsed as HTML), and nothing is styled inline.

/** Newlines shown as ⏎ on the one-line rows. */
const oneLine = (s: string) => s.replace(/\n/g, '⏎ ');

/**
 * Fills `el` with `command` (one line), the ranges in `matches` (flat `[start, end, ...]`
 * string indices, sorted, as the package returns them) wrapped in <mark>.
 */
export function fillHighlighted(el: HTMLElement, command: string, matches: number[] | undefined) {
  if (!matches?.length) {
    el.textContent = oneLine(command);
    return;
  }
  const parts: Node[] = [];
  let at = 0;
  for (let i = 0; i + 1 < matches.length; i += 2) {
    const start = Math.max(at, Math.min(matches[i], command.length));
    const end = Math.max(start, Math.min(matches[i + 1], command.length));
    if (start > at) parts.push(document.createTextNode(oneLine(command.slice(at, start))));
    if (end > start) {
      const m = document.createElement('mark');
      m.textContent = oneLine(command.slice(start, end));
      parts.push(m);
    }
    at = end;
  }
  if (at < command.length) parts.push(document.createTextNode(oneLine(command.slice(at))));
  el.replaceChildren(...parts);
}
