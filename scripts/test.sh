#!/usr/bin/env bash
# Runs every test: formatting and lints, the Rust unit and integration tests (real
# nodes on 127.0.0.1), and the independent Python check of the protocol's test
# vectors. Installs what the tests need first (a Python venv under target/).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing test tools"
if [ ! -x target/pyenv/bin/python ]; then
  mkdir -p target
  python3 -m venv target/pyenv
fi
target/pyenv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
# Chromium + chromedriver (Debian packages) for the web console's browser tests.
scripts/install-browser.sh

echo "== cargo fmt"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy -q --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace

echo "== protocol vectors, checked from the spec alone (Python)"
target/pyenv/bin/python scripts/check_vectors.py docs/vectors

echo "== partitions on real hosts (network namespaces; needs root and ip netns)"
if scripts/partition.sh --check-env; then
  scripts/partition.sh
fi
