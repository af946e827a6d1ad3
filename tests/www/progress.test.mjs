// A sync's time left (www/src/progress.ts, no DOM: loaded as it is, its types stripped), as the
// status line and the live indicator show it beside "done / total records".
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const src = ts.transpileModule(readFileSync(path.join(root, "www", "src", "progress.ts"), "utf8"), {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
}).outputText;
const { timeLeft } = await import(`data:text/javascript,${encodeURIComponent(src)}`);

test("time left: from the rate so far, once there is one", () => {
  // 100k of 1M in 5 s: 900k more at the same rate is 45 s.
  assert.equal(timeLeft(100_000, 1_000_000, 5_000), "about 45 s left");
  // 10k of 1M in 10 s: 990 s, in minutes.
  assert.equal(timeLeft(10_000, 1_000_000, 10_000), "about 17 min left");
  // No rate yet (nothing done, or under a second in), or nothing left: nothing said.
  assert.equal(timeLeft(0, 1_000_000, 5_000), "");
  assert.equal(timeLeft(5_000, 1_000_000, 400), "");
  assert.equal(timeLeft(1_000_000, 1_000_000, 60_000), "");
});
