// The viewer on history as atuin users have it: unique commands (with their runs), the toggle,
// matches highlighted in every mode, the session view, exits shown only when known, the
// success ring with unknown exits in grey, hostnames in the Store tab. First on a seeded
// profile, then on history written by the real atuin CLI (`atuin import zsh` + `atuin sync`
// to the worker; runs when ATUIN_BIN is set, skipped otherwise). Screenshots go to
// tests/artifacts/www-h*.png.
//   node --test tests/www/history.test.mjs
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { connect, suiteEnv, syncedStamp, uniq, waitSynced } from "./harness.mjs";
import { atuinHost } from "../atuin-host.mjs";

const ATUIN = process.env.ATUIN_BIN;
const skipAtuin = ATUIN ? false : "ATUIN_BIN is not set: skipping the viewer on atuin CLI history";
if (skipAtuin) console.log(`# ${skipAtuin}`);

const PASSWORD = "history viewer pw";
const BASE = new Date(2026, 9, 1, 8, 0).getTime();

// Seed: repeats across hosts, two interleaved sessions, unknown exits, non-ASCII and
// markup-looking commands.
const SEED = [
  ["kubectl get pods -n prod", "laptop", "sessA", 0, "/srv/k8s"],
  ["git status", "laptop", "sessB", 0, "/home/me/src"],
  ["deploy step 1", "laptop", "sessA", 0, "/srv/app"],
  ["kubectl get pods -n prod", "server1", "sessB", 1, "/srv/k8s"],
  ["deploy step 2", "laptop", "sessA", -1, "/srv/app"],
  ["git status", "server1", "sessB", -1, "/home/me/src"],
  ["kubectl get pods -n prod", "laptop", "sessA", 0, "/srv/k8s"],
  ["echo héllo 😀 wörld", "laptop", "sessB", 0, "/tmp"],
  ["deploy step 3", "laptop", "sessA", 2, "/srv/app"],
  ["echo '<img src=x onerror=alert(1)>'", "laptop", "sessB", 0, "/tmp"],
  ["kubectl get pods -n prod", "server1", "sessB", 0, "/srv/k8s"],
  ["git status", "laptop", "sessA", 0, "/home/me/src"],
  ["kubectl get pods -n prod", "laptop", "sessA", -1, "/srv/lastdir"],
].map(([command, host, session, exit, cwd], i) => ({ command, hostname: `${host}:me`, session, exit, cwd, timestamp: BASE + i * 60_000, duration: 1_000_000 }));
const runsOf = (cmd, f = () => true) => SEED.filter((e) => e.command === cmd && f(e)).length;

const env = suiteEnv();

const results = (page) => page.evaluate(() => Number(document.body.dataset.results));
const rowsOf = (page) =>
  page.$$eval("#results .hrow", (rows) =>
    rows
      .map((r) => ({
        i: Number(r.dataset.i),
        cmd: r.querySelector(".cmd").title,
        shown: r.querySelector(".cmd").textContent,
        marks: [...r.querySelectorAll(".cmd mark")].map((m) => m.textContent),
        runs: r.dataset.runs === undefined ? undefined : Number(r.dataset.runs),
        meta: r.querySelector(".meta").textContent,
        bad: r.querySelectorAll(".meta .exit-bad").length,
      }))
      .sort((a, b) => a.i - b.i),
  );
async function search(page, text, mode) {
  if (mode) await page.selectOption("#mode", mode);
  await page.fill("#q", text);
  await page.waitForFunction((t) => document.querySelector("#q").value === t, text);
}
/** Registers through the app; resolves to the page, with `added` entries seeded and synced. */
async function seeded(entries) {
  const p = await env.profile();
  await connect(p.page, { mode: "register", username: uniq("hist"), password: PASSWORD });
  await p.page.locator("#view-newkey").waitFor();
  await p.page.click("#newkey-done");
  await waitSynced(p.page, 0);
  const since = await syncedStamp(p.page);
  await p.page.evaluate((es) => window.__terrapin.client.history.addMany(es), entries);
  await p.page.click("#sync-btn");
  await waitSynced(p.page, since);
  return p;
}

