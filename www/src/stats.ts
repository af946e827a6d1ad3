// Stats over all live entries, drawn as small hand-made SVG charts.
import type { HistoryEntry } from 'terrapin-web';
import { dayKey, num } from './util';
import { exitKnown } from './row';

export interface Stats {
  total: number;
  top: [string, number][];
  days: [string, number][]; // every day from first to last, zeros included
  hours: number[]; // 24, local time
  ok: number;
  failed: number;
  unknown: number;
  cwds: string[];
}

export class StatsBuilder {
  private first = new Map<string, number>();
  private days = new Map<string, number>();
  private cwds = new Map<string, number>();
  private hours = new Array<number>(24).fill(0);
  private total = 0;
  private ok = 0;
  private failed = 0;
  private unknown = 0;
  private minTs = Infinity;
  private maxTs = -Infinity;

  add(entries: HistoryEntry[]) {
    for (const e of entries) {
      this.total++;
      const word = firstWord(e.command);
      if (word) this.first.set(word, (this.first.get(word) ?? 0) + 1);
      const d = new Date(e.timestamp);
      this.hours[d.getHours()]++;
      const k = dayKey(e.timestamp);
      this.days.set(k, (this.days.get(k) ?? 0) + 1);
      if (e.timestamp < this.minTs) this.minTs = e.timestamp;
      if (e.timestamp > this.maxTs) this.maxTs = e.timestamp;
      if (e.exit === 0) this.ok++;
      else if (!exitKnown(e.exit)) this.unknown++;
      else this.failed++;
      if (e.cwd) this.cwds.set(e.cwd, (this.cwds.get(e.cwd) ?? 0) + 1);
    }
  }

  finish(): Stats {
    const byCount = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const days: [string, number][] = [];
    if (this.total) {
      const start = new Date(this.minTs);
      const d = new Date(start.getFullYear(), start.getMonth(), start.getDate());
      // At most ~3 years of days on the chart: older ones are left off.
      const limit = 1100;
      const endKey = dayKey(this.maxTs);
      const all: [string, number][] = [];
      for (let i = 0; i < 20000; i++) {
        const k = dayKey(d.getTime());
        all.push([k, this.days.get(k) ?? 0]);
        if (k === endKey) break;
        d.setDate(d.getDate() + 1);
      }
      days.push(...all.slice(-limit));
    }
    return {
      total: this.total,
      top: byCount(this.first).slice(0, 10),
      days,
      hours: this.hours,
      ok: this.ok,
      failed: this.failed,
      unknown: this.unknown,
      cwds: byCount(this.cwds).slice(0, 300).map(([k]) => k),
    };
  }
}

export function firstWord(cmd: string): string {
  const words = cmd.trim().split(/\s+/);
  let i = 0;
  // `sudo x` and `VAR=1 x` count as x.
  while (i < words.length - 1 && (words[i] === 'sudo' || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]))) i++;
  return words[i] ?? '';
}

const NS = 'http://www.w3.org/2000/svg';
function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}
function svg(w: number, hgt: number, label: string) {
  const el = s('svg', { viewBox: `0 0 ${w} ${hgt}`, role: 'img', 'aria-label': label, preserveAspectRatio: 'xMidYMid meet' });
  el.append(s('title', {}, label));
  return el;
}
function titled<T extends SVGElement>(el: T, text: string): T {
  el.append(s('title', {}, text));
  return el;
}

export function topChart(top: [string, number][]): SVGSVGElement {
  const w = 420, rowH = 22, labelW = 130;
  const hgt = Math.max(1, top.length) * rowH + 4;
  const max = Math.max(1, ...top.map(([, n]) => n));
  const el = svg(w, hgt, 'Top commands: ' + top.map(([c, n]) => `${c} ${n}`).join(', '));
  top.forEach(([cmd, n], i) => {
    const y = i * rowH + 2;
    const bw = ((w - labelW - 60) * n) / max;
    el.append(s('text', { x: labelW - 6, y: y + 15, 'text-anchor': 'end', class: 'label' }, cmd.length > 18 ? cmd.slice(0, 17) + '…' : cmd));
    el.append(titled(s('rect', { x: labelW, y: y + 3, width: Math.max(1, bw), height: rowH - 7, rx: 2, class: 'bar' }), `${cmd}: ${num(n)}`));
    el.append(s('text', { x: labelW + bw + 6, y: y + 15 }, num(n)));
  });
  return el;
}

/**
 * The ring: succeeded, failed and unknown exits as shares of all commands, from the top,
 * clockwise; unknown in grey (imported history has no exits: all grey, rate "–"). The rate
 * counts only commands whose exit is known.
 */
