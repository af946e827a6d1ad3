// The package's TypeScript types: the README's usage (web/js/types-check.ts) type-checks
// against web/js/index.d.ts in strict mode.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { root } from "./harness.mjs";

test("index.d.ts type-checks the documented usage (tsc --strict)", () => {
  execFileSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "web", "tsconfig.json")], { stdio: "inherit" });
});
