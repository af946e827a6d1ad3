// P1: initial sync of N history records into an empty browser profile (pull, decrypt, store,
// history build) in headless Chromium from the local worker, against the native anchor: the
// real atuin CLI pulling N records from atuin-server in the same run.
// - Native (when ATUIN_BIN and ATUIN_SERVER_BIN are set): atuin-server on SQLite on a free port;
//   one CLI host imports N bash entries and pushes them; then `atuin sync` on a fresh, empty
//   host logged in with the key is timed, `runs` times.
// - Browser: N entries pushed once through the package to a worker; then, for each page size, a
//   worker on the same state advertising that page size (vars PAGE_SIZE and MAX_PAGE_SIZE) and
//   `sync()` timed in fresh profiles (own IndexedDB each), `runs` times. The page is served
//   from the worker's origin, as the viewer is (`cross` as the 4th argument: from another
//   origin, where every request also costs a CORS preflight: Chromium keeps them per URL).
//   The package downloads over the worker's page socket (docs/PROTOCOL.md §2, "Pages over the
//   socket"); `http` as the 5th argument takes WebSocket away, so every page is a request.
// Each browser run also reopens the profile (`reopen at N: X ms`: open to first results; the
// rest of the history is folded in after) and reads the tab's memory after the sync (wasm memory
// + JS heap) and IndexedDB's size (storage estimate); the native anchor prints the size of the
// pulling host's history.db.
// Prints medians, then one line per page size: `P1 page N: browser X s, native Y s, ratio R`.
//   [ATUIN_BIN=… ATUIN_SERVER_BIN=…] node tests/bench/web_sync.mjs [records=100000] [runs=3] [pageSizes=100,1000] [same|cross] [socket|http]
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cliAccount, cliLogin, historyCount, startAtuinServer, writeBashHistory } from "../atuin-host.mjs";
import { startWorker } from "../edge/harness.mjs";
import { ensurePackage, launchBrowser, openProfile, servePackage } from "../web/harness.mjs";

const n = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 3);
const pageSizes = (process.argv[4] ?? "100,1000").split(",").map(Number);
const crossOrigin = process.argv[5] === "cross";
const httpOnly = process.argv[6] === "http";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (xs) => xs.map((t) => t.toFixed(2)).join(", ");
const scratch = mkdtempSync(path.join(tmpdir(), "terrapin-bench-"));

/** Median seconds of the atuin CLI's initial pull of `n` entries from atuin-server, or null. */
async function nativePull() {
  if (!process.env.ATUIN_BIN || !process.env.ATUIN_SERVER_BIN) {
    console.log("# ATUIN_BIN and ATUIN_SERVER_BIN are not both set: no native anchor, no ratios");
    return null;
  }
  const version = execFileSync(process.env.ATUIN_BIN, ["--version"], { encoding: "utf8" }).trim();
  const server = await startAtuinServer(scratch);
  try {
    const histfile = path.join(scratch, "bash_history");
    writeBashHistory(histfile, n);
    const account = await cliAccount(server.url, scratch, histfile);
    const push = await account.host.atuinTimed("sync");
    const pulls = [];
    let historyDb = 0;
    for (let r = 0; r < runs; r++) {
      const host = await cliLogin(server.url, scratch, account);
      pulls.push((await host.atuinTimed("sync")).seconds);
      const got = await historyCount(host);
      if (got !== n) throw new Error(`atuin-server: the pulling host holds ${got} of ${n} entries`);
      // history.db with its WAL, as the CLI leaves them.
      for (const f of ["history.db", "history.db-wal"]) {
        const file = path.join(host.data, f);
        if (existsSync(file)) historyDb += r === 0 ? statSync(file).size : 0;
      }
      rmSync(host.home, { recursive: true, force: true });
    }
    console.log(`native: ${version} from atuin-server, ${n} history entries: push ${push.seconds.toFixed(2)} s; initial pull median ${median(pulls).toFixed(2)} s (runs: ${secs(pulls)} s); the pulling host's history.db ${(historyDb / 1e6).toFixed(0)} MB`);
    return median(pulls);
  } finally {
    await server.stop();
  }
}

