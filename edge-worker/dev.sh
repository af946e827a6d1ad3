#!/usr/bin/env bash
# Serves the worker at http://127.0.0.1:${PORT:-8787} with a local D1 that persists across
# restarts in .dev/edge/ (repo root, gitignored), each account's records in its Durable Object
# beside it. Builds first and applies migrations. Extra arguments go to serve.mjs (workerd via
# Miniflare, configured from wrangler.toml by wrangler; e.g. `--var PAGE_SIZE:500`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
port="${PORT:-8787}"
persist="${TERRAPIN_EDGE_PERSIST:-$root/.dev/edge}"

"$here/build.sh"

# The operator routes' secret for local use (edge-worker/admin.mjs reads it from here).
if ! grep -qs '^ADMIN_TOKEN=' "$here/.dev.vars"; then
  echo "ADMIN_TOKEN=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" >>"$here/.dev.vars"
  echo "terrapin-edge: wrote an admin token to edge-worker/.dev.vars"
fi

export CI=true WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
mkdir -p "$persist"
cd "$here"
"$root/node_modules/.bin/wrangler" d1 migrations apply DB --local --persist-to "$persist" </dev/null
echo "terrapin-edge: http://127.0.0.1:$port (D1 in $persist)"
exec node "$here/serve.mjs" --ip 127.0.0.1 --port "$port" --persist-to "$persist" "$@" </dev/null
