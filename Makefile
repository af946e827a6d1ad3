# The two commands of the README. Both install what is missing first (scripts/setup.sh).
SHELL := /bin/bash
export CI ?=
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false

.PHONY: dev test setup lint unit wasm-core edge edge-test web-test www-test bench

setup:
	@scripts/setup.sh

## make dev: build everything and serve the worker (local D1) and the viewer on 127.0.0.1
dev: setup
	@scripts/dev.sh

## make test: every test
test: setup lint unit wasm-core
	@echo "make test: all suites passed"

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo test --workspace

wasm-core:
	cargo build -p terrapin-core --no-default-features --target wasm32-unknown-unknown

bench:
	tests/bench/core-bench/run.sh
