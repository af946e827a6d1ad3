// Shell history files → new history entries, parsed by the package (terrapin-core's parsers
// for zsh extended/plain, bash with or without HISTTIMEFORMAT comments, and fish).
import { parseShellHistory } from 'terrapin-web';
import type { NewHistoryEntry } from 'terrapin-web';

/** Entries without a timestamp get increasing times, 1 ms apart, ending at `end`. */
function fillTimes(entries: NewHistoryEntry[], end: number) {
  const n = entries.length;
  entries.forEach((e, i) => {
    if (e.timestamp === undefined) e.timestamp = end - (n - i);
  });
}

export function parseHistoryFile(data: Uint8Array | string, filename?: string, mtime = Date.now()): NewHistoryEntry[] {
  const entries = parseShellHistory(data, filename);
  fillTimes(entries, mtime);
  return entries;
}
