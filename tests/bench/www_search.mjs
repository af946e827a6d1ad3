// P3: the history viewer (www/dist) with N history entries (default 100k) in headless
// Chromium against the local worker. Seeds through the app in one browser profile (upload),
// logs in from a second profile through the UI (download), then measures:
//  - keystroke-to-results: every keystroke of a fixed list of queries typed into the search
//    box, in each mode, unique (the default: one row per distinct command) and every run; from the input event's timestamp to the results list updated in the
//    DOM ("render"), and to the next animation frame ("frame"); p50 and p95 (goal p95 <= 16 ms);
//  - open to first results: page load (navigation start) to the first results rendered, with
//    the N entries already synced (median over reloads).
// Prints figures; asserts nothing.
//   node tests/bench/www_search.mjs [entries=100000] [reloads=3]
import { connect, setup, waitSynced } from "../www/harness.mjs";

const n = Number(process.argv[2] ?? 100_000);
const reloads = Number(process.argv[3] ?? 3);
const QUERIES = ["git commit", "cargo test", "docker run", "kubectl get pods", "ssh host4", "npm run build", "ls -la", "grep -r TODO", "make -j4", "vim file42", "curl items/77"];
const MODES = ["full-text", "prefix", "fuzzy"];
const VIEWS = [["unique", true], ["all", false]];

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs) => pct(xs, 50);
const f = (x) => x.toFixed(1);

