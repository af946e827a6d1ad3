// The Stats and Store tabs, drawn when shown and again (if shown) after the history changed (the
// Store tab's kv part is ./kv, loaded through ./stores, which also hears of the changes).
// Whether each is out of date, and the damage the last sync reported, are kept here.
import type { Client, DamagedSeries, IdxRange, Status } from 'terrapin-web';
import { $, h, num } from './util';
import { describe } from './errors';
import { currentClient } from './session';
import { resetStores, showStoreView, storesChanged } from './stores';
import { StatsBuilder, daysChart, hoursChart, successChart, topChart } from './stats';

let statsStale = true;
let storeStale = true;
/** Bumped per Stats rendering, so an older one still counting stops. */
let statsRun = 0;
/** Series the last sync could not complete (holes on the server, records under another key). */
let damaged: DamagedSeries[] = [];

const shown = (panel: 'stats' | 'store') => !$(`panel-${panel}`).hidden;

/** The tab of `panel` is shown: drawn if out of date. */
export function showPanel(panel: 'stats' | 'store') {
  if (panel === 'stats' && statsStale) void renderStats();
  if (panel === 'store' && storeStale) void renderStore();
}

/** The history changed: both tabs are out of date, and the one shown (if any) is drawn again. */
export function historyChanged() {
  statsStale = storeStale = true;
  storesChanged();
  if (shown('stats')) void renderStats();
  if (shown('store')) void renderStore();
}

/** The stats are out of date (drawn when next shown). */
export function statsChanged() {
  statsStale = true;
}

/** A sync went through, with the series it could not complete: the Store tab again. */
export function afterSync(damage: DamagedSeries[]) {
  damaged = damage;
  storeStale = true;
  if (shown('store')) void renderStore();
}

/** The Stats drawn now if out of date (they also fill the directory suggestions of the filters). */
export function freshStats() {
  if (statsStale) void renderStats();
}

/** Forgets what the tabs showed of the account (locked, or logged out). */
export function resetPanels() {
  resetStores();
  damaged = [];
  statsStale = storeStale = true;
}

// ---------------------------------------------------------------- stats

async function renderStats() {
  const c = currentClient();
  if (!c) return;
  const run = ++statsRun;
  statsStale = false;
  $('stats-summary').textContent = 'Counting…';
  const b = new StatsBuilder();
  // Each chunk is one query (the package sorts every entry per query): few, large chunks.
  const chunk = 20000;
  for (let off = 0; ; off += chunk) {
    const r = c.history.query({ offset: off, limit: chunk });
    b.add(r.entries);
    if (off + chunk >= r.total) break;
    await new Promise((res) => setTimeout(res, 0));
    if (run !== statsRun || c !== currentClient()) return;
  }
  const st = b.finish();
  const put = (id: string, el: Element) => $(id).querySelector('.chart-body')!.replaceChildren(el);
  put('chart-top', topChart(st.top));
  put('chart-success', successChart(st.ok, st.failed, st.unknown));
  put('chart-days', daysChart(st.days));
  put('chart-hours', hoursChart(st.hours));
  const known = st.ok + st.failed;
  $('stats-summary').textContent = st.total
    ? `${num(st.total)} commands over ${num(st.days.length)} days · ${known ? `${((st.ok / known) * 100).toFixed(1)}% of those with a known exit succeeded` : 'exit status unknown'}`
    : 'No history yet.';
  $('cwds-list').replaceChildren(...st.cwds.map((x) => h('option', { value: x })));
  document.body.dataset.stats = String(st.total);
}

// ---------------------------------------------------------------- store

const ranges = (rs: IdxRange[]) => rs.map((r) => (r.first === r.last ? num(r.first) : `${num(r.first)}–${num(r.last)}`)).join(', ');

