// Decrypt + decode throughput of history records in headless Chromium (the wasm package),
// the per-record work of an initial sync. Prints the median of 5 runs.
//   node tests/bench/web_decrypt.mjs [records]
import { inBenchPackage } from "../web/harness.mjs";

const n = Number(process.argv[2] ?? 20000);
const times = await inBenchPackage(async (n) => {
  const pkg = await import("/pkg-bench/terrapin_web.js");
  await pkg.default();
  const out = [];
  for (let i = 0; i < 5; i++) out.push(pkg.__benchDecrypt(n));
  return out;
}, n);
times.sort((a, b) => a - b);
const med = times[2];
console.log(`web decrypt+decode: ${n} history records, median ${med.toFixed(1)} ms = ${Math.round((n / med) * 1000)} records/s (runs: ${times.map((t) => t.toFixed(0)).join(", ")} ms)`);
