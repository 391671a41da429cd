# The two commands a newcomer runs: `make demo` and `make test`.
# Cargo's target directory lives outside the clone so repeated builds reuse it.
export CARGO_TARGET_DIR ?= $(shell (mkdir -p /var/cache/spirit-target 2>/dev/null && test -w /var/cache/spirit-target && echo /var/cache/spirit-target) || echo $(HOME)/.cache/spirit-target)

.PHONY: demo test fmt bench

demo:
	cargo run --release --quiet -p spirit-cli -- demo --out spirit-demo

test:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo test --workspace --locked

fmt:
	cargo fmt --all

bench:
	bench/compare
