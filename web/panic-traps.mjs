// Turns the standard library's panic entry points into a bare trap, in place:
//   node web/panic-traps.mjs FILE.wasm
// In a wasm32-unknown-unknown build with panic=abort and no panic hook (this package sets none),
// a panic formats its message and location for a stderr that discards them, then traps: the
// caller sees `RuntimeError: unreachable` either way. Trapping at once is what nightly's
// `panic_immediate_abort` does; it is not on stable, so this does it on the linked module,
// before wasm-opt (run after this) drops the message building at every call site and the
// formatting code only panics reached. Needs the module's name section (wasm-bindgen keeps it).
import { readFileSync, writeFileSync } from "node:fs";
import binaryen from "binaryen";

// Functions that never return and only report a panic, by their (v0-mangled) names; `[hash]`
// is the standard library's crate disambiguator.
const crate = (c) => `^${c}\\[[0-9a-f]+\\]::`;
const traps = new RegExp(
  [
    `${crate("core")}panicking::`,
    `${crate("core")}(option|result)::(unwrap|expect)_failed$`,
    `${crate("core")}slice::(index::slice_\\w*fail|copy_from_slice_impl::len_mismatch_fail)$`,
    `${crate("core")}slice::sort::shared::smallsort::panic_on_ord_violation$`,
    `${crate("core")}str::slice_error_fail(_rt)?$`,
    `${crate("core")}cell::(panic_already_(mutably_)?borrowed|lazy::panic_poisoned)$`,
    `${crate("alloc")}(raw_vec::(handle_error|capacity_overflow)|alloc::handle_alloc_error)$`,
    `${crate("std")}(panicking::panic_with_hook|alloc::rust_oom|thread::local::panic_access_error)$`,
  ].join("|"),
);

const file = process.argv[2];
binaryen.setDebugInfo(true); // keep the names: wasm-opt orders functions by them
// The features web/build.sh gives wasm-opt (and the browsers it targets have), no more.
const F = binaryen.Features;
const features =
  F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory | F.SignExt | F.ReferenceTypes | F.Multivalue;
const mod = binaryen.readBinary(new Uint8Array(readFileSync(file)), features);
const done = [];
for (let i = 0; i < mod.getNumFunctions(); i++) {
  const f = mod.getFunctionByIndex(i);
  const name = binaryen.Function.getName(f);
  if (traps.test(name) && binaryen.Function.getBody(f)) {
    binaryen.Function.setBody(f, mod.unreachable());
    done.push(name);
  }
}
// Without panic_fmt found the names changed (another toolchain): fail rather than do nothing.
if (!done.some((n) => /::panicking::panic_fmt$/.test(n))) {
  throw new Error(`${file}: no core::panicking::panic_fmt by name (no name section?)`);
}
writeFileSync(file, mod.emitBinary());
mod.dispose();
console.log(`web: ${done.length} panic entry points trap at once in ${file.split("/").pop()}`);
