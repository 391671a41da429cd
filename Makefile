# The two commands a newcomer runs: `make demo` and `make test`.
# Cargo's target directory lives outside the clone so repeated builds reuse it.
export CARGO_TARGET_DIR ?= $(shell (mkdir -p /var/cache/spirit-target 2>/dev/null && test -w /var/cache/spirit-target && echo /var/cache/spirit-target) || echo $(HOME)/.cache/spirit-target)

.PHONY: demo test fmt bench web e2e chromium node

demo: web
	cargo run --release --quiet -p spirit-cli -- demo --out spirit-demo

test: web
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo test --workspace --locked
	$(MAKE) e2e

# The analyst's workbench (web/): built into web/dist, which spirit-server embeds. Rebuilt
# only when its sources or lock file change.
WEB_SOURCES := $(wildcard web/src/*) web/index.html web/vite.config.ts web/tsconfig.json
web: web/dist/index.html

web/node_modules/.package-lock.json: web/package-lock.json | node
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

node:
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

# End-to-end tests: the debug binary serves a demo workspace to headless Chromium.
e2e: web chromium
	cargo build --locked -p spirit-cli
	cd web && SPIRIT_BIN="$(abspath $(CARGO_TARGET_DIR))/debug/spirit" npm run e2e

fmt:
	cargo fmt --all

bench:
	bench/compare
