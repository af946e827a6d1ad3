// P3 through the package: `history.query` over N history entries (default 100k) in headless
// Chromium, for a fixed list of realistic queries (single letters, two-letter prefixes, long
// fuzzy patterns, words matching almost everything and nothing), each in every mode, with and
// without filters, unique and every run. Each (query, mode, filters, view) runs cold (after
// another query, with no filters: nothing is narrowed from it; the index's run counts for a set
// of filters, kept while one types, stay) `reps` times. Prints p50/p95 over all, the slowest
// cases, and the P3 lines. Asserts nothing. Every filter cold: tests/bench/core-bench's search.
//   node tests/bench/web_search.mjs [entries=100000] [reps=5]
import { ensurePackage, launchBrowser, servePackage } from "../web/harness.mjs";

const n = Number(process.argv[2] ?? 100_000);
const reps = Number(process.argv[3] ?? 5);
const TEXTS = [
  // single letters and two-letter prefixes
  "g", "c", "d", "k", "l", "s", "v", "m", "gi", "ca", "do", "ku", "ls", "ss", "vi", "ma", "np", "cu",
  // words and commands people search for
  "git", "git commit", "git push origin", "cargo test", "cargo build --release", "docker run", "docker ps -a",
  "kubectl get pods", "kubectl logs -f", "ssh deploy", "npm run build", "npm install", "grep -r TODO", "make -j4",
  "vim", "curl", "python3 -m", "cd ~/src", "ls -la", "rm -rf",
  // long fuzzy-style patterns
  "gco main", "kgp prod", "dkr rn", "crgtst", "gitcmtam", "kubectl describe pod web", "docker compose up -d --build",
  // matching almost everything, and nothing
  "e", " ", "/", "-", "zzzqqq", "xyzzy-nothing", "no-such-command-anywhere",
];
const MODES = ["full-text", "prefix", "fuzzy"];
const FILTERS = [["", {}], ["exit=0", { exit: 0 }], ["cwd+host", { cwd: "/home/me/src/p3", host: "laptop" }]];
const VIEWS = [["unique", true], ["all", false]];

ensurePackage();
const site = await servePackage();
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(site.url + "/");
  const cases = [];
  for (const text of TEXTS) for (const mode of MODES) for (const [fname, filters] of FILTERS) for (const [vname, unique] of VIEWS) cases.push({ text, mode, fname, filters, vname, unique });
  const times = await page.evaluate(async ({ n, reps, cases }) => {
    const tw = await import("/pkg/index.js");
    const c = await tw.Client.open({ server: "http://127.0.0.1:9", profile: "search" });
    await c.setKey(await tw.generateKey());
    const words = ["git commit -m 'fix'", "git push origin main", "git status", "cargo test -p core", "cargo build --release", "docker run --rm -it alpine", "docker ps -a", "kubectl get pods -n prod", "kubectl logs -f web-1", "ssh deploy@prod-3", "npm run build", "npm install", "grep -r TODO src", "make -j4", "vim notes.md", "curl -s https://api.example.com/items/77", "python3 -m http.server", "cd ~/src/terrapin", "ls -la", "rm -rf target"];
    const entry = (i) => ({
      command: i % 7 === 0 ? `${words[i % words.length]} ${i}` : words[i % words.length],
      cwd: `/home/me/src/p${i % 40}`,
      exit: i % 9 ? 0 : 1,
      session: `s${i % 300}`,
      hostname: `${["laptop", "server", "ci"][i % 3]}:me`,
    });
    for (let i = 0; i < n; i += 10_000) {
      await c.history.addMany(Array.from({ length: Math.min(10_000, n - i) }, (_, j) => entry(i + j)));
    }
    // The page settles before timing, as a viewer does between loading and typing: the
    // collection of what filling it left behind is not a query's time.
    await new Promise((r) => setTimeout(r, 3000));
    const out = [];
    for (const k of cases) {
      const t = [];
      for (let r = 0; r < reps; r++) {
        c.history.query({ text: "warm-other-query", limit: 100 });
        const s = performance.now();
        c.history.query({ text: k.text, mode: k.mode, unique: k.unique, limit: 100, ...k.filters });
        t.push(performance.now() - s);
      }
      out.push(t);
    }
    return out;
  }, { n, reps, cases });
  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  };
  const all = times.flat();
  const per = cases.map((k, i) => ({ name: `${JSON.stringify(k.text)} ${k.mode} ${k.fname || "no filter"} ${k.vname}`, p95: pct(times[i], 95) })).sort((a, b) => b.p95 - a.p95);
  console.log(`web search: ${n} entries, ${TEXTS.length} texts × ${MODES.length} modes × ${FILTERS.length} filter sets × 2 views = ${cases.length} queries, ${reps} cold runs each`);
  console.log(`  all runs: p50 ${pct(all, 50).toFixed(2)} ms, p95 ${pct(all, 95).toFixed(2)} ms`);
  console.log("  slowest queries (p95 of their runs):");
  for (const q of per.slice(0, 8)) console.log(`    ${q.p95.toFixed(2)} ms  ${q.name}`);
  const over = per.filter((q) => q.p95 > 16).length;
  console.log(`  queries over 16 ms at p95: ${over} of ${cases.length}`);
  const p95 = pct(per.map((q) => q.p95), 95).toFixed(2);
console.log(`P3 search p95 over ${cases.length} queries: ${p95} ms (worst: ${per[0].name} ${per[0].p95.toFixed(2)} ms)`);
// Issue 28's line: the same figure with the number of entries.
console.log(`P3 search p95 over ${cases.length} queries at ${n}: ${p95} ms`);
} finally {
  await browser.close();
  await site.close();
}
