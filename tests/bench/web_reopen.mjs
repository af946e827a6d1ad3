// Reopening a profile of N history entries to first results, and the tab's memory (docs:
// web/README.md, "How it stores"). `Client.open` returns once the newest history pages are in
// the views; the rest is folded in after, in steps that each wait on IndexedDB
// (`history.loaded()` resolves when it is all in). Profiles are filled once, then the page is
// reloaded (a fresh wasm instance) before anything is timed; medians of `runs`:
// - plain: no passphrase; open, then the first query (all runs, and one row per command as the
//   viewer lists by default);
// - sealed: a passphrase vault (Argon2id at its defaults); open, unlock, then the first query.
//   The unlock is split into its Argon2id part (measured alone on an empty profile) and the
//   rest, which is opening the sealed pages;
// - the rest of the load: open to `history.loaded()`, and the longest the page went without
//   running a 5 ms timer meanwhile;
// - then the search index built in steps (`history.prepare()`), and the longest the page went
//   without running a 10 ms timer meanwhile; then the first search over it;
// - memory, in a fresh page: wasm memory + JS heap (CDP Runtime.getHeapUsage) after the whole
//   history is loaded, and after the first search (which builds the search index in one go);
//   and, in another fresh page, after `history.prepare()` (the index built in steps);
// - IndexedDB on disk: the files of the plain profile alone, in a browser profile on disk.
// Prints `reopen at N: X ms`, `index ready at N: X ms, longest stall Y ms` and
// `memory at N: X MB` (the larger of after the first search and after the index built in steps:
// the wasm memory never shrinks, so a tab holds its peak).
//   node tests/bench/web_reopen.mjs [entries=100000] [runs=5]
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { ensurePackage, servePackage } from "../web/harness.mjs";

