// Zeroes the panic locations nothing reads any more, in place, after wasm-opt:
//   node web/panic-locations.mjs FILE.wasm
// A panic's `Location` (file path, line, column) sits in the data section for its message.
// Once web/panic-traps.mjs made the panics trap and wasm-opt dropped the message building, no
// code refers to most of them, but wasm-opt cannot tell dead data. A location is zeroed when no
// constant in the code (nor any word of the data) points into it; its file path when every
// location naming it was. Zero bytes gzip to almost nothing.
import { readFileSync, writeFileSync } from "node:fs";
import { readLeb } from "./wasm-leb.mjs";
import binaryen from "binaryen";

const file = process.argv[2];
const bytes = readFileSync(file);

const leb = (at) => readLeb(bytes, at);

// The active data segments placed at an `i32.const` address: [address, start, end in the file].
const segments = [];
let at = 8;
while (at < bytes.length) {
  const id = bytes[at];
  const [size, body] = leb(at + 1);
  at = body + size;
  if (id !== 11) continue;
  let [count, p] = leb(body);
  while (count--) {
    let flags;
    [flags, p] = leb(p);
    if (flags === 2) [, p] = leb(p); // memory index
    let address;
    if (flags !== 1) {
      if (bytes[p] !== 0x41) throw new Error(`${file}: a data segment not at an i32.const address`);
      [address, p] = leb(p + 1); // (small positive addresses: the sign bit never set here)
      if (bytes[p++] !== 0x0b) throw new Error(`${file}: unexpected data segment offset`);
    }
    let length;
    [length, p] = leb(p);
    if (address !== undefined) segments.push([address, p, p + length]);
    p += length;
  }
}

// Every address the code names: constants and load/store offsets (binaryen's text of it).
const mod = binaryen.readBinary(new Uint8Array(bytes), binaryen.Features.All);
const text = mod.emitText().split("\n").filter((l) => !l.startsWith(" (data ")).join("\n");
mod.dispose();
const named = new Set();
for (const m of text.matchAll(/(?:i32\.const |offset=)(\d+)/g)) named.add(Number(m[1]));
// Every word of the data, as a possible pointer.
const pointedTo = new Map();
for (const [a, s, e] of segments) {
  for (let o = (4 - (a % 4)) % 4; o + 4 <= e - s; o += 4) {
    const v = bytes.readUInt32LE(s + o);
    pointedTo.set(v, (pointedTo.get(v) ?? 0) + 1);
  }
}
const namedIn = (lo, hi) => {
  for (let x = lo; x < hi; x++) if (named.has(x)) return true;
  return false;
};
const pointedIn = (lo, hi, except = 0) => {
  let n = 0;
  for (let x = lo; x < hi; x++) n += pointedTo.get(x) ?? 0;
  return n > except;
};

// Locations: { file: &str, line: u32, col: u32 } (4-byte aligned), the file a `.rs` path.
const isPath = (ptr, len) => {
  if (len < 4 || len > 300) return false;
  for (const [a, s, e] of segments) {
    if (ptr >= a && ptr + len <= a + e - s) {
      const t = bytes.toString("latin1", s + ptr - a, s + ptr - a + len);
      return /^[\x21-\x7e]+\.rs$/.test(t);
    }
  }
  return false;
};
const locations = [];
for (const [a, s, e] of segments) {
  for (let o = (4 - (a % 4)) % 4; o + 16 <= e - s; o += 4) {
    const [ptr, len, line, col] = [0, 4, 8, 12].map((k) => bytes.readUInt32LE(s + o + k));
    if (line > 0 && line < 1e6 && col > 0 && col < 1e4 && isPath(ptr, len)) locations.push({ addr: a + o, file: s + o, ptr, len });
  }
}
const dead = locations.filter((l) => !namedIn(l.addr, l.addr + 16) && !pointedIn(l.addr, l.addr + 16));
const deadAt = new Set(dead.map((l) => l.addr));
// A path stays if a live location names it, or anything else points into it.
const paths = new Map();
for (const l of locations) {
  const p = paths.get(l.ptr) ?? { len: l.len, refs: 0, live: false };
  p.refs++;
  p.live ||= !deadAt.has(l.addr);
  paths.set(l.ptr, p);
}
let zeroed = 0;
for (const l of dead) {
  bytes.fill(0, l.file, l.file + 16);
  zeroed += 16;
}
for (const [ptr, p] of paths) {
  if (p.live || namedIn(ptr, ptr + p.len) || pointedIn(ptr, ptr + p.len, p.refs)) continue;
  for (const [a, s, e] of segments) {
    if (ptr >= a && ptr + p.len <= a + e - s) bytes.fill(0, s + ptr - a, s + ptr - a + p.len);
  }
  zeroed += p.len;
}
writeFileSync(file, bytes);
console.log(
  `web: ${dead.length} of ${locations.length} panic locations unused in ${file.split("/").pop()}: ${zeroed} bytes zeroed`,
);
