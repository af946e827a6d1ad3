# The two commands of the README. Both install what is missing first (scripts/setup.sh).
SHELL := /bin/bash
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false

.PHONY: dev test setup lint unit wasm-core edge-build edge-test e2e web-build web-test www-test deploy-check bench compat

setup:
	@scripts/setup.sh

## make dev: build everything, then serve the worker (local D1) and the viewer on 127.0.0.1
dev: setup
	@scripts/dev.sh

## make test: every test
test: setup lint unit wasm-core edge-build edge-test e2e web-test www-test deploy-check
	@echo "make test: every suite passed"

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo test --workspace

wasm-core:
	cargo build -p terrapin-core --no-default-features --target wasm32-unknown-unknown

edge-build:
	edge-worker/build.sh

# Black-box HTTP suite against the worker in workerd with a fresh local D1, and the real
# atuin CLI against it when ATUIN_BIN is set (skipped, and said so, otherwise).
edge-test: edge-build
	CI=true node --test tests/edge/ </dev/null

# A native terrapin-core client against the same worker.
e2e: edge-build
	CI=true node tests/with-worker.mjs cargo test -p terrapin-tests --test native_client -- --ignored </dev/null

web-build:
	web/build.sh

# The browser package: wasm tests in headless Chromium, then the built package against the
# worker (two profiles, cut-off syncs, vault, Web Worker, interop with native and atuin), and
# its TypeScript (tsc on web/js, the usage against the declarations, error kinds vs Rust).
web-test: edge-build web-build
	cargo clippy -p terrapin-web --all-targets --target wasm32-unknown-unknown -- -D warnings
	cargo test -p terrapin-web --target wasm32-unknown-unknown
	CI=true node --test tests/web/ </dev/null

# The viewer, built and driven by Playwright in Chromium against the worker.
www-test: edge-build web-build
	npm run --silent typecheck --workspace www
	CI=true node --test tests/www/ </dev/null

# wrangler's own offline check of a deploy: config (D1, the UserStore Durable Object and its
# migration, the viewer's assets, built by www-test) and the bundle.
deploy-check: edge-build www-test
	cd edge-worker && CI=true ../node_modules/.bin/wrangler deploy --dry-run --outdir "$$(mktemp -d)" </dev/null

# atuin-server 18.24.4's own integration tests (tests/sync.rs, tests/users.rs from its crates.io
# package, adapted on the fly) against `make dev` on a free port; not part of `make test` (it
# compiles ~400 crates). COMPAT_URL=http://… runs them against a worker already serving there.
compat: setup
	tests/upstream/run.sh $(COMPAT_URL)

bench:
	tests/bench/core-bench/run.sh
	node tests/bench/edge_atuin.mjs
	node tests/bench/web_bundle.mjs
	node tests/bench/web_decrypt.mjs 20000
	node tests/bench/web_interop.mjs 100000
	node tests/bench/web_store.mjs 100000
	node tests/bench/web_sync.mjs 100000 3
	node tests/bench/www_search.mjs 100000 3
	node tests/bench/web_search.mjs 100000 5
	node tests/bench/www_live.mjs
