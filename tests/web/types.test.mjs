// The package's TypeScript: the source (web/js) type-checks in strict mode and its declarations
// are written to web/pkg, the package's types; the README's usage (web/js/types-check.ts)
// type-checks against those, imported as `terrapin-web`; their error kinds are the Rust side's.
import { deepEqual } from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import ts from "typescript";
import { ensurePackage, root } from "./harness.mjs";

const tsc = (config) =>
  execFileSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "web", config)], { stdio: "inherit" });

test("the source type-checks (tsc --strict) and the documented usage checks against its declarations", () => {
  ensurePackage();
  tsc("tsconfig.json");
  tsc("tsconfig.usage.json");
});

/** The string literals of `TerrapinError['kind']` in the published types (web/pkg/index.d.ts). */
function typedKinds() {
  const entry = path.join(root, "web", "pkg", "index.d.ts");
  const program = ts.createProgram([entry], {
    strict: true,
    noEmit: true,
    types: [],
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  });
  const checker = program.getTypeChecker();
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)));
  let symbol = exported.find((s) => s.name === "TerrapinError");
  if (!symbol) throw new Error("web/pkg/index.d.ts does not export TerrapinError");
  if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const kind = checker.getPropertyOfType(checker.getDeclaredTypeOfSymbol(symbol), "kind");
  if (!kind) throw new Error("TerrapinError has no `kind`");
  const type = checker.getTypeOfSymbol(kind);
  const arms = type.isUnion() ? type.types : [type];
  return arms.map((t) => {
    if (!t.isStringLiteral()) throw new Error(`TerrapinError['kind'] has a member that is not a string literal: ${checker.typeToString(t)}`);
    return t.value;
  });
}

/** The kinds the Rust side makes errors with. */
function rustKinds() {
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
  return [
    ...kindArms(read("web/src/http.rs")),
    ...kindArms(read("web/src/client.rs")),
    ...made(read("web/src/interop.rs")),
    ...made(read("web/legacy/src/lib.rs")),
    ...made(read("web/extras/src/lib.rs")),
    ...made(read("web/extras/src/stores.rs")),
  ];
}

test("the error kinds in the published types are exactly the kinds the Rust side produces", () => {
  const typed = new Set(typedKinds());
  const rust = new Set(rustKinds());
  // Both sides found something: an empty parse would make the comparison pass vacuously.
  deepEqual(typed.size > 10 && rust.size > 10, true, `typed ${[...typed]}, rust ${[...rust]}`);
  deepEqual([...typed].sort(), [...rust].sort());
});
