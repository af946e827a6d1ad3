// Shortens the names the wasm and its wasm-bindgen glue know each other by, in place, after
// wasm-opt:
//   node web/wasm-names.mjs DIR NAME      (DIR/NAME_bg.wasm, DIR/NAME.js, DIR/NAME_bg.wasm.d.ts)
// wasm-bindgen names every import after its JS function with a hash (`__wbg_fetch_8d9b…`), from
// one module named after the glue (`./NAME_bg.js`), and its exports after the Rust items
// (`wasmclient_call`, closure shims with a hash). Each name is in the wasm and again in the JS,
// and hashes do not compress: short names instead (`a`, `b`, …) take ~3 KB off the gzip of the
// package. Imports are keys of the glue's import object; exports are read as `wasm.NAME`. A
// name not found where the glue is expected to have it stops the build.
import { readFileSync, writeFileSync } from "node:fs";
import { readLeb } from "./wasm-leb.mjs";
import path from "node:path";

const [dir, name] = process.argv.slice(2);
const wasmFile = path.join(dir, `${name}_bg.wasm`);
const jsFile = path.join(dir, `${name}.js`);
const dtsFile = path.join(dir, `${name}_bg.wasm.d.ts`);
const bytes = readFileSync(wasmFile);
let js = readFileSync(jsFile, "utf8");
const fail = (m) => {
  throw new Error(`${wasmFile}: ${m}`);
};

const leb = (at) => readLeb(bytes, at);

function lebBytes(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

const str = (s) => Buffer.concat([lebBytes(Buffer.byteLength(s)), Buffer.from(s)]);

/** A name read at `at`: [text, the offset after it]. */
function readName(at) {
  const [len, p] = leb(at);
  return [bytes.toString("utf8", p, p + len), p + len];
}

/** The offset after a table's or memory's limits at `at`. */
function skipLimits(at) {
  const flags = bytes[at];
  let [, p] = leb(at + 1);
  if (flags & 1) [, p] = leb(p);
  return p;
}

/** The i-th short name: a..z, A..Z, then two letters; never one of `taken`. */
function shortNames(taken) {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  let i = 0;
  return () => {
    for (;;) {
      let n = i++;
      let s = letters[n % 52];
      for (n = Math.floor(n / 52); n > 0; n = Math.floor(n / 52)) s = letters[(n - 1) % 52] + s;
      if (!taken.has(s)) return s;
    }
  };
}

const escape = (s) => s.replace(/[$.*+?^()[\]{}|\\/]/g, "\\$&");

// Sections: [id, start of the content, end].
const sections = [];
for (let at = 8; at < bytes.length; ) {
  const id = bytes[at];
  const [size, body] = leb(at + 1);
  sections.push([id, body, body + size, at]);
  at = body + size;
}
const section = (id) => sections.find((s) => s[0] === id);
const replaced = new Map(); // section start -> new content

// Imports: one module (the glue), each function a key of its import object.
const glueModule = `./${name}_bg.js`;
const imports = section(2);
if (imports) {
  let [count, p] = leb(imports[1]);
  const next = shortNames(new Set());
  const parts = [lebBytes(count)];
  while (count--) {
    let mod, field;
    [mod, p] = readName(p);
    [field, p] = readName(p);
    const desc = p;
    const kind = bytes[p++];
    if (kind === 0) [, p] = leb(p);
    else if (kind === 1) p = skipLimits(p + 1);
    else if (kind === 2) p = skipLimits(p);
    else if (kind === 3) p += 2;
    else fail(`an import of kind ${kind}`);
    if (mod !== glueModule) {
      parts.push(str(mod), str(field), bytes.subarray(desc, p));
      continue;
    }
    const short = next();
    // The key of the import object: `NAME: function(`, once.
    const key = new RegExp(`(?<![\\w$])${escape(field)}(?=: *function\\b)`, "g");
    const found = js.match(key)?.length ?? 0;
    if (found !== 1) fail(`import ${field} is a key of the glue's import object ${found} times, not once`);
    js = js.replace(key, short);
    parts.push(str("a"), str(short), bytes.subarray(desc, p));
  }
  const quoted = JSON.stringify(glueModule);
  if (js.split(quoted).length !== 2) fail(`the glue names its import module ${quoted} other than once`);
  js = js.replace(quoted, '"a"');
  replaced.set(imports[3], Buffer.concat(parts));
}

// Exports: read by the glue as `wasm.NAME`; those it does not read keep their names.
const exports = section(7);
let dts = readFileSync(dtsFile, "utf8");
if (exports) {
  let [count, p] = leb(exports[1]);
  const entries = [];
  while (count--) {
    let field;
    [field, p] = readName(p);
    const start = p;
    [, p] = leb(p + 1);
    entries.push([field, bytes.subarray(start, p)]);
  }
  const uses = (field) => new RegExp(`(?<![\\w$])wasm\\.${escape(field)}(?![\\w$])`, "g");
  const keep = (field) => field === "memory" || !uses(field).test(js);
  const next = shortNames(new Set(entries.map(([f]) => f).filter(keep)));
  const parts = [lebBytes(entries.length)];
  for (const [field, desc] of entries) {
    let out = field;
    if (!keep(field)) {
      out = next();
      js = js.replace(uses(field), `wasm.${out}`);
      dts = dts.replace(new RegExp(`(?<![\\w$])${escape(field)}(?![\\w$])`, "g"), out);
    }
    parts.push(str(out), desc);
  }
  replaced.set(exports[3], Buffer.concat(parts));
}

const out = [bytes.subarray(0, 8)];
for (const [id, body, end, start] of sections) {
  const content = replaced.get(start);
  out.push(content ? Buffer.concat([Buffer.from([id]), lebBytes(content.length), content]) : bytes.subarray(start, end));
  void body;
}
const result = Buffer.concat(out);
new WebAssembly.Module(result); // still a valid module
writeFileSync(wasmFile, result);
writeFileSync(jsFile, js);
writeFileSync(dtsFile, dts);
console.log(`web: import and export names shortened in ${path.basename(wasmFile)}: ${bytes.length - result.length} bytes fewer`);
