#!/usr/bin/env bash
# Builds the worker into edge-worker/build/ (index.js + wasm) with worker-build, using the
# locally installed wasm-bindgen, wasm-opt (npm binaryen) and esbuild (npm) instead of
# downloading them. Idempotent: cargo and worker-build skip work that is up to date.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin="$root/node_modules/.bin"

if [ ! -x "$bin/wasm-opt" ] || [ ! -x "$bin/esbuild" ] || [ ! -x "$bin/wrangler" ]; then
    (cd "$root" && npm install --no-audit --no-fund)
fi
command -v worker-build >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/worker-build" ] ||
    cargo install --locked worker-build@0.8.7
export PATH="$HOME/.cargo/bin:$PATH"

export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$bin/esbuild}"

# worker-build runs wasm-bindgen and wasm-opt every time; skip it when no input changed since
# the last build.
target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$target/stamps"
stamp="$target/stamps/edge-worker"
inputs=("$here/src" "$here/Cargo.toml" "$here/build.sh" "$root/core/src" "$root/core/Cargo.toml"
    "$root/core/primitives" "$root/Cargo.toml" "$root/Cargo.lock")
if [ -f "$stamp" ] && [ -f "$here/build/index.js" ] && [ -z "$(find "${inputs[@]}" -newer "$stamp" 2>/dev/null | head -1)" ]; then
    echo "edge-worker: build/ is up to date"
    exit 0
fi
cd "$here"
worker-build --release
touch "$stamp"
