#!/usr/bin/env bash
# Builds the npm package's wasm into web/pkg: cargo (release, wasm32) + wasm-bindgen --target web,
# then wasm-opt -Oz when binaryen is installed (npm, root node_modules). No wasm-pack needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cd "$root"
cargo build -p terrapin-web --lib --target wasm32-unknown-unknown --release
wasm-bindgen --target web --out-dir "$here/pkg" --out-name terrapin_web \
    "$target/wasm32-unknown-unknown/release/terrapin_web.wasm"
opt="$root/node_modules/.bin/wasm-opt"
if [ -x "$opt" ]; then
    "$opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals --enable-reference-types --enable-multivalue \
        "$here/pkg/terrapin_web_bg.wasm" -o "$here/pkg/terrapin_web_bg.wasm"
fi
echo "web/pkg: $(wc -c < "$here/pkg/terrapin_web_bg.wasm") bytes of wasm"