const n = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 5);
ensurePackage();
const site = await servePackage();
// A profile on disk (a fresh one), as a browser keeps IndexedDB: contexts without one keep it
// in memory, within a quota a million entries exceed.
const userDir = mkdtempSync(path.join(tmpdir(), "terrapin-reopen-"));
const browser = await chromium.launchPersistentContext(userDir, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
/** Bytes of the files under `dir`. */
const du = (dir) => readdirSync(dir, { recursive: true }).reduce((sum, f) => sum + (statSync(path.join(dir, f)).isFile() ? statSync(path.join(dir, f)).size : 0), 0);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
const mb = (bytes) => (bytes / 1e6).toFixed(0);
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(site.url + "/");
  const cdp = await browser.newCDPSession(page);
  const heap = async () => (await cdp.send("Runtime.getHeapUsage")).usedSize;
  const wasmBytes = () => page.evaluate(async () => (await (await import("/pkg/index.js")).initialize()).memory.buffer.byteLength);

  await page.evaluate(async ({ n }) => {
    const tw = await import("/pkg/index.js");
    const server = "http://127.0.0.1:9";
    // Kept on the page: the sealed profile is filled the same way after the disk figure.
    const fill = (window.__fill = async (profile, passphrase) => {
      const c = await tw.Client.open({ server, profile });
      await c.setKey(await tw.generateKey());
      c.setSession("bench");
      for (let i = 0; i < n; i += 10_000) {
        const entries = [];
        for (let j = i; j < Math.min(n, i + 10_000); j++) {
          entries.push({ command: `git commit -m 'change ${j}' && cargo test -p crate-${j % 50}`, timestamp: 1_700_000_000_000 + j * 1000, cwd: `/home/me/src/p${j % 40}`, exit: j % 7 === 0 ? 1 : 0, session: `s${Math.floor(j / 500)}`, hostname: "laptop:me", duration: 1_000_000 * (j % 900) });
        }
        await c.history.addMany(entries);
      }
      if (passphrase) await c.saveVault(passphrase);
      c.close();
    });
    await fill("plain");
  }, { n });
  // The plain profile alone on disk (IndexedDB writes through as its transactions commit).
  const disk = du(path.join(userDir, "Default", "IndexedDB"));
  await page.evaluate(async () => {
    const tw = await import("/pkg/index.js");
    const server = "http://127.0.0.1:9";
    await window.__fill("sealed", "correct horse battery staple");
    // Argon2id alone: a vault over an empty profile.
    const empty = await tw.Client.open({ server, profile: "empty" });
    await empty.setKey(await tw.generateKey());
    empty.setSession("bench");
    await empty.saveVault("correct horse battery staple");
    empty.close();
  }, { n });

  await page.reload();
  const r = await page.evaluate(async ({ n, runs }) => {
    const tw = await import("/pkg/index.js");
    const server = "http://127.0.0.1:9";
    const out = { plain: [], unique: [], sealed: [], unlock: [], kdf: [], loaded: [], stall: [], prepare: [], prepareStall: [], prepared: [] };
    for (let run = 0; run < runs; run++) {
      let t = performance.now();
      const p = await tw.Client.open({ server, profile: "plain" });
      const first = p.history.query({ text: "" });
      out.plain.push(performance.now() - t);
      if (first.entries[0]?.command !== `git commit -m 'change ${n - 1}' && cargo test -p crate-${(n - 1) % 50}`) throw new Error("the first result is not the newest entry");
      // The rest of the history, folded in while a 5 ms timer measures the page's stalls.
      let stall = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        stall = Math.max(stall, now - last);
        last = now;
      }, 5);
      await p.history.loaded();
      clearInterval(timer);
      out.loaded.push(performance.now() - t);
      out.stall.push(stall);
      if (p.history.count() !== n) throw new Error(`loaded ${p.history.count()} of ${n} entries`);
      // The search index built in steps (the viewer's warm-up), with a 10 ms heartbeat
      // measuring the page's longest stall meanwhile; then the first search over it.
      stall = 0;
      last = performance.now();
      const beat = setInterval(() => {
        const now = performance.now();
        stall = Math.max(stall, now - last);
        last = now;
      }, 10);
      t = performance.now();
      await p.history.prepare();
      out.prepare.push(performance.now() - t);
      clearInterval(beat);
      out.prepareStall.push(Math.max(stall, performance.now() - last));
      t = performance.now();
      const hit = p.history.query({ text: "cargo", mode: "fuzzy", unique: true });
      out.prepared.push(performance.now() - t);
      if (hit.total !== n) throw new Error(`prepared index: ${hit.total} of ${n} commands match`);
      p.close();

      // The viewer's default view: one row per distinct command.
      t = performance.now();
      const q = await tw.Client.open({ server, profile: "plain" });
      const rows = q.history.query({ text: "", unique: true });
      out.unique.push(performance.now() - t);
      if (rows.entries.length === 0 || rows.entries[0].runs === undefined) throw new Error("unique listing without rows or runs");
      await q.history.loaded();
      q.close();

      t = performance.now();
      const s = await tw.Client.open({ server, profile: "sealed" });
      const u = performance.now();
      await s.unlock("correct horse battery staple");
      out.unlock.push(performance.now() - u);
      const sealedFirst = s.history.query({ text: "" });
      out.sealed.push(performance.now() - t);
      if (sealedFirst.entries.length === 0) throw new Error("sealed profile shows nothing after unlock");
      await s.history.loaded();
      s.close();

      const e = await tw.Client.open({ server, profile: "empty" });
      t = performance.now();
      await e.unlock("correct horse battery staple");
      out.kdf.push(performance.now() - t);
      e.close();
    }
    return out;
  }, { n, runs });

  // Memory, in a fresh page: the plain profile loaded whole, then its first search.
  await page.reload();
  await page.evaluate(async () => {
    const tw = await import("/pkg/index.js");
    window.client = await tw.Client.open({ server: "http://127.0.0.1:9", profile: "plain" });
    await window.client.history.loaded();
  });
  const loadedMem = (await wasmBytes()) + (await heap());
  const search = await page.evaluate(() => {
    const t = performance.now();
    window.client.history.query({ text: "cargo", mode: "fuzzy", unique: true });
    return performance.now() - t;
  });
  const searchedMem = (await wasmBytes()) + (await heap());
  // And with the index built in steps instead (its sort keeps more at once).
  await page.reload();
  await page.evaluate(async () => {
    const tw = await import("/pkg/index.js");
    window.client = await tw.Client.open({ server: "http://127.0.0.1:9", profile: "plain" });
    await window.client.history.prepare();
  });
  const preparedMem = (await wasmBytes()) + (await heap());

  const unlockRest = r.unlock.map((x, i) => x - r.kdf[i]);
  console.log(`web reopen: ${n} history entries, to first results, medians of ${runs} (range)`);
  console.log(`  plain (no passphrase):      ${median(r.plain).toFixed(0)} ms (${spread(r.plain)})`);
  console.log(`    unique (viewer's default): ${median(r.unique).toFixed(0)} ms (${spread(r.unique)})`);
  console.log(`    whole history loaded:      ${median(r.loaded).toFixed(0)} ms (${spread(r.loaded)}); longest stall meanwhile ${median(r.stall).toFixed(0)} ms (${spread(r.stall)})`);
  console.log(`    search index built in steps once loaded: ${median(r.prepare).toFixed(0)} ms (${spread(r.prepare)}); longest stall meanwhile ${median(r.prepareStall).toFixed(0)} ms (${spread(r.prepareStall)}); then the first search ${median(r.prepared).toFixed(0)} ms`);
  console.log(`  sealed (passphrase vault):  ${median(r.sealed).toFixed(0)} ms (${spread(r.sealed)}), of which unlock ${median(r.unlock).toFixed(0)} ms`);
  console.log(`    Argon2id alone:           ${median(r.kdf).toFixed(0)} ms (${spread(r.kdf)})`);
  console.log(`    opening sealed pages etc: ${median(unlockRest).toFixed(0)} ms`);
  console.log(`  sealed / plain: ${(median(r.sealed) / median(r.plain)).toFixed(2)}x`);
  console.log(`  first search once loaded (fuzzy "cargo", one row per command; builds the index in one go): ${search.toFixed(0)} ms`);
  console.log(`  tab memory (wasm + JS heap): ${mb(loadedMem)} MB with the history loaded, ${mb(searchedMem)} MB after the first search (${mb(preparedMem)} MB after the index built in steps)`);
  console.log(`  IndexedDB on disk, the plain profile: ${mb(disk)} MB`);
  console.log(`reopen at ${n}: ${median(r.plain).toFixed(0)} ms`);
  console.log(`index ready at ${n}: ${median(r.prepare).toFixed(0)} ms, longest stall ${median(r.prepareStall).toFixed(0)} ms`);
  console.log(`memory at ${n}: ${mb(Math.max(searchedMem, preparedMem))} MB`);
} finally {
  await browser.close();
  await site.close();
  rmSync(userDir, { recursive: true, force: true });
}
