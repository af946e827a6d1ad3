#!/usr/bin/env bash
# The main job: build the wasm package and the viewer, then serve the worker with a local D1
# (kept in .dev/edge across restarts, migrations applied) and the viewer as its static assets.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-8787}"
web/build.sh
# The viewer is built again only when it or the package changed.
stamp="${CARGO_TARGET_DIR:-target}/stamps/www"
if [ ! -f "$stamp" ] || [ ! -d www/dist/app ] || [ -n "$(find www/src www/public www/index.html www/vite.config.ts www/tsconfig.json www/package.json web/pkg -newer "$stamp" 2>/dev/null | head -1)" ]; then
  npm run --silent build --workspace www
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
echo
echo "  sync server (atuin's sync_address): http://127.0.0.1:$port"
echo "  history viewer:                     http://127.0.0.1:$port/app/"
echo
PORT="$port" exec edge-worker/dev.sh "$@"
