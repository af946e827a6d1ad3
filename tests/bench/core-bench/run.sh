#!/usr/bin/env bash
# Prints the core benchmark natively and in wasm (Node), and the wasm/native ratio.
# `run.sh memory [N]`: instead, the wasm memory of N history entries in the store, then with the
# search index built in one go and in steps, each in a fresh instance (src/search.rs, `memory`).
set -euo pipefail
cd "$(dirname "$0")/../../.."
if [ "${1:-}" = memory ]; then
    n=${2:-1000000}
    cargo build -q --release -p terrapin-bench --lib --target wasm32-unknown-unknown
    out=target/bench-wasm
    wasm-bindgen --target nodejs --out-dir "$out" target/wasm32-unknown-unknown/release/terrapin_bench.wasm
    for stepped in false true; do
        node -e "console.log(require('./$out/terrapin_bench.js').memoryUse($n, $stepped))"
    done
    exit 0
fi
n=${1:-5000}
cargo build -q --release -p terrapin-bench --bin native
cargo build -q --release -p terrapin-bench --lib --target wasm32-unknown-unknown
out=target/bench-wasm
wasm-bindgen --target nodejs --out-dir "$out" target/wasm32-unknown-unknown/release/terrapin_bench.wasm
echo "== native ($(uname -m), $(nproc) cores)"
native=$(target/release/native "$n"); echo "$native"
echo "== wasm (node $(node --version))"
wasm=$(node -e "console.log(require('./$out/terrapin_bench.js').run($n))"); echo "$wasm"
ratio() { awk -v a="$(echo "$wasm" | grep "$1" | awk '{print $2}')" -v b="$(echo "$native" | grep "$1" | awk '{print $2}')" 'BEGIN{printf "%.2f", a/b}'; }
echo "== wasm/native: encrypt $(ratio encrypt_record)x, decrypt $(ratio decrypt_record)x"
