#!/usr/bin/env node
// The sync server as a user meets it: the real atuin CLI against what `make dev` serves
// (scripts/dev.sh: workerd via Miniflare, local D1 and Durable Objects), with atuin-server
// 18.24.4 on SQLite as the anchor, started by this script in the same run. Prints medians and
// ratios, and each server's CPU (its process group) during the push and the pull.
//
//   P2  push: `atuin sync` on a host holding N imported history entries (its record store built
//       first with `atuin history init-store`, untimed); pull: `atuin sync` on a second, empty
//       host logged in with the key. Runs alternate between the servers. The pull is also
//       timed to its download's end (when host b's record store last grew): the rest is the
//       CLI building its history from the records, alone on the machine, whichever server.
//       `make dev` answers uncompressed; `--vars COMPRESS_ANSWERS:true` adds Miniflare's
//       emulation of Cloudflare's compression.
//   C1  rows written by that push and rows read by that pull on Terrapin (D1 + the account's
//       store), from the worker's per-request row counts (LOG_ROW_COUNTS).
//       The download alone, fetched the same way by this script (the server's share of a pull).
//   P4  status latency with 1k records stored vs 1M, both in 4 series (medians of 101 requests
//       each, alternating, plain HTTP).
//
// Usage: ATUIN_BIN=… ATUIN_SERVER_BIN=… node tests/bench/edge_atuin.mjs
//          [--records 100000] [--runs 3] [--page-sizes 100,1000] [--vars NAME:VALUE,…]
//          [--big 1000000] [--skip-status]
// Without ATUIN_BIN the CLI rows are skipped (and said so); without ATUIN_SERVER_BIN the anchor.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { cliAccount, cliLogin, freePort, groupCpu, historyCount, startAtuinServer, stopChild, waitUp, writeBashHistory } from "../atuin-host.mjs";
import { Api, series, username, uuid } from "../edge/client.mjs";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const N = Number(arg("records", 100_000));
const RUNS = Number(arg("runs", 3));
const PAGE_SIZES = String(arg("page-sizes", "")).split(",").filter(Boolean).map(Number);
const EXTRA_VARS = String(arg("vars", "")).split(",").filter(Boolean); // e.g. MAX_RECORDS_PER_BATCH:2000
const BIG = Number(arg("big", 1_000_000));
const ATUIN = process.env.ATUIN_BIN;
const SERVER = process.env.ATUIN_SERVER_BIN;
const scratch = mkdtempSync(path.join(tmpdir(), "terrapin-bench-"));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

/** `make dev`'s main job on a free port with fresh state; collects its row-count log lines. */
async function startTerrapin(pageSize) {
  const port = await freePort();
  const persist = mkdtempSync(path.join(scratch, "edge-"));
  const extra = ["--var", "LOG_ROW_COUNTS:true"];
  if (pageSize) extra.push("--var", `PAGE_SIZE:${pageSize}`);
  for (const v of EXTRA_VARS) extra.push("--var", v);
  const child = spawn(path.join(root, "scripts", "dev.sh"), extra, {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORT: String(port), TERRAPIN_EDGE_PERSIST: persist, CI: "true" },
  });
  const rows = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      const m = line.match(/rows op=(\w+) d1_read=(\d+) d1_written=(\d+) store_read=(\d+) store_written=(\d+)/);
      if (m) rows.push({ op: m[1], read: +m[2] + +m[4], written: +m[3] + +m[5] });
    });
  }
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child, "scripts/dev.sh");
  /** Bytes of the largest account store on disk (its Durable Object's SQLite file and WAL). */
  const storeBytes = () => {
    const sizes = {};
    const visit = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) visit(p);
        else if (p.includes("UserStore") && /\.sqlite(-wal)?$/.test(e.name)) {
          const base = p.replace(/-wal$/, "");
          sizes[base] = (sizes[base] ?? 0) + statSync(p).size;
        }
      }
    };
    visit(persist);
    return Math.max(0, ...Object.values(sizes));
  };
  return {
    url, rows, storeBytes, cpu: () => groupCpu(child),
    name: `terrapin${pageSize ? ` (page size ${pageSize})` : ""}`, stop: () => stopChild(child),
  };
}

const histfile = path.join(scratch, "bash_history");
writeBashHistory(histfile, N);

