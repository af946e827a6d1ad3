// IndexedDB record store throughput alone (no network, no decryption): append N encrypted
// records in pages of 1000 into an empty profile, then read them all back. Medians of 3.
//   node tests/bench/web_store.mjs [records=100000]
import { ensurePackage, launchBrowser, servePackage } from "../web/harness.mjs";

const n = Number(process.argv[2] ?? 100_000);
ensurePackage();
const site = await servePackage();
const browser = await launchBrowser();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(site.url + "/");
  const r = await page.evaluate(async (n) => {
    const tw = await import("/pkg/index.js");
    // Records made by the package itself (encrypted history), exported as wire JSON.
    const seed = await tw.Client.open({ server: "http://127.0.0.1:9", profile: "seed" });
    await seed.setKey(await tw.generateKey());
    const entries = Array.from({ length: n }, (_, i) => ({ command: `make target-${i} && ./run --flag ${i}`, cwd: "/home/me/src", exit: 0, session: "s" }));
    await seed.history.addMany(entries);
    const json = await seed.exportRecords();
    const append = [];
    const read = [];
    for (let run = 0; run < 3; run++) {
      const c = await tw.Client.open({ server: "http://127.0.0.1:9", profile: `store-${run}` });
      let t = performance.now();
      await c.importRecords(json); // no key: records only, pages of 1000
      append.push(performance.now() - t);
      t = performance.now();
      const back = await c.exportRecords();
      read.push(performance.now() - t);
      if (back.length !== json.length) throw new Error("read back differs");
      c.close();
      await tw.deleteProfile(`store-${run}`);
    }
    return { append, read, bytes: json.length };
  }, n);
  console.log(
    `web store: ${n} records (${(r.bytes / 1e6).toFixed(1)} MB of wire JSON): append in pages of 1000 median ${median(r.append).toFixed(0)} ms, read all median ${median(r.read).toFixed(0)} ms (append runs ${r.append.map((x) => x.toFixed(0)).join(", ")} ms)`,
  );
} finally {
  await browser.close();
  await site.close();
}
