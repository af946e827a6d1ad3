// Reads an unsigned LEB128 number (the wasm binary format's integers) from `bytes` at `at`:
// returns [value, the offset after it]. Shared by the build's wasm scripts.
export function readLeb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, at];
  }
}