/** One push and one pull of N entries with the real CLI; returns seconds and Terrapin's rows. */
async function cliRound(server) {
  const account = await cliAccount(server.url, scratch, histfile);
  const mark = () => server.rows?.length ?? 0;
  const sum = (from, to, key) => server.rows?.slice(from, to).reduce((s, r) => s + r[key], 0);
  let at = mark();
  let c = server.cpu();
  const { seconds: push, cpu: pushCpu } = await account.host.atuinTimed("sync");
  const pushServerCpu = server.cpu() - c;
  const pushWritten = sum(at, mark(), "written");
  const bytes = server.storeBytes?.();
  const b = await cliLogin(server.url, scratch, account);
  at = mark();
  c = server.cpu();
  // The download's end: when host b's record store last grew (its history is built after).
  const store = ["records.db", "records.db-wal"].map((f) => path.join(b.home, ".local", "share", "atuin", f));
  const t0 = performance.now();
  let size = 0;
  let downloaded = 0;
  const sampler = setInterval(() => {
    const now = store.reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0);
    if (now !== size) [size, downloaded] = [now, (performance.now() - t0) / 1000];
  }, 20);
  const { seconds: pull, cpu: pullCpu } = await b.atuinTimed("sync").finally(() => clearInterval(sampler));
  const pullServerCpu = server.cpu() - c;
  const pullRead = sum(at, mark(), "read");
  const got = await historyCount(b);
  if (got !== N) throw new Error(`${server.name}: host b holds ${got} of ${N} entries`);
  return { push, pull, downloaded, pushCpu, pullCpu, pushServerCpu, pullServerCpu, pushWritten, pullRead, bytes };
}

async function cliBench() {
  if (!ATUIN) {
    console.log("# ATUIN_BIN is not set: skipping the atuin CLI push/pull (P2, C1)");
    return;
  }
  console.log(`# atuin CLI: ${(await run(ATUIN, ["--version"])).stdout.trim()}, ${N} history entries, ${RUNS} runs each, interleaved`);
  const anchor = SERVER ? await startAtuinServer(scratch) : null;
  if (!anchor) console.log("# ATUIN_SERVER_BIN is not set: no anchor, no ratios");
  try {
    for (const pageSize of PAGE_SIZES.length ? PAGE_SIZES : [undefined]) {
      const terrapin = await startTerrapin(pageSize);
      const caps = await (await fetch(`${terrapin.url}/api/v0/capabilities`)).json();
      const advertised = caps.capabilities["sh.atuin.server/records.page_size"].page_size;
      const res = { [terrapin.name]: [], ...(anchor ? { [anchor.name]: [] } : {}) };
      try {
        for (let i = 0; i < RUNS; i++) {
          for (const s of anchor ? [anchor, terrapin] : [terrapin]) res[s.name].push(await cliRound(s));
        }
      } finally {
        await terrapin.stop();
      }
      const t = res[terrapin.name];
      const line = (name, xs) =>
        `  ${name.padEnd(30)} push ${median(xs.map((x) => x.push)).toFixed(2)} s (${spread(xs.map((x) => x.push))})` +
        `   pull ${median(xs.map((x) => x.pull)).toFixed(2)} s (${spread(xs.map((x) => x.pull))};` +
        ` downloaded at ${median(xs.map((x) => x.downloaded)).toFixed(2)} s)` +
        `   [CLI CPU: push ${median(xs.map((x) => x.pushCpu)).toFixed(2)} s, pull ${median(xs.map((x) => x.pullCpu)).toFixed(2)} s;` +
        ` server CPU: push ${median(xs.map((x) => x.pushServerCpu)).toFixed(2)} s, pull ${median(xs.map((x) => x.pullServerCpu)).toFixed(2)} s]`;
      console.log(`terrapin advertising page size ${advertised}:`);
      if (anchor) console.log(line(anchor.name, res[anchor.name]));
      console.log(line(terrapin.name, t));
      if (anchor) {
        const a = res[anchor.name];
        console.log(
          `  P2 ratio terrapin / atuin-server: push ${(median(t.map((x) => x.push)) / median(a.map((x) => x.push))).toFixed(2)}× (goal ≤ 0.5)` +
          `, pull ${(median(t.map((x) => x.pull)) / median(a.map((x) => x.pull))).toFixed(2)}× (goal ≤ 1.0)` +
          `; the pull's download alone ${(median(t.map((x) => x.downloaded)) / median(a.map((x) => x.downloaded))).toFixed(2)}×`,
        );
      }
      const w = median(t.map((x) => x.pushWritten));
      const r = median(t.map((x) => x.pullRead));
      console.log(
        `  C1 rows: push wrote ${w} (${((100 * w) / N).toFixed(2)} % of ${N}), pull read ${r} (${((100 * r) / N).toFixed(2)} %) (goal ≤ 2 % each)`,
      );
      const b = median(t.map((x) => x.bytes));
      console.log(`  the account's store after the push: ${(b / 1e6).toFixed(1)} MB on disk (${(b / N).toFixed(0)} bytes per record)`);
    }
  } finally {
    await anchor?.stop();
  }
}

