#!/usr/bin/env python3
"""Cuts the committed Fashion-MNIST subset from Debian's dataset-fashion-mnist.

The first 200 training images of each class (2,000) and the first 100 test images of each class
(1,000), in dataset order, re-encoded as IDX .gz (gzip mtime 0, so the output is reproducible).
Run from the repository root:  python3 scripts/make-fashion-subset.py
"""
import gzip, os, struct, sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
DST = "pipeline/src/main/resources/dev/peco4j/peco/data/fashion-mnist-subset"

def read(name):
    with gzip.open(os.path.join(SRC, name + ".gz"), "rb") as f:
        data = f.read()
    d = data[3]
    dims = struct.unpack(">" + "I" * d, data[4:4 + 4 * d])
    return dims, data[4 + 4 * d:]

def write(name, dims, payload):
    head = bytes([0, 0, 8, len(dims)]) + struct.pack(">" + "I" * len(dims), *dims)
    with open(os.path.join(DST, name + ".gz"), "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(head + payload)

def cut(split, per_class):
    (n, h, w), images = read(f"{split}-images-idx3-ubyte")
    _, labels = read(f"{split}-labels-idx1-ubyte")
    taken, counts = [], [0] * 10
    for i in range(n):
        if counts[labels[i]] < per_class:
            counts[labels[i]] += 1
            taken.append(i)
    write(f"{split}-images-idx3-ubyte", (len(taken), h, w), b"".join(images[i * h * w:(i + 1) * h * w] for i in taken))
    write(f"{split}-labels-idx1-ubyte", (len(taken),), bytes(labels[i] for i in taken))
    print(split, len(taken), "images")

os.makedirs(DST, exist_ok=True)
cut("train", 200)
cut("t10k", 100)
