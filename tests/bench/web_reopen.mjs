// What sealing the decrypted history at rest costs when the page reopens (docs: web/README.md,
// "Passphrase"). One profile of N history entries, reopened to first results, medians of 5:
// - plain: no passphrase; open, then the first query (all runs, and one row per command as the
//   viewer lists by default);
// - sealed: a passphrase vault (Argon2id at its defaults); open, unlock, then the first query.
//   The unlock is split into its Argon2id part (measured alone on an empty profile) and the
//   rest, which is opening the sealed pages.
//   node tests/bench/web_reopen.mjs [entries=100000]
import { ensurePackage, launchBrowser, servePackage } from "../web/harness.mjs";

const n = Number(process.argv[2] ?? 100_000);
const runs = 5;
ensurePackage();
const site = await servePackage();
const browser = await launchBrowser();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(site.url + "/");
  const r = await page.evaluate(async ({ n, runs }) => {
    const tw = await import("/pkg/index.js");
    const server = "http://127.0.0.1:9";
    const fill = async (profile, passphrase) => {
      const c = await tw.Client.open({ server, profile });
      await c.setKey(await tw.generateKey());
      c.setSession("bench");
      const entries = Array.from({ length: n }, (_, i) => ({ command: `make target-${i % 5000} && ./run --flag ${i}`, cwd: `/home/me/src/p${i % 40}`, exit: i % 7 ? 0 : 1, session: `s${i % 300}` }));
      for (let i = 0; i < n; i += 10_000) await c.history.addMany(entries.slice(i, i + 10_000));
      if (passphrase) await c.saveVault(passphrase);
      c.close();
    };
    await fill("plain");
    await fill("sealed", "correct horse battery staple");
    // Argon2id alone: a vault over an empty profile.
    const empty = await tw.Client.open({ server, profile: "empty" });
    await empty.setKey(await tw.generateKey());
    empty.setSession("bench");
    await empty.saveVault("correct horse battery staple");
    empty.close();
    const out = { plain: [], unique: [], sealed: [], unlock: [], kdf: [], count: [] };
    for (let run = 0; run < runs; run++) {
      let t = performance.now();
      const p = await tw.Client.open({ server, profile: "plain" });
      const first = p.history.query({ text: "" });
      out.plain.push(performance.now() - t);
      out.count.push(first.total ?? first.entries.length);
      p.close();

      // The viewer's default view: one row per distinct command.
      t = performance.now();
      const q = await tw.Client.open({ server, profile: "plain" });
      const rows = q.history.query({ text: "", unique: true });
      out.unique.push(performance.now() - t);
      if (rows.entries.length === 0 || rows.entries[0].runs === undefined) throw new Error("unique listing without rows or runs");
      q.close();

      t = performance.now();
      const s = await tw.Client.open({ server, profile: "sealed" });
      const u = performance.now();
      await s.unlock("correct horse battery staple");
      out.unlock.push(performance.now() - u);
      const sealedFirst = s.history.query({ text: "" });
      out.sealed.push(performance.now() - t);
      if (sealedFirst.entries.length === 0) throw new Error("sealed profile shows nothing after unlock");
      s.close();

      const e = await tw.Client.open({ server, profile: "empty" });
      t = performance.now();
      await e.unlock("correct horse battery staple");
      out.kdf.push(performance.now() - t);
      e.close();
    }
    return out;
  }, { n, runs });
  const unlockRest = r.unlock.map((x, i) => x - r.kdf[i]);
  console.log(`web reopen: ${n} history entries, to first results, medians of ${runs} (range)`);
  console.log(`  plain (no passphrase):      ${median(r.plain).toFixed(0)} ms (${spread(r.plain)})`);
  console.log(`    unique (viewer's default): ${median(r.unique).toFixed(0)} ms (${spread(r.unique)})`);
  console.log(`  sealed (passphrase vault):  ${median(r.sealed).toFixed(0)} ms (${spread(r.sealed)}), of which unlock ${median(r.unlock).toFixed(0)} ms`);
  console.log(`    Argon2id alone:           ${median(r.kdf).toFixed(0)} ms (${spread(r.kdf)})`);
  console.log(`    opening sealed pages etc: ${median(unlockRest).toFixed(0)} ms`);
  console.log(`  sealed / plain: ${(median(r.sealed) / median(r.plain)).toFixed(2)}x`);
} finally {
  await browser.close();
  await site.close();
}
