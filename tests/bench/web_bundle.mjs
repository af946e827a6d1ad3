// Bundle size of the npm package: wasm + JS, raw and gzip (level 9). Goal: gzip <= 250 KB.
//   node tests/bench/web_bundle.mjs
import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { ensurePackage, webDir } from "../web/harness.mjs";

ensurePackage();
const files = ["pkg/terrapin_web_bg.wasm", "pkg/index.js"];
let raw = 0;
let gz = 0;
for (const f of files) {
  const b = readFileSync(path.join(webDir, f));
  const g = gzipSync(b, { level: 9 }).length;
  raw += b.length;
  gz += g;
  console.log(`${f}: ${b.length} bytes, gzip ${g}`);
}
console.log(`bundle: ${raw} bytes, gzip ${gz} bytes (${(gz / 1024).toFixed(1)} KiB; goal 250 KB)`);