/** Status latency with 1k vs BIG records stored, against the same dev server. */
async function statusBench() {
  const terrapin = await startTerrapin();
  try {
    const api = new Api(terrapin.url);
    const ok = (r) => {
      if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
    };
    // The download alone, as atuin fetches (pages of the advertised size, 8 in flight, gzip
    // accepted, and used if COMPRESS_ANSWERS), of N records of a history record's size: the
    // server's share of a pull.
    {
      const caps = await (await fetch(`${terrapin.url}/api/v0/capabilities`)).json();
      const page = caps.capabilities["sh.atuin.server/records.page_size"].page_size;
      const token = await api.register(username("dl"));
      const host = uuid();
      const data = `v4.local.${Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7919) % 251)).toString("base64url")}`;
      for (let i = 0; i < N; i += page) ok(await api.push(token, series(host, "history", i, Math.min(N, i + page) - 1, { data })));
      const times = [];
      for (let round = 0; round < 5; round++) {
        const starts = [];
        for (let at = 0; at < N; at += page) starts.push(at);
        const t = performance.now();
        let got = 0;
        await Promise.all(Array.from({ length: 8 }, async () => {
          while (starts.length) {
            const start = starts.shift();
            const r = await fetch(`${terrapin.url}/api/v0/record/next?host=${host}&tag=history&start=${start}&count=${page}`,
              { headers: { Authorization: `Token ${token}`, "Accept-Encoding": "gzip" } });
            const page_ = await r.json();
            if (!Array.isArray(page_)) throw new Error(`next: ${r.status} ${JSON.stringify(page_)}`);
            got += page_.length;
          }
        }));
        if (got !== N) throw new Error(`downloaded ${got} of ${N}`);
        times.push((performance.now() - t) / 1000);
      }
      console.log(`download alone: ${N} records in pages of ${page}, 8 in flight: median ${median(times).toFixed(2)} s (${spread(times)})`);
    }
    // Two accounts with the same shape (4 hosts, one history series each): 1k records and BIG.
    const load = async (total) => {
      const token = await api.register(username("status"));
      const per = total / 4;
      for (const host of [uuid(), uuid(), uuid(), uuid()]) {
        for (let i = 0; i < per; i += 1000) {
          ok(await api.push(token, series(host, "history", i, Math.min(per, i + 1000) - 1, { data: "v4.local.x" })));
        }
      }
      return token;
    };
    const small = await load(1000);
    const t0 = performance.now();
    const big = await load(BIG);
    const loaded = (performance.now() - t0) / 1000;
    // Samples alternate between the two, so drift on the machine hits both alike.
    const s1 = [];
    const sBig = [];
    for (let i = 0; i < 101; i++) {
      for (const [token, out] of [[small, s1], [big, sBig]]) {
        const t = performance.now();
        ok(await api.status(token));
        out.push(performance.now() - t);
      }
    }
    console.log(
      `P4 status median: ${median(s1).toFixed(2)} ms at 1k records, ${median(sBig).toFixed(2)} ms at ${BIG} ` +
      `(ratio ${(median(sBig) / median(s1)).toFixed(2)}, goal ≤ 1.2; p10–p90 ${spread(s1.sort((a, b) => a - b).slice(10, 91))} / ` +
      `${spread(sBig.sort((a, b) => a - b).slice(10, 91))} ms, 101 each, alternating; loading ${BIG} took ${loaded.toFixed(0)} s)`,
    );
  } finally {
    await terrapin.stop();
  }
}

try {
  await cliBench();
  if (!process.argv.includes("--skip-status")) await statusBench();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
