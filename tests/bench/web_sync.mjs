// P1: initial sync of N history records into an empty browser profile (pull, decrypt, store,
// history build) in headless Chromium from the local worker. Seeds once through the package,
// then times `sync()` in fresh profiles (own IndexedDB each) and prints the medians.
//   node tests/bench/web_sync.mjs [records=100000] [runs=3] [pageSizes=100,1000]
import { setup } from "../web/harness.mjs";

const n = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 3);
const pageSizes = (process.argv[4] ?? "100,1000").split(",").map(Number);
const env = await setup();
const server = env.worker.url;
const username = `bench${Date.now()}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const seed = await env.profile();
  const t0 = Date.now();
  const key = await seed.eval(
    async ({ server, username, n }) => {
      const c = await window.tw.Client.open({ server, profile: "seed", pageSize: 1000 });
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
    { server, username, n },
  );
  console.error(`seeded ${n} records in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await seed.context.close();

  for (const pageSize of pageSizes) {
    const times = [];
    let queries = {};
    const reopen = [];
    for (let r = 0; r < runs; r++) {
      const p = await env.profile();
      const res = await p.eval(
        async ({ server, username, key, pageSize }) => {
          const c = await window.tw.Client.open({ server, profile: "bench", pageSize });
          await c.login({ username, password: "pw", key });
          const t = performance.now();
          const rep = await c.sync();
          const ms = performance.now() - t;
          // Query latency over the synced history (median of 5 each).
          const q = {};
          for (const [name, query] of [
            ["newest 100", {}],
            ["full-text", { text: "cargo crate-7", mode: "full-text" }],
            ["prefix", { text: "git commit -m 'change 99", mode: "prefix" }],
            ["fuzzy", { text: "gcmchg", mode: "fuzzy" }],
            ["cwd+exit filter", { cwd: "/home/me/src/p3", exit: 1 }],
          ]) {
            const ts = [];
            for (let i = 0; i < 5; i++) {
              const t0 = performance.now();
              c.history.query(query);
              ts.push(performance.now() - t0);
            }
            q[name] = ts.sort((a, b) => a - b)[2];
          }
          const count = c.history.count();
          // Reopening the profile: the views come back from IndexedDB without decrypting.
          c.close();
          const t1 = performance.now();
          const again = await window.tw.Client.open({ server, profile: "bench", pageSize });
          await again.setKey(key);
          const reopenMs = performance.now() - t1;
          if (again.history.count() !== count) throw new Error("reopen lost entries");
          return { ms, rep, count, q, reopenMs };
        },
        { server, username, key, pageSize },
      );
      if (res.rep.downloaded !== n || res.count !== n) throw new Error(`bad sync: ${JSON.stringify(res)}`);
      times.push(res.ms);
      queries = res.q;
      reopen.push(res.reopenMs);
      await p.context.close();
    }
    console.log(
      `P1 web initial sync: ${n} history records, page size ${pageSize}: median ${(median(times) / 1000).toFixed(2)} s (runs: ${times.map((t) => (t / 1000).toFixed(2)).join(", ")} s); anchor atuin 18.24.4 CLI 7.1 s`,
    );
    console.log(`reopening that profile (views from IndexedDB, key set): median ${median(reopen).toFixed(0)} ms`);
    console.log(`history query over ${n} entries (median ms): ${Object.entries(queries).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}`);
  }
} finally {
  await env.dispose();
}