const env = await setup();
const username = `bench${Date.now().toString(36)}`;
const password = "bench password";
try {
  // Seed: register through the app, add N entries, upload.
  const a = await env.profile();
  await connect(a.page, { mode: "register", username, password });
  await a.page.locator("#view-newkey").waitFor();
  const key = await a.page.inputValue("#newkey-text");
  await a.page.click("#newkey-done");
  await waitSynced(a.page, 0);
  let t = Date.now();
  await a.page.evaluate(async (n) => {
    const c = window.__terrapin.client;
    const tpl = [
      (j) => `git commit -m 'change ${j}'`,
      (j) => `cargo test -p crate-${j % 50}`,
      (j) => `docker run --rm img${j % 30}`,
      (j) => `kubectl get pods -n ns${j % 20}`,
      (j) => `ssh host${j % 100}.example.com`,
      (j) => `npm run build:${j % 10}`,
      (j) => `ls -la /var/log/app${j % 40}`,
      (j) => `grep -r TODO src/mod${j % 60}`,
      (j) => `make -j4 target${j % 25}`,
      (j) => `vim file${j % 500}.rs`,
      (j) => `cd ~/src/project${j % 80}`,
      (j) => `curl -s https://api.example.com/v1/items/${j}`,
    ];
    const start = Date.now() - n * 60_000;
    for (let i = 0; i < n; i += 10_000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 10_000); j++) {
        batch.push({
          command: tpl[(j * 7) % tpl.length](j),
          timestamp: start + j * 60_000,
          duration: (j % 900) * 1_000_000,
          exit: j % 9 === 0 ? 1 : 0,
          cwd: `/home/me/src/p${j % 40}`,
          session: `s${Math.floor(j / 500)}`,
          hostname: `host${j % 3}:me`,
        });
      }
      await c.history.addMany(batch);
    }
    await c.sync();
  }, n);
  const seedS = (Date.now() - t) / 1000;
  await a.context.close();

  // A second browser logs in through the UI and downloads everything.
  const b = await env.profile();
  t = Date.now();
  await connect(b.page, { username, password, key });
  await b.page.locator("#view-app").waitFor();
  await b.page.waitForFunction(() => document.querySelector("#sync-progress").value > 0, null, { timeout: 120_000 }).catch(() => {});
  await env.shot(b.page, "bench-sync-progress");
  await waitSynced(b.page, 0, 600_000);
  const loginSyncS = (Date.now() - t) / 1000;
  const count = await b.page.evaluate(() => window.__terrapin.client.history.count());
  if (count !== n) throw new Error(`synced ${count} of ${n}`);

  // Keystroke-to-results.
  const page = b.page;
  const byMode = {};
  for (const [view, unique] of VIEWS) for (const mode of MODES) {
    await page.setChecked("#unique", unique);
    await page.selectOption("#mode", mode);
    await page.evaluate(() => {
      window.__terrapin.metrics.keystrokes.length = 0;
      window.__terrapin.metrics.frames.length = 0;
    });
    await page.focus("#q");
    for (const q of QUERIES) {
      await page.keyboard.type(q, { delay: 40 });
      await page.waitForTimeout(60);
      await page.fill("#q", "");
      await page.waitForTimeout(40);
    }
    await page.waitForTimeout(100);
    byMode[`${mode} ${view}`] = await page.evaluate(() => ({
      render: window.__terrapin.metrics.keystrokes.map((k) => k.ms),
      query: window.__terrapin.metrics.keystrokes.map((k) => k.queryMs),
      app: window.__terrapin.metrics.keystrokes.map((k) => k.handlerMs - k.queryMs),
      frame: [...window.__terrapin.metrics.frames],
    }));
  }
  const all = { render: [], frame: [], query: [], app: [] };
  const uniq = { render: [], frame: [], query: [] };
  console.log(`P3 www search: ${n} entries; ${QUERIES.length} queries typed key by key in each mode, unique and every run`);
  for (const mode of Object.keys(byMode)) {
    const m = byMode[mode];
    if (mode.endsWith("unique")) {
      uniq.render.push(...m.render);
      uniq.frame.push(...m.frame);
      uniq.query.push(...m.query);
    }
    // page.fill("") produces input events too: they are the "clear the box" keystroke.
    all.render.push(...m.render);
    all.frame.push(...m.frame);
    all.query.push(...m.query);
    all.app.push(...m.app);
    console.log(`  ${mode.padEnd(16)} keystrokes ${m.render.length}: render p50 ${f(pct(m.render, 50))} ms, p95 ${f(pct(m.render, 95))} ms; to next frame p50 ${f(pct(m.frame, 50))} ms, p95 ${f(pct(m.frame, 95))} ms; in history.query p50 ${f(pct(m.query, 50))}, p95 ${f(pct(m.query, 95))} ms; app's own work p50 ${f(pct(m.app, 50))}, p95 ${f(pct(m.app, 95))} ms`);
  }
  // The package's query alone (first page of 100), same keystrokes, to see where time goes.
  const queryOnly = await page.evaluate(({ QUERIES, MODES }) => {
    const c = window.__terrapin.client;
    const out = {};
    for (const unique of [true, false]) for (const mode of MODES) {
      const ts = [];
      for (const q of QUERIES) {
        for (let i = 1; i <= q.length; i++) {
          const t = performance.now();
          c.history.query({ text: q.slice(0, i), mode, unique, limit: 100 });
          ts.push(performance.now() - t);
        }
      }
      const t = performance.now();
      c.history.query({ text: "", mode, unique, limit: 100 });
      ts.push(performance.now() - t);
      out[`${mode} ${unique ? "unique" : "all"}`] = ts;
    }
    const time = (q) => {
      const xs = [];
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        c.history.query(q);
        xs.push(performance.now() - t);
      }
      return xs.sort((a, b) => a - b)[3];
    };
    out.probe = {
      "prefix, no match (scan only)": time({ text: "zzzz", mode: "prefix", limit: 100 }),
      "empty text, limit 1 (sort all)": time({ text: "", limit: 1 }),
      "empty text, limit 100": time({ text: "", limit: 100 }),
      "prefix 'g', limit 1": time({ text: "g", mode: "prefix", limit: 1 }),
      "prefix 'g', limit 100": time({ text: "g", mode: "prefix", limit: 100 }),
      "full-text 'zzzz' (scan + lowercase)": time({ text: "zzzz", mode: "full-text", limit: 100 }),
      "fuzzy 'zzzz' (scan + score)": time({ text: "zzzz", mode: "fuzzy", limit: 100 }),
      "fuzzy 'gco', limit 100": time({ text: "gco", mode: "fuzzy", limit: 100 }),
      "unique, empty text, limit 100 (group all)": time({ text: "", unique: true, limit: 100 }),
      "unique fuzzy 'gco', limit 100": time({ text: "gco", mode: "fuzzy", unique: true, limit: 100 }),
    };
    return out;
  }, { QUERIES, MODES });
  for (const mode of Object.keys(queryOnly).filter((k) => k !== "probe")) console.log(`  ${mode.padEnd(16)} package query alone: p50 ${f(pct(queryOnly[mode], 50))} ms, p95 ${f(pct(queryOnly[mode], 95))} ms`);
  for (const [k, v] of Object.entries(queryOnly.probe)) console.log(`    probe: ${k}: ${f(v)} ms`);
  console.log(`  unique (default) keystrokes ${uniq.render.length}: render p50 ${f(pct(uniq.render, 50))} ms, p95 ${f(pct(uniq.render, 95))} ms; to next frame p50 ${f(pct(uniq.frame, 50))} ms, p95 ${f(pct(uniq.frame, 95))} ms (goal p95 <= 16 ms); in history.query p50 ${f(pct(uniq.query, 50))}, p95 ${f(pct(uniq.query, 95))} ms`);
  console.log(`  all modes and views keystrokes ${all.render.length}: render p50 ${f(pct(all.render, 50))} ms, p95 ${f(pct(all.render, 95))} ms; to next frame p50 ${f(pct(all.frame, 50))} ms, p95 ${f(pct(all.frame, 95))} ms (goal p95 <= 16 ms); in history.query p50 ${f(pct(all.query, 50))}, p95 ${f(pct(all.query, 95))} ms; app's own work p50 ${f(pct(all.app, 50))}, p95 ${f(pct(all.app, 95))} ms`);

  // Stats over everything.
  await page.click("#tab-stats");
  let ts = Date.now();
  await page.waitForFunction((n) => Number(document.body.dataset.stats) === n, n, { timeout: 120_000 });
  const statsMs = Date.now() - ts;
  await env.shot(page, "bench-stats");
  await page.click("#tab-search");
  console.log(`  stats tab over ${n} entries: ${statsMs} ms to charts`);

  // Open to first results, N entries already synced.
  const opens = [];
  const phases = [];
  for (let r = 0; r < reloads; r++) {
    await page.reload();
    await page.waitForFunction(() => window.__terrapin?.metrics.firstResults !== undefined, null, { timeout: 120_000 });
    const m = await page.evaluate(() => window.__terrapin.metrics);
    opens.push(m.firstResults);
    phases.push(m);
  }
  console.log(`P3 www open to first results with ${n} synced entries: median ${f(median(opens))} ms (runs: ${opens.map(f).join(", ")} ms)`);
  const ph = (k) => f(median(phases.map((m) => m[k])));
  console.log(`  phases (median ms since navigation start): Client.open done ${ph("opened")}, first results ${ph("firstResults")}`);
  console.log(`  (seed: add + upload ${n} in ${f(seedS)} s; log in through the UI + initial sync ${f(loginSyncS)} s)`);
  await b.context.close();
} finally {
  await env.dispose();
}