export function successChart(ok: number, failed: number, unknown: number): SVGSVGElement {
  const known = ok + failed;
  const all = known + unknown;
  const pct = known ? `${((ok / known) * 100).toFixed(1)}%` : '–';
  const el = svg(420, 170, `Success rate ${pct}: ${num(ok)} succeeded, ${num(failed)} failed, ${num(unknown)} exit unknown`);
  const cx = 85, cy = 85, r = 62, sw = 22;
  const circ = 2 * Math.PI * r;
  const parts: [number, string, string][] = [
    [ok, 'ring-ok', `succeeded: ${num(ok)}`],
    [failed, 'ring-bad', `failed: ${num(failed)}`],
    [unknown, 'ring-unknown', `exit unknown: ${num(unknown)}`],
  ];
  if (!all) el.append(s('circle', { cx, cy, r, fill: 'none', 'stroke-width': sw, class: 'ring-unknown' }));
  let at = 0;
  for (const [n, cls, label] of parts) {
    if (!n) continue;
    const len = (circ * n) / all;
    el.append(titled(s('circle', {
      cx, cy, r, fill: 'none', 'stroke-width': sw, class: cls,
      'stroke-dasharray': `${len} ${circ}`, 'stroke-dashoffset': -at, transform: `rotate(-90 ${cx} ${cy})`,
    }), label));
    at += len;
  }
  el.append(s('text', { x: cx, y: cy + 7, 'text-anchor': 'middle', class: 'label ring-pct' }, pct));
  const lines = [`${num(ok)} succeeded (exit 0)`, `${num(failed)} failed`, `${num(unknown)} exit unknown`];
  const keys = ['key-ok', 'key-bad', 'key-unknown'];
  lines.forEach((t, i) => {
    el.append(s('rect', { x: 190, y: 48 + i * 28, width: 12, height: 12, rx: 2, class: keys[i] }));
    el.append(s('text', { x: 210, y: 58 + i * 28, class: 'label' }, t));
  });
  return el;
}

export function daysChart(days: [string, number][]): SVGSVGElement {
  const w = 900, hgt = 200, padL = 40, padB = 22, padT = 8;
  const max = Math.max(1, ...days.map(([, n]) => n));
  const first = days[0]?.[0] ?? '';
  const last = days.at(-1)?.[0] ?? '';
  const total = days.reduce((a, [, n]) => a + n, 0);
  const el = svg(w, hgt, `Commands per day from ${first} to ${last}: ${num(total)} in ${days.length} days, at most ${num(max)} a day`);
  const plotW = w - padL - 8, plotH = hgt - padB - padT;
  const bw = plotW / Math.max(1, days.length);
  el.append(s('line', { x1: padL, y1: padT + plotH, x2: w - 8, y2: padT + plotH, class: 'axis' }));
  el.append(s('text', { x: padL - 6, y: padT + 10, 'text-anchor': 'end' }, num(max)));
  el.append(s('text', { x: padL - 6, y: padT + plotH, 'text-anchor': 'end' }, '0'));
  const g = s('g');
  days.forEach(([day, n], i) => {
    if (!n) return;
    const bh = (plotH * n) / max;
    g.append(titled(s('rect', { x: padL + i * bw, y: padT + plotH - bh, width: Math.max(0.6, bw - (bw > 3 ? 1 : 0)), height: bh, class: 'bar' }), `${day}: ${num(n)}`));
  });
  el.append(g);
  // Month labels, thinned to fit.
  const months: [number, string][] = [];
  days.forEach(([day], i) => {
    if (i === 0 || day.endsWith('-01')) months.push([i, day.slice(0, 7)]);
  });
  const every = Math.max(1, Math.ceil(months.length / 10));
  months.forEach(([i, m], j) => {
    if (j % every === 0) el.append(s('text', { x: padL + i * bw, y: hgt - 6 }, m));
  });
  return el;
}

export function hoursChart(hours: number[]): SVGSVGElement {
  const w = 900, hgt = 180, padL = 40, padB = 22, padT = 8;
  const max = Math.max(1, ...hours);
  const busiest = hours.indexOf(Math.max(...hours));
  const el = svg(w, hgt, `Commands by hour of day; busiest ${busiest}:00–${busiest + 1}:00 with ${num(hours[busiest] ?? 0)}`);
  const plotW = w - padL - 8, plotH = hgt - padB - padT;
  const bw = plotW / 24;
  el.append(s('line', { x1: padL, y1: padT + plotH, x2: w - 8, y2: padT + plotH, class: 'axis' }));
  el.append(s('text', { x: padL - 6, y: padT + 10, 'text-anchor': 'end' }, num(max)));
  hours.forEach((n, i) => {
    const bh = (plotH * n) / max;
    el.append(titled(s('rect', { x: padL + i * bw + 2, y: padT + plotH - bh, width: bw - 4, height: bh, rx: 2, class: 'bar' }), `${i}:00–${i + 1}:00: ${num(n)}`));
    if (i % 3 === 0) el.append(s('text', { x: padL + i * bw + bw / 2, y: hgt - 6, 'text-anchor': 'middle' }, `${i}h`));
  });
  return el;
}