/** Median seconds of the browser's initial sync of `n` entries, per page size the worker advertises. */
async function browserSync() {
  ensurePackage();
  const site = await servePackage();
  const browser = await launchBrowser();
  const persist = mkdtempSync(path.join(scratch, "edge-"));
  const username = `bench${Date.now()}`;
  const out = {};
  try {
    let worker = await startWorker({ CORS_ORIGINS: "*" }, { persist });
    const seed = await openProfile(browser, site);
    const t0 = Date.now();
    const key = await seed.eval(
      async ({ server, username, n }) => {
        const c = await window.tw.Client.open({ server, profile: "seed" });
        await c.register({ username, email: `${username}@example.com`, password: "pw" });
        const batch = 10_000;
        for (let i = 0; i < n; i += batch) {
          const entries = [];
          for (let j = i; j < Math.min(n, i + batch); j++) {
            entries.push({ command: `git commit -m 'change ${j}' && cargo test -p crate-${j % 50}`, cwd: `/home/me/src/p${j % 40}`, exit: j % 7 === 0 ? 1 : 0, session: `s${Math.floor(j / 500)}`, hostname: "laptop:me", duration: 1_000_000 * (j % 900) });
          }
          await c.history.addMany(entries);
        }
        await c.sync();
        return c.key();
      },
      { server: worker.url, username, n },
    );
    console.error(`seeded ${n} records through the package in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await seed.context.close();
    await worker.dispose();

    for (const pageSize of pageSizes) {
      worker = await startWorker({ CORS_ORIGINS: "*", PAGE_SIZE: String(pageSize), MAX_PAGE_SIZE: String(pageSize) }, { persist });
      const times = [];
      const reopen = [];
      const memory = [];
      let disk = 0;
      let roads;
      try {
        for (let r = 0; r < runs; r++) {
          const p = await openProfile(browser, site, crossOrigin ? {} : { origin: worker.url });
          const res = await p.eval(
            async ({ server, username, key, httpOnly }) => {
              // Pages counted by the road they came: the page socket (several to a message, one
              // per line) or HTTP requests.
              const seen = { socket: 0, frames: 0, http: 0 };
              const Real = window.WebSocket;
              window.WebSocket = httpOnly
                ? undefined
                : class extends Real {
                    constructor(url, protocols) {
                      super(url, protocols);
                      this.addEventListener("message", (ev) => {
                        const pages = typeof ev.data === "string" ? ev.data.split("\n").filter((l) => l.startsWith('{"type":"page"')).length : 0;
                        seen.socket += pages;
                        seen.frames += pages > 0 ? 1 : 0;
                      });
                    }
                  };
              const realFetch = window.fetch;
              window.fetch = (req, init) => {
                if (String(req.url ?? req).includes("/api/v0/record/next")) seen.http++;
                return realFetch(req, init);
              };
              const c = await window.tw.Client.open({ server, profile: "bench" });
              await c.login({ username, password: "pw", key });
              const t = performance.now();
              const rep = await c.sync();
              const ms = performance.now() - t;
              const count = c.history.count();
              // The tab's wasm memory after the sync (JS heap: CDP, after this returns).
              const wasmBytes = (await window.tw.initialize()).memory.buffer.byteLength;
              const disk = (await navigator.storage.estimate()).usage;
              // Reopening the profile: the views come back from IndexedDB without decrypting;
              // the newest first, the rest after (history.loaded()).
              c.close();
              const t1 = performance.now();
              const again = await window.tw.Client.open({ server, profile: "bench" });
              await again.setKey(key);
              again.history.query({});
              const reopenMs = performance.now() - t1;
              await again.history.loaded();
              if (again.history.count() !== count) throw new Error("reopen lost entries");
              again.close();
              return { ms, rep, count, reopenMs, seen, wasmBytes, disk };
            },
            { server: worker.url, username, key, httpOnly },
          );
          if (res.rep.downloaded !== n || res.count !== n) throw new Error(`bad sync: ${JSON.stringify(res)}`);
          const cdp = await p.context.newCDPSession(p.page);
          const heap = (await cdp.send("Runtime.getHeapUsage")).usedSize;
          memory.push((res.wasmBytes + heap) / 1e6);
          disk = res.disk / 1e6;
          times.push(res.ms / 1000);
          reopen.push(res.reopenMs);
          roads = res.seen;
          await p.context.close();
        }
      } finally {
        await worker.dispose();
      }
      console.log(`browser (${crossOrigin ? "another origin" : "the worker's origin"}): initial sync of ${n} history entries, worker page size ${pageSize}: median ${median(times).toFixed(2)} s (runs: ${secs(times)} s); reopening that profile to first results: median ${median(reopen).toFixed(0)} ms; pages over the socket (in messages) / HTTP (last run): ${roads.socket} (${roads.frames}) / ${roads.http}; tab memory after the sync (wasm + JS heap) median ${median(memory).toFixed(0)} MB; IndexedDB (storage estimate, last run) ${disk.toFixed(0)} MB`);
      console.log(`reopen at ${n}: ${median(reopen).toFixed(0)} ms`);
      out[pageSize] = median(times);
    }
  } finally {
    await browser.close();
    await site.close();
  }
  return out;
}

try {
  const native = await nativePull();
  const browser = await browserSync();
  for (const pageSize of pageSizes) {
    const b = browser[pageSize];
    console.log(`P1 page ${pageSize}: browser ${b.toFixed(2)} s, native ${native?.toFixed(2) ?? "n/a"} s, ratio ${native ? (b / native).toFixed(2) : "n/a"}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
