// Shell history files → new history entries. Uses the package's `parseShellHistory` (Rust)
// when it exists; otherwise this small parser (zsh extended/plain, bash with or without
// HISTTIMEFORMAT comments, fish).
import * as tw from 'terrapin-web';
import type { NewHistoryEntry } from 'terrapin-web';

type Parser = (text: string, filename?: string) => NewHistoryEntry[];

export function packageParser(): Parser | undefined {
  // Looked up at run time: builds of terrapin-web without it are fine.
  const p = Reflect.get(tw, 'parseShellHistory') as Parser | undefined;
  return typeof p === 'function' ? p : undefined;
}

export type Shell = 'zsh' | 'bash' | 'fish';

export function detectShell(text: string, filename = ''): Shell {
  const name = filename.toLowerCase();
  if (/^- cmd: /m.test(text) || name.includes('fish')) return 'fish';
  if (/^: \d+:\d+;/m.test(text) || name.includes('zsh') || name.includes('zhistory')) return 'zsh';
  return 'bash';
}

/** Entries without a timestamp get increasing times, 1 ms apart, ending at `end`. */
function fillTimes(entries: NewHistoryEntry[], end: number) {
  const n = entries.length;
  entries.forEach((e, i) => {
    if (e.timestamp === undefined) e.timestamp = end - (n - i);
  });
}

// zsh "metafied" bytes: 0x83 followed by a byte XOR 32 (only matters for odd characters).
function unmetafy(s: string): string {
  return s.includes('\u0083') ? s.replace(/\u0083(.)/gs, (_, c: string) => String.fromCharCode(c.charCodeAt(0) ^ 32)) : s;
}

function parseZsh(text: string): NewHistoryEntry[] {
  const out: NewHistoryEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    // Multi-line commands end each continued line with a backslash.
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + '\n' + lines[++i];
    if (!line.trim()) continue;
    const m = /^: (\d+):(\d+);([\s\S]*)$/.exec(line);
    if (m) {
      const command = unmetafy(m[3]).trim();
      if (command) out.push({ command, timestamp: Number(m[1]) * 1000, duration: Number(m[2]) * 1e9 });
    } else {
      const command = unmetafy(line).trim();
      if (command) out.push({ command });
    }
  }
  return out;
}

function parseBash(text: string): NewHistoryEntry[] {
  const out: NewHistoryEntry[] = [];
  let ts: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const m = /^#(\d{9,11})$/.exec(line);
    if (m) {
      ts = Number(m[1]) * 1000;
      continue;
    }
    const command = line.trim();
    if (!command) continue;
    out.push(ts === undefined ? { command } : { command, timestamp: ts });
    ts = undefined;
  }
  return out;
}

function unescapeFish(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === '\\' ? '\\' : '\\' + c));
}

function parseFish(text: string): NewHistoryEntry[] {
  const out: NewHistoryEntry[] = [];
  let cur: NewHistoryEntry | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('- cmd: ')) {
      if (cur) out.push(cur);
      cur = { command: unescapeFish(line.slice(7)).trim() };
    } else if (cur && /^\s+when: \d+/.test(line)) {
      cur.timestamp = Number(line.trim().slice(6)) * 1000;
    }
  }
  if (cur) out.push(cur);
  return out.filter((e) => e.command);
}

/** The fallback parser. */
export function parseShellHistoryTs(text: string, filename?: string): NewHistoryEntry[] {
  const shell = detectShell(text, filename);
  const entries = shell === 'fish' ? parseFish(text) : shell === 'zsh' ? parseZsh(text) : parseBash(text);
  for (const e of entries) e.shell ??= shell;
  return entries;
}

export function parseHistoryFile(text: string, filename?: string, mtime = Date.now()): { entries: NewHistoryEntry[]; parser: 'package' | 'built-in' } {
  const p = packageParser();
  const entries = p ? p(text, filename) : parseShellHistoryTs(text, filename);
  fillTimes(entries, mtime);
  return { entries, parser: p ? 'package' : 'built-in' };
}
