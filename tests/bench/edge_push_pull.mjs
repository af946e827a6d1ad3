#!/usr/bin/env node
// Benchmark of the edge worker (workerd + local D1, as in tests/edge): prints medians.
//   - password hash cost: login round trip minus an authenticated no-op round trip;
//   - push then pull of N history records (default 100k), 100 records per request as atuin
//     does (push serial, pull serial and 8 pages in flight like atuin 18.24);
//   - status latency with 1k and with 1M stored records (the 1M are bulk-loaded through D1).
//   - with ATUIN_BIN set: the same push and pull with the real atuin CLI (`atuin store push` on
//     one host after importing N commands, `atuin store pull` on a second host).
// Usage: [ATUIN_BIN=…] node tests/bench/edge_push_pull.mjs [--records 100000] [--big 1000000]
// Anchor (atuin 18.24.4 CLI + atuin-server 18.24.4 on SQLite, this machine): push 4.2 s,
// pull 7.1 s for 100k.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startWorker } from "../edge/harness.mjs";
import { Api, series, username, uuid } from "../edge/client.mjs";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg("records", 100_000);
const BIG = arg("big", 1_000_000);
const PAGE = 100;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
async function timeIt(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
async function samples(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await timeIt(fn));
  return out;
}
const ms = (x) => `${x.toFixed(1)} ms`;
const check = (r) => {
  if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
  return r;
};

const worker = await startWorker();
const api = new Api(worker.url);
try {
  // password hash cost
  const name = username("bench");
  const password = "bench password";
  const token = await api.register(name, password);
  const login = await samples(15, async () => check(await api.req("POST", "/login", { body: { username: name, password } })));
  const me = await samples(15, async () => check(await api.req("GET", "/api/v0/me", { token })));
  console.log(`login round trip median ${ms(median(login))}; authenticated no-op median ${ms(median(me))}; ` +
    `PBKDF2-SHA256 (100000 it.) cost ~ ${ms(median(login) - median(me))}`);

  // push then pull
  const host = uuid();
  const recs = series(host, "history", 0, N - 1);
  const pushMs = await timeIt(async () => {
    for (let i = 0; i < N; i += PAGE) check(await api.push(token, recs.slice(i, i + PAGE)));
  });
  console.log(`push ${N} records, ${PAGE}/request, serial: ${(pushMs / 1000).toFixed(2)} s (anchor 4.2 s / 100k)`);
  let got = 0;
  const pullSerialMs = await timeIt(async () => {
    for (let start = 0; start < N; start += PAGE) {
      got += check(await api.next(token, { host, tag: "history", start, count: PAGE })).json.length;
    }
  });
  if (got !== N) throw new Error(`pulled ${got} of ${N}`);
  console.log(`pull ${N} records, ${PAGE}/request, serial: ${(pullSerialMs / 1000).toFixed(2)} s (anchor 7.1 s / 100k)`);
  got = 0;
  const pullParMs = await timeIt(async () => {
    const starts = [];
    for (let s = 0; s < N; s += PAGE) starts.push(s);
    for (let i = 0; i < starts.length; i += 8) {
      const pages = await Promise.all(starts.slice(i, i + 8).map((start) => api.next(token, { host, tag: "history", start, count: PAGE })));
      for (const p of pages) got += check(p).json.length;
    }
  });
  if (got !== N) throw new Error(`pulled ${got} of ${N}`);
  console.log(`pull ${N} records, ${PAGE}/request, 8 in flight (as atuin): ${(pullParMs / 1000).toFixed(2)} s`);

  // status latency at 1k and at BIG stored records
  const small = await api.register(username("small"));
  const h1 = uuid();
  for (let i = 0; i < 1000; i += PAGE) check(await api.push(small, series(h1, "history", i, i + PAGE - 1)));
  const s1k = await samples(51, async () => check(await api.status(small)));
  const bigToken = await api.register(username("big"));
  const bigName = (await api.req("GET", "/api/v0/me", { token: bigToken })).json.username;
  const db = await worker.mf.getD1Database("DB");
  const { id: uid } = await db.prepare("SELECT id FROM users WHERE username = ?1").bind(bigName).first();
  const hosts = [uuid(), uuid(), uuid(), uuid()];
  const loadMs = await timeIt(async () => {
    const per = BIG / hosts.length;
    for (const h of hosts) {
      for (let from = 0; from < per; from += 50_000) {
        const to = Math.min(per, from + 50_000) - 1;
        await db.prepare(
          `WITH RECURSIVE n(i) AS (SELECT ?3 UNION ALL SELECT i + 1 FROM n WHERE i < ?4)
           INSERT INTO records (user_id, host, tag, idx, id, timestamp, version, data, cek)
           SELECT ?1, ?2, 'history', i, printf('00000000-0000-7000-8000-%012d', i), 1700000000000000000 + i, 'v0',
                  'v4.local.' || hex(randomblob(300)), '{"wpk":"k4.local-wrap.pie.x","kid":"k4.lid.y"}' FROM n`,
        ).bind(uid, h, from, to).run();
      }
      await db.prepare("INSERT INTO store_idx_cache (user_id, host, tag, idx) VALUES (?1, ?2, 'history', ?3)").bind(uid, h, per - 1).run();
    }
  });
  const count = (await db.prepare("SELECT count(*) AS c FROM records WHERE user_id = ?1").bind(uid).first()).c;
  const sBig = await samples(51, async () => check(await api.status(bigToken)));
  console.log(`status median: ${ms(median(s1k))} at 1k records; ${ms(median(sBig))} at ${count} records ` +
    `(ratio ${(median(sBig) / median(s1k)).toFixed(2)}; bulk load took ${(loadMs / 1000).toFixed(1)} s)`);

  if (process.env.ATUIN_BIN) await atuinCli();
} finally {
  await worker.dispose();
}