test("seeded: unique rows with their runs, filters before grouping, the runs of one, the toggle", async () => {
  const { page, context } = await seeded(SEED);
  const distinct = new Set(SEED.map((e) => e.command)).size;
  await page.waitForFunction((n) => Number(document.body.dataset.results) === n, distinct);
  let rows = await rowsOf(page);
  // Newest first; a unique row is the command's newest run: its time, exit, directory.
  assert.deepEqual(rows.map((r) => r.cmd), [...new Set(SEED.map((e) => e.command).reverse())]);
  const kube = rows.find((r) => r.cmd === "kubectl get pods -n prod");
  assert.equal(kube.runs, runsOf(kube.cmd));
  assert.match(kube.meta, /^5 runslast /);
  assert.match(kube.meta, /\/srv\/lastdir/);
  // Its last exit is unknown: no exit shown, nothing red.
  assert.doesNotMatch(kube.meta, /exit/);
  assert.equal(kube.bad, 0);
  assert.equal(rows.find((r) => r.cmd === "deploy step 3").bad, 1);
  await env.shot(page, "h01-unique");

  // Filters apply to the runs, then grouping: on server1 kubectl ran twice.
  await page.click("#filters-toggle");
  // The host filter offers the hosts seen.
  assert.deepEqual(await page.$$eval("#hosts-list option", (os) => os.map((o) => o.value)), ["laptop", "server1"]);
  await page.fill("#f-host", "server1");
  await page.waitForFunction(() => document.body.dataset.results === "2");
  rows = await rowsOf(page);
  assert.equal(rows.find((r) => r.cmd === "kubectl get pods -n prod").runs, runsOf("kubectl get pods -n prod", (e) => e.hostname === "server1:me"));
  await page.click("#filters-clear");
  await page.click("#filters-toggle");

  // Opening a unique row lists its runs, newest first.
  const at = rows.length && (await rowsOf(page)).find((r) => r.cmd === "kubectl get pods -n prod").i;
  await page.click(`#row-${at} .btn[data-act=runs]`);
  await page.waitForFunction(() => document.body.dataset.scope === "runs");
  assert.equal(await results(page), 5);
  rows = await rowsOf(page);
  assert.ok(rows.every((r) => r.cmd === "kubectl get pods -n prod" && r.runs === undefined));
  assert.match(await page.textContent("#scope-text"), /Every run of kubectl get pods -n prod/);
  assert.equal(rows.filter((r) => r.bad).length, 1, "one run failed (exit 1)");
  await env.shot(page, "h02-runs");
  await page.keyboard.press("Escape");
  await page.waitForFunction((n) => document.body.dataset.scope === "" && Number(document.body.dataset.results) === n, distinct);

  // The toggle: every run.
  await page.uncheck("#unique");
  await page.waitForFunction((n) => Number(document.body.dataset.results) === n, SEED.length);
  assert.equal((await rowsOf(page)).every((r) => r.runs === undefined), true);
  await page.check("#unique");
  await page.waitForFunction((n) => Number(document.body.dataset.results) === n, distinct);

  // Highlighting in each mode; history text is only ever text.
  await search(page, "kub", "prefix");
  assert.deepEqual((await rowsOf(page))[0].marks, ["kub"]);
  await search(page, "PODS get", "full-text");
  assert.deepEqual((await rowsOf(page))[0].marks, ["get", "pods"]);
  await env.shot(page, "h03-highlight-full-text");
  await search(page, "wörld 😀", "full-text");
  const uni = (await rowsOf(page))[0];
  assert.deepEqual([uni.cmd, uni.marks], ["echo héllo 😀 wörld", ["😀", "wörld"]]);
  await search(page, "kgpp", "fuzzy");
  const fz = (await rowsOf(page))[0];
  assert.equal(fz.cmd, "kubectl get pods -n prod");
  assert.equal(fz.marks.join("").toLowerCase().replace(/[^kgp]/g, ""), "kgpp", JSON.stringify(fz.marks));
  assert.equal(fz.marks.join("").length, 4);
  await env.shot(page, "h04-highlight-fuzzy");
  await search(page, "img onerror", "full-text");
  const html = (await rowsOf(page))[0];
  assert.equal(html.shown, "echo '<img src=x onerror=alert(1)>'");
  assert.deepEqual(html.marks, ["img", "onerror"]);
  assert.equal(await page.locator("#results img").count(), 0);

  // Session view: from any row, that session's commands, oldest first (the search set aside).
  await search(page, "deploy step 2", "full-text");
  await page.focus("#results");
  await page.keyboard.press("s");
  await page.waitForFunction(() => document.body.dataset.scope === "session");
  const sessA = SEED.filter((e) => e.session === "sessA");
  assert.equal(await results(page), sessA.length);
  assert.equal(await page.inputValue("#q"), "");
  rows = await rowsOf(page);
  assert.deepEqual(rows.map((r) => r.cmd), sessA.map((e) => e.command));
  // The row it was opened from is selected.
  const sel = await page.$eval('#results .hrow[aria-selected="true"]', (r) => r.querySelector(".cmd").title);
  assert.equal(sel, "deploy step 2");
  assert.match(await page.textContent("#scope-text"), new RegExp(`Session sessA: ${sessA.length} commands, oldest first`));
  await env.shot(page, "h05-session");
  await page.click("#scope-back");
  assert.equal(await page.inputValue("#q"), "deploy step 2");
  await page.waitForFunction(() => document.body.dataset.scope === "" && document.body.dataset.results === "1");

  // Store: the hosts named by the hostnames in their history.
  await page.click("#tab-store");
  await page.locator("#status-table tbody tr td").first().waitFor();
  const store = await page.$$eval("#status-table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.ok(store.some((r) => r[0].endsWith("(this browser)") && r[1] === "laptop:me, server1:me" && r[2] === "history"), JSON.stringify(store));
  await context.close();
});

// ------------------------------------------------------------------ the real atuin CLI

/** A zsh extended history: `: start:duration;command`, with repeats, as shells write it. */
function zshHistory(n) {
  const cmds = ["kubectl get pods -n prod", "git status", "ls -la", "cd ~/src/terrapin", "cargo test -p core", "vim notes.md", "docker ps -a", "ssh deploy@prod-1"];
  const lines = [];
  const start = Math.floor(new Date(2026, 5, 1).getTime() / 1000);
  for (let i = 0; i < n; i++) {
    // kubectl every 3rd line; the rest cycle, plus a few one-offs.
    const cmd = i % 3 === 0 ? cmds[0] : i % 50 === 7 ? `echo one-off-${i}` : cmds[1 + (i % (cmds.length - 1))];
    lines.push({ ts: start + i * 37, dur: i % 11, cmd });
  }
  return { lines, text: lines.map((l) => `: ${l.ts}:${l.dur};${l.cmd}`).join("\n") + "\n" };
}

test("atuin CLI history: unique counts, highlighting, no exits shown, grey ring, hostnames, session", { skip: skipAtuin, timeout: 300_000 }, async () => {
  const scratch = mkdtempSync(path.join(tmpdir(), "terrapin-www-atuin-"));
  try {
    const host = atuinHost(scratch, env.worker.url, "atuin-box");
    const a = { home: host.home, atuin: async (args, extra = {}) => (await host.atuin(...args, extra)).stdout };
    const user = uniq("atuin");
    const { lines, text } = zshHistory(600);
    const histfile = path.join(a.home, ".zsh_history");
    writeFileSync(histfile, text);
    await a.atuin(["register", "-u", user, "-e", `${user}@example.test`, "-p", PASSWORD]);
    await a.atuin(["import", "zsh"], { HISTFILE: histfile, SHELL: "/bin/zsh" });
    await a.atuin(["sync"]);
    const key = (await a.atuin(["key"])).trim();

    const { page, context } = await env.profile();
    await connect(page, { username: user, password: PASSWORD, key });
    await page.locator("#view-app").waitFor();
    await waitSynced(page, 0);
    const n = await page.evaluate(() => window.__terrapin.client.history.count());
    assert.equal(n, lines.length);
    // What atuin's import wrote: no exits (-1); read, not assumed, for the checks below.
    const facts = await page.evaluate(() => {
      const es = window.__terrapin.client.history.query({ limit: 100000 }).entries;
      return { exits: [...new Set(es.map((e) => e.exit))], cwds: [...new Set(es.map((e) => e.cwd))], hostnames: [...new Set(es.map((e) => e.hostname))], sessions: [...new Set(es.map((e) => e.session))] };
    });
    assert.deepEqual(facts.exits, [-1]);

    // Unique by default, as atuin's search.
    const distinct = new Set(lines.map((l) => l.cmd)).size;
    await page.waitForFunction((d) => Number(document.body.dataset.results) === d, distinct);
    await search(page, "kubectl", "fuzzy");
    let rows = await rowsOf(page);
    assert.equal(rows[0].cmd, "kubectl get pods -n prod");
    assert.equal(rows[0].runs, lines.filter((l) => l.cmd === "kubectl get pods -n prod").length);
    assert.deepEqual(rows[0].marks, ["kubectl"]);
    await search(page, "gst", "fuzzy");
    rows = await rowsOf(page);
    assert.equal(rows[0].cmd, "git status");
    assert.equal(rows[0].marks.join(""), "gst");
    await search(page, "", "fuzzy");
    // No exit on any row (none is known), no red, and no placeholder directory.
    rows = await rowsOf(page);
    for (const r of rows) {
      assert.doesNotMatch(r.meta, /exit/, r.meta);
      assert.equal(r.bad, 0);
      if (facts.cwds.includes("unknown")) assert.doesNotMatch(r.meta, /unknown/, r.meta);
    }
    await env.shot(page, "h06-atuin-unique");

    // The session view (the import's session(s)), oldest first.
    await page.uncheck("#unique");
    await page.focus("#results");
    await page.keyboard.press("End");
    await page.keyboard.press("s");
    await page.waitForFunction(() => document.body.dataset.scope === "session");
    const sessionOfOldest = await page.evaluate(() => {
      const es = window.__terrapin.client.history.query({ limit: 100000 }).entries;
      return es[es.length - 1].session;
    });
    const inSession = await page.evaluate((s) => window.__terrapin.client.history.query({ session: s, limit: 100000 }).entries.map((e) => e.command).reverse(), sessionOfOldest);
    assert.equal(await results(page), inSession.length);
    rows = await rowsOf(page);
    assert.deepEqual(rows.map((r) => r.cmd), inSession.slice(0, rows.length));
    await env.shot(page, "h07-atuin-session");
    await page.keyboard.press("Escape");
    await page.check("#unique");

    // Stats: every exit unknown: the ring is grey, no red, no rate.
    await page.click("#tab-stats");
    await page.waitForFunction((n) => Number(document.body.dataset.stats) === n, n);
    assert.match(await page.getAttribute("#chart-success svg", "aria-label"), new RegExp(`^Success rate –: 0 succeeded, 0 failed, ${n} exit unknown$`));
    assert.equal(await page.locator("#chart-success circle.ring-bad").count(), 0);
    assert.equal(await page.locator("#chart-success circle.ring-ok").count(), 0);
    assert.equal(await page.locator("#chart-success circle.ring-unknown").count(), 1);
    const stroke = await page.$eval("#chart-success circle.ring-unknown", (c) => getComputedStyle(c).stroke);
    const danger = await page.evaluate(() => {
      const probe = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      probe.setAttribute("class", "ring-bad");
      document.querySelector("#chart-success svg").append(probe);
      const s = getComputedStyle(probe).stroke;
      probe.remove();
      return s;
    });
    assert.notEqual(stroke, danger);
    assert.match(await page.textContent("#stats-summary"), /exit status unknown/);
    await env.shot(page, "h08-atuin-ring-unknown");

    // Store: atuin's host id named by the hostname its history carries.
    await page.click("#tab-store");
    await page.locator("#status-table tbody tr td").first().waitFor();
    const store = await page.$$eval("#status-table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    const atuinRow = store.find((r) => !r[0].endsWith("(this browser)") && r[2] === "history");
    assert.ok(atuinRow, JSON.stringify(store));
    assert.deepEqual(atuinRow[1].split(", ").sort(), [...facts.hostnames].sort());
    assert.match(atuinRow[1], /^atuin-box:tester$/);
    await env.shot(page, "h09-atuin-store");
    await context.close();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test("no Content-Security-Policy violation in this suite", () => {
  assert.deepEqual(env.csp, []);
});
