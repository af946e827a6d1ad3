#!/usr/bin/env bash
# Builds the npm package into web/pkg: cargo (release, wasm32) + wasm-bindgen --target web, then
# from the root node_modules: wasm-opt (npm binaryen), tsc (the TypeScript source type-checked,
# its declarations written as the package's types) and esbuild (the entry pkg/index.js bundled).
# No wasm-pack needed.
# Prints the wasm size and the gzip size of wasm + JS.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
# WEB_FEATURES=bench WEB_OUT=DIR build the benchmark hooks into another folder (the package in
# web/pkg never carries them).
features="${WEB_FEATURES:-}"
out="${WEB_OUT:-$here/pkg}"
cd "$root"
# Size first (opt-level z), except the code on the per-record path of a sync: BLAKE2b,
# XChaCha20 and base64 run twice as fast at opt-level 3. The generic RustCrypto code is
# instantiated in terrapin-primitives, so that crate (not terrapin-core) is the one built at 3.
cargo build -p terrapin-web --lib --target wasm32-unknown-unknown --release ${features:+--features "$features"} \
    --config 'profile.release.opt-level="z"' \
    --config 'profile.release.package.blake2.opt-level=3' \
    --config 'profile.release.package.chacha20.opt-level=3' \
    --config 'profile.release.package.base64.opt-level=3' \
    --config 'profile.release.package.terrapin-primitives.opt-level=3'
# The legacy (atuin <= 17) migration is a module of its own (web/legacy), loaded only by
# migrateLegacy: the main module does not carry it.
cargo build -p terrapin-web-legacy --lib --target wasm32-unknown-unknown --release \
    --config 'profile.release.opt-level="z"'
# AI threads (ai-session records: zstd and the thread fold) likewise (web/threads), loaded only
# by client.threads.
cargo build -p terrapin-web-threads --lib --target wasm32-unknown-unknown --release \
    --config 'profile.release.opt-level="z"'
# Likewise the code only some users need (web/extras: the vault's Argon2id, the shell history
# parser, the reading of a key's words, the scripts, shell aliases and variables), loaded on
# first use. Argon2 and BLAKE2b at opt-level 3:
# Argon2id's passes are what an unlock waits for, and only those who use this module pay for its
# size.
cargo build -p terrapin-web-extras --lib --target wasm32-unknown-unknown --release \
    --config 'profile.release.opt-level="z"' \
    --config 'profile.release.package.argon2.opt-level=3' \
    --config 'profile.release.package.blake2.opt-level=3'