async function atuinCli() {
  const run = promisify(execFile);
  const scratch = mkdtempSync(path.join(tmpdir(), "terrapin-bench-atuin-"));
  const host = (name) => {
    const home = path.join(scratch, name);
    const config = path.join(home, ".config", "atuin");
    mkdirSync(config, { recursive: true });
    writeFileSync(path.join(config, "config.toml"),
      `sync_address = "${worker.url}"\nauto_sync = false\nupdate_check = false\n[sync]\nrecords = true\n[daemon]\nenabled = false\n`);
    const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"),
      XDG_DATA_HOME: path.join(home, ".local", "share"), ATUIN_CONFIG_DIR: config, ATUIN_HOST_NAME: name,
      ATUIN_HOST_USER: "bench", ATUIN_SESSION: randomUUID().replaceAll("-", ""), TERM: "dumb", NO_COLOR: "1" };
    return (...args) => {
      const extra = typeof args[args.length - 1] === "object" ? args.pop() : {};
      return run(process.env.ATUIN_BIN, args, { env: { ...env, ...extra }, maxBuffer: 256 << 20 });
    };
  };
  try {
    const user = username("cli");
    const a = host("a");
    const b = host("b");
    const histfile = path.join(scratch, "bash_history");
    writeFileSync(histfile, Array.from({ length: N }, (_, i) => `echo bench-${i}`).join("\n") + "\n");
    await a("register", "-u", user, "-e", `${user}@example.test`, "-p", "pw");
    await a("import", "bash", { HISTFILE: histfile });
    await a("history", "init-store");
    const pushMs = await timeIt(() => a("store", "push"));
    const key = (await a("key")).stdout.trim();
    await b("login", "-u", user, "-p", "pw", "-k", key);
    const pullMs = await timeIt(() => b("store", "pull"));
    console.log(`atuin CLI (${process.env.ATUIN_BIN}): store push ${N}: ${(pushMs / 1000).toFixed(2)} s; ` +
      `store pull ${N}: ${(pullMs / 1000).toFixed(2)} s (anchor 4.2 s / 7.1 s)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
