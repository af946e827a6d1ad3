// History entries out to JS in headless Chromium: serde-wasm-bindgen objects (how the package's
// other results go out) against JSON text through JSON.parse (how history entries go out, as
// this measures faster), in pages of 100 (a query's results, the viewer's typing path) and all
// at once (a sync report's `entries`, the viewer's initial sync). Medians of 5 runs; asserts
// nothing.
//   node tests/bench/web_interop.mjs [entries=100000]
import { inBenchPackage } from "../web/harness.mjs";

const n = Number(process.argv[2] ?? 100_000);
const runs = await inBenchPackage(async (n) => {
  const pkg = await import("/pkg-bench/terrapin_web.js");
  await pkg.default();
  const out = [];
  for (let i = 0; i < 5; i++) out.push(Array.from(pkg.__benchInterop(n, 100)));
  return out;
}, n);
const median = (i) => runs.map((r) => r[i]).sort((a, b) => a - b)[2];
const pages = n / 100;
console.log(`web interop: ${n} history entries out to JS, medians of 5`);
console.log(`  pages of 100: serde-wasm-bindgen ${((median(0) / pages) * 1000).toFixed(0)} µs/page, JSON text ${((median(1) / pages) * 1000).toFixed(0)} µs/page`);
console.log(`  all ${n} at once: serde-wasm-bindgen ${median(2).toFixed(0)} ms, JSON text ${median(3).toFixed(0)} ms`);
