#!/usr/bin/env bash
# The main job: build everything, then run it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace
cargo run -q -p terrapin-core --example demo
