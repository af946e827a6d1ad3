// The package's TypeScript types: the README's usage (web/js/types-check.ts) type-checks
// against web/js/index.d.ts in strict mode.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { root } from "./harness.mjs";

test("index.d.ts type-checks the documented usage (tsc --strict)", () => {
  execFileSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "web", "tsconfig.json")], { stdio: "inherit" });
});

test("the error kinds in index.d.ts are exactly the kinds the Rust side produces", async () => {
  const { readFileSync } = await import("node:fs");
  const read = (p) => readFileSync(path.join(root, p), "utf8");
  // Kinds are the string arms of the `kind()` functions, and the kinds errors are made with.
  const kindArms = (src) => {
    const out = [];
    for (const body of src.split(/fn kind\(&self\) -> &'static str \{/).slice(1)) {
      const fnBody = body.slice(0, body.indexOf("\n    }\n"));
      for (const m of fnBody.matchAll(/=>\s*(?:[a-z_.()]+\s*)?"([a-z_]+)"/g)) out.push(m[1]);
    }
    return out;
  };
  const made = (src) => [...src.matchAll(/error\("([a-z_]+)"/g)].map((m) => m[1]);
  const rust = new Set([
    ...kindArms(read("web/src/http.rs")),
    ...kindArms(read("web/src/client.rs")),
    ...made(read("web/src/interop.rs")),
    ...made(read("web/legacy/src/lib.rs")),
  ]);
  const dts = read("web/js/index.d.ts");
  const union = dts.slice(dts.indexOf("export interface TerrapinError"), dts.indexOf("export function isTerrapinError"));
  const kindBlock = union.slice(union.indexOf("kind:"), union.indexOf(";", union.indexOf("kind:")));
  const typed = new Set([...kindBlock.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]));
  const { deepEqual } = await import("node:assert/strict");
  deepEqual([...typed].sort(), [...rust].sort());
});