# The rest (wasm-bindgen, wasm-opt, tsc, esbuild) only when an input changed since the last
# build into $out: cargo leaves its wasm untouched when it had nothing to do.
mkdir -p "$target/stamps"
stamp="$target/stamps/web-$(basename "$out")"
inputs=("$target/wasm32-unknown-unknown/release/terrapin_web.wasm"
    "$target/wasm32-unknown-unknown/release/terrapin_web_legacy.wasm"
    "$target/wasm32-unknown-unknown/release/terrapin_web_threads.wasm"
    "$target/wasm32-unknown-unknown/release/terrapin_web_extras.wasm"
    "$here/js" "$here"/*.mjs "$here/build.sh" "$here/tsconfig.json" "$here/package.json")
if [ -f "$stamp" ] && [ -f "$out/terrapin_web_bg.wasm" ] && [ -z "$(find "${inputs[@]}" -newer "$stamp" 2>/dev/null | head -1)" ]; then
    echo "web: $out is up to date"
    exit 0
fi
rm -f "$stamp"
wasm-bindgen --target web --out-dir "$out" --out-name terrapin_web \
    "$target/wasm32-unknown-unknown/release/terrapin_web.wasm"
wasm-bindgen --target web --out-dir "$out" --out-name terrapin_legacy \
    "$target/wasm32-unknown-unknown/release/terrapin_web_legacy.wasm"
wasm-bindgen --target web --out-dir "$out" --out-name terrapin_threads \
    "$target/wasm32-unknown-unknown/release/terrapin_web_threads.wasm"
wasm-bindgen --target web --out-dir "$out" --out-name terrapin_extras \
    "$target/wasm32-unknown-unknown/release/terrapin_web_extras.wasm"
opt="$root/node_modules/.bin/wasm-opt"
if [ -x "$opt" ]; then
    # -O2 with -ocimfs 0 (no inlining of functions with one caller): the raw wasm is ~4% larger
    # than with -Oz, the gzip ~8% smaller (merged bodies compress worse; V8 inlines anyway).
    # --reorder-functions-by-name, last: the copies of one generic function (one per type)
    # and the functions of one module sit side by side, where gzip's 32 KB window finds their
    # likeness (-6.5 KB of gzip). The names go with the output (no -g).
    # --zero-filled-memory: the module's own memory starts zeroed (it is not imported).
    for wasm in terrapin_web_bg terrapin_legacy_bg terrapin_threads_bg terrapin_extras_bg; do
        # Panics trap at once (web/panic-traps.mjs says why that changes nothing visible):
        # -6.8 KB of gzip.
        node "$here/panic-traps.mjs" "$out/$wasm.wasm"
        # f64's Display is zmij's (web/src/float.rs says why): -6 KB of gzip.
        if [ "$wasm" = terrapin_web_bg ]; then node "$here/float-display.mjs" "$out/$wasm.wasm"; fi
        "$opt" -O2 -ocimfs 0 --converge --zero-filled-memory --strip-producers --strip-target-features \
            --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
            --enable-mutable-globals --enable-reference-types --enable-multivalue \
            --reorder-functions-by-name "$out/$wasm.wasm" -o "$out/$wasm.wasm"
        # The panic locations (file paths, lines) no code reads any more, zeroed: -4.0 KB of gzip.
        node "$here/panic-locations.mjs" "$out/$wasm.wasm"
    done
fi
# The names the wasm and its glue know each other by (hashed by wasm-bindgen), made short in
# both: -5.2 KB of gzip for the main module (web/wasm-names.mjs).
for name in terrapin_web terrapin_legacy terrapin_threads terrapin_extras; do
    node "$here/wasm-names.mjs" "$out" "$name"
done
if [ -n "$features" ]; then
    # A benchmark build: the wasm and its glue only.
    touch "$stamp"
    echo "web: built with features $features into $out"
    exit 0
fi
# The package's types: declarations generated from the TypeScript source in js/ (pkg/index.d.ts
# and the files it imports); a type error stops the build.
"$root/node_modules/.bin/tsc" -p "$here/tsconfig.json"
# The package entry: js/index.ts and the generated glue bundled and minified into one ES module,
# pkg/index.js, with a source map (the wasm loads from beside it). The legacy migration (its
# wasm glue, and the records.db reader with sql.js) is its own module, pkg/legacy-db.js,
# imported only by migrateLegacy, with its wasm beside it: pkg/terrapin_legacy_bg.wasm and
# SQLite's, pkg/sqlite.wasm (loaded only for a database). Live sync is pkg/live.js, imported by
# the first client.live(); the vault's key derivation, the shell history parser, the reading of
# a key given as words and the scripts, aliases and variables pkg/extras.js (its wasm beside it,
# pkg/terrapin_extras_bg.wasm), by the first saveVault, unlock, parseShellHistory, key given as
# words or profile with scripts, aliases or variables.
esb="$root/node_modules/.bin/esbuild"
"$esb" "$here/js/index.ts" --bundle --minify --format=esm --sourcemap --log-level=warning \
    --external:./legacy-db.js --external:./live.js --external:./threads.js \
    --external:./extras.js --outfile="$out/index.js"
"$esb" "$here/js/live.ts" --bundle --minify --format=esm --sourcemap \
    --log-level=warning --outfile="$out/live.js"
"$esb" "$here/js/legacy-db.ts" --bundle --minify --format=esm --sourcemap \
    --log-level=warning --outfile="$out/legacy-db.js"
"$esb" "$here/js/threads.ts" --bundle --minify --format=esm --sourcemap \
    --log-level=warning --outfile="$out/threads.js"
"$esb" "$here/js/extras.ts" --bundle --minify --format=esm --sourcemap \
    --log-level=warning --outfile="$out/extras.js"
cp "$root/node_modules/sql.js/dist/sql-wasm-browser.wasm" "$out/sqlite.wasm"
gz=$(cat "$out/terrapin_web_bg.wasm" | gzip -9 | wc -c)
gzjs=$(gzip -9 < "$out/index.js" | wc -c)
echo "web/pkg: $(wc -c < "$out/terrapin_web_bg.wasm") bytes of wasm; gzip: wasm $gz + js $gzjs = $((gz + gzjs)) bytes"
lz=$(cat "$out/legacy-db.js" "$out/terrapin_legacy_bg.wasm" "$out/sqlite.wasm" | gzip -9 | wc -c)
echo "web/pkg: loaded only by migrateLegacy: legacy-db.js + terrapin_legacy_bg.wasm + sqlite.wasm, gzip $lz bytes"
tz=$(cat "$out/threads.js" "$out/terrapin_threads_bg.wasm" | gzip -9 | wc -c)
echo "web/pkg: loaded only by client.threads: threads.js + terrapin_threads_bg.wasm, gzip $tz bytes"
xz=$(cat "$out/extras.js" "$out/terrapin_extras_bg.wasm" | gzip -9 | wc -c)
echo "web/pkg: loaded on first use (vault, parseShellHistory, key words, scripts): extras.js + terrapin_extras_bg.wasm, gzip $xz bytes"
touch "$stamp"