/** The damaged series: the holes this device keeps, and what the last sync reported. */
async function renderDamage(c: Client) {
  const byKey = new Map<string, { host: string; tag: string; missing: IdxRange[]; problem: string }>();
  const kept = await c.missing();
  for (const s of kept) byKey.set(`${s.host}/${s.tag}`, { host: s.host, tag: s.tag, missing: s.missing, problem: '' });
  for (const d of damaged) {
    const k = `${d.host}/${d.tag}`;
    const row = byKey.get(k) ?? { host: d.host, tag: d.tag, missing: [], problem: '' };
    // The report also names holes above the last record held (at the end of a series).
    const seen = new Set(row.missing.map((r) => `${r.first}-${r.last}`));
    row.missing = [...row.missing, ...d.missing.filter((r) => !seen.has(`${r.first}-${r.last}`))].sort((a, b) => a.first - b.first);
    if (d.error) {
      row.problem = d.error.kind === 'foreign_key'
        ? `Records from idx ${num(d.error.idx ?? 0)} were written under another key (${d.error.recordKid}) and were not uploaded. Log in with that key to upload them.`
        : d.error.message;
    }
    byKey.set(k, row);
  }
  const unreadable = c.unreadableCount();
  const rows = [...byKey.values()].sort((a, b) => (a.host + a.tag < b.host + b.tag ? -1 : 1)).map((d) => h('tr', {},
    h('td', { class: 'mono', title: d.host }, d.host === c.hostId ? `${d.host} (this browser)` : d.host),
    h('td', { text: d.tag }),
    h('td', { class: 'mono', text: d.missing.length ? ranges(d.missing) : '—' }),
    h('td', { text: d.problem || 'The server lacks these records; the rest of the series synced. They are asked for again on every sync.' })));
  $('damage').hidden = !rows.length && !unreadable;
  $('damage-note').textContent = [
    rows.length ? 'These series did not sync completely. Everything else synced as usual.' : '',
    unreadable ? `${num(unreadable)} records can't be read with this key.` : '',
  ].filter(Boolean).join(' ');
  $('damage-table').querySelector('tbody')!.replaceChildren(...rows);
}

async function renderStore() {
  const c = currentClient();
  if (!c) return;
  storeStale = false;
  const local = await c.status();
  let remote: Status | undefined;
  try {
    remote = await c.remoteStatus();
    $('status-note').textContent = 'Last record index of every series, here and on the server.';
  } catch (e) {
    $('status-note').textContent = `Remote status unavailable: ${describe(e, 'sync')}`;
  }
  const hosts = new Set([...Object.keys(local.hosts), ...Object.keys(remote?.hosts ?? {})]);
  // How many records each damaged series lacks below its last idx.
  const holes = new Map<string, number>();
  for (const s of await c.missing()) holes.set(`${s.host}/${s.tag}`, s.missing.reduce((n, r) => n + r.last - r.first + 1, 0));
  const rows: HTMLElement[] = [];
  const sorted = [...hosts].sort((a, b) => (a === c.hostId ? -1 : b === c.hostId ? 1 : a < b ? -1 : 1));
  // Host ids are UUIDs: name them by the hostnames in their history.
  const names = new Map<string, string>();
  for (const x of c.history.hosts()) names.set(x.hostId, x.hostnames.map((n) => n.hostname).join(', '));
  for (const host of sorted) {
    const tags = new Set([...Object.keys(local.hosts[host] ?? {}), ...Object.keys(remote?.hosts[host] ?? {})]);
    for (const tag of [...tags].sort()) {
      const l = local.hosts[host]?.[tag];
      const r = remote?.hosts[host]?.[tag];
      let state = !remote ? '' : l === r ? 'in sync' : l === undefined || (r !== undefined && r > l) ? `${num((r ?? -1) - (l ?? -1))} to download` : `${num(l - (r ?? -1))} to upload`;
      const gone = holes.get(`${host}/${tag}`);
      if (gone) state = `${state ? `${state}, ` : ''}${num(gone)} missing on the server`;
      rows.push(h('tr', {},
        h('td', { class: 'mono', title: host }, host === c.hostId ? `${host} (this browser)` : host),
        h('td', { class: 'hostname', text: names.get(host) || '—' }),
        h('td', { text: tag }),
        h('td', { class: 'num', text: l === undefined ? '—' : num(l) }),
        h('td', { class: 'num', text: r === undefined ? '—' : num(r) }),
        h('td', { text: state })));
    }
  }
  if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: '6', class: 'muted', text: 'No records yet.' })));
  $('status-table').querySelector('tbody')!.replaceChildren(...rows);
  await renderDamage(c);
  void showStoreView('kv');
}
