// Decrypt + decode throughput of history records in headless Chromium (the wasm package),
// the per-record work of an initial sync. Prints the median of 5 runs.
//   node tests/bench/web_decrypt.mjs [records]
import { execFileSync } from "node:child_process";
import path from "node:path";
import { launchBrowser, servePackage, webDir } from "../web/harness.mjs";

const n = Number(process.argv[2] ?? 20000);
// The hook lives only in builds with the `bench` feature, made beside the package.
execFileSync(path.join(webDir, "build.sh"), {
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, WEB_FEATURES: "bench", WEB_OUT: path.join(webDir, "pkg-bench") },
});
const site = await servePackage();
const browser = await launchBrowser();
const page = await (await browser.newContext()).newPage();
await page.goto(site.url + "/");
const times = await page.evaluate(async (n) => {
  const pkg = await import("/pkg-bench/terrapin_web.js");
  await pkg.default();
  const out = [];
  for (let i = 0; i < 5; i++) out.push(pkg.__benchDecrypt(n));
  return out;
}, n);
times.sort((a, b) => a - b);
const med = times[2];
console.log(`web decrypt+decode: ${n} history records, median ${med.toFixed(1)} ms = ${Math.round((n / med) * 1000)} records/s (runs: ${times.map((t) => t.toFixed(0)).join(", ")} ms)`);
await browser.close();
await site.close();
