// Points the standard library's `<f64 as Display>::fmt` at the package's own
// (web/src/float.rs: zmij's shortest round-trip text, which serde_json carries anyway), in place,
// before wasm-opt, which then drops the standard library's float formatting and its tables
// (web/README.md, "Bundle size"):
//   node web/float-display.mjs FILE.wasm
// Fails if either function is missing (another toolchain or dependency: look again), and removes
// the export that let it find ours. Needs the module's name section (wasm-bindgen keeps it).
import { readFileSync, writeFileSync } from "node:fs";
import binaryen from "binaryen";

const file = process.argv[2];
const OURS = "terrapin_f64_display";
binaryen.setDebugInfo(true); // keep the names: wasm-opt orders functions by them
const F = binaryen.Features;
const features =
  F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory | F.SignExt | F.ReferenceTypes | F.Multivalue;
const mod = binaryen.readBinary(new Uint8Array(readFileSync(file)), features);
const exported = mod.getExport(OURS);
if (!exported) throw new Error(`${file}: no export ${OURS}`);
const ours = binaryen.getExportInfo(exported).value;
let std;
for (let i = 0; i < mod.getNumFunctions(); i++) {
  const name = binaryen.Function.getName(mod.getFunctionByIndex(i));
  if (/^<f64 as core\[[0-9a-f]+\]::fmt::Display>::fmt$/.test(name)) std = mod.getFunctionByIndex(i);
}
mod.removeExport(OURS);
if (std) {
  const { params, results } = binaryen.getFunctionInfo(std);
  const i32 = binaryen.i32;
  if (params !== binaryen.createType([i32, i32]) || results !== i32) {
    throw new Error(`${file}: <f64 as Display>::fmt has another signature`);
  }
  binaryen.Function.setBody(
    std,
    mod.call(ours, [mod.local.get(0, i32), mod.local.get(1, i32)], i32),
  );
}
writeFileSync(file, mod.emitBinary());
mod.dispose();
console.log(`web: f64 Display ${std ? "is zmij's" : "is not used"} in ${file.split("/").pop()}`);
