#!/usr/bin/env bash
# The main job: build the wasm package and the viewer, then serve the worker with a local D1
# (kept in .dev/edge across restarts, migrations applied) and the viewer as its static assets.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-8787}"
web/build.sh
npm run --silent build --workspace www
echo
echo "  sync server (atuin's sync_address): http://127.0.0.1:$port"
echo "  history viewer:                     http://127.0.0.1:$port/app/"
echo
PORT="$port" exec edge-worker/dev.sh "$@"
