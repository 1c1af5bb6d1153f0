#!/usr/bin/env python3
"""The Python half of bench/compare.sh: the same workloads as Workloads.java on PyTorch (Debian's
python3-torch) and sgemm on numpy/OpenBLAS, with the same timing rule as Compare.java. Appends JSON
lines {case, threads, peer, seconds, flops}.

    OMP_NUM_THREADS=N /usr/bin/python3 bench/compare_torch.py N out.jsonl
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def median_time(fn):
    start, warm = time.perf_counter(), 0
    while warm < 3 or time.perf_counter() - start < 1.0:
        fn()
        warm += 1
    runs, start = [], time.perf_counter()
    while len(runs) < 5 or time.perf_counter() - start < 2.0:
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    runs.sort()
    return runs[len(runs) // 2]


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, -1))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.gamma_1 = nn.Parameter(0.1 * torch.ones(dim))
        self.gamma_2 = nn.Parameter(0.1 * torch.ones(dim))

    def forward(self, x):
        x = x + self.gamma_1 * self.attn(self.norm1(x))
        return x + self.gamma_2 * self.mlp(self.norm2(x))


def cases():
    out = []
    for n in (256, 512, 1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        out.append(("sgemm n=%d" % n, lambda a=a, b=b: torch.mm(a, b), 2.0 * n ** 3))
    x = torch.randn(8, 128, 32, 32, requires_grad=True)
    w = (torch.randn(128, 128, 3, 3) * 0.05).requires_grad_(True)
    dy = torch.randn(8, 128, 32, 32)

    def conv():
        x.grad = w.grad = None
        F.conv2d(x, w, padding=1).backward(dy)
    out.append(("conv3x3 fwd+bwd 8x128x32x32", conv, 3 * 2.0 * 8 * 128 * 128 * 9 * 32 * 32))
    for stride, c, size in ((1, 96, 56), (2, 144, 56)):  # MobileNetV2's depthwise 3x3 (block_2, block_3 with its bottom/right pad)
        xd = torch.randn(8, c, size, size, requires_grad=True)
        wd = (torch.randn(c, 1, 3, 3) * 0.3).requires_grad_(True)
        out_size = size if stride == 1 else size // 2
        dyd = torch.randn(8, c, out_size, out_size)

        def depthwise(xd=xd, wd=wd, dyd=dyd, stride=stride, c=c):
            xd.grad = wd.grad = None
            xi = xd if stride == 1 else F.pad(xd, (0, 1, 0, 1))
            F.conv2d(xi, wd, stride=stride, padding=1 if stride == 1 else 0, groups=c).backward(dyd)
        out.append(("depthwise conv3x3 s%d fwd+bwd 8x%dx%dx%d" % (stride, c, size, size), depthwise,
                    3 * 2.0 * 8 * c * 9 * out_size * out_size))
    q, k, v = [torch.randn(8, 12, 197, 64, requires_grad=True) for _ in range(3)]
    do = torch.randn(8, 12, 197, 64)

    def attention():
        q.grad = k.grad = v.grad = None
        ((q * (64 ** -0.5)) @ k.transpose(-2, -1)).softmax(-1).matmul(v).backward(do)
    out.append(("attention fwd+bwd B8 H12 N197 D64", attention, 12.0 * 8 * 12 * 197 * 197 * 64))
    lx = torch.randn(8, 197, 768, requires_grad=True)
    ln = nn.LayerNorm(768, eps=1e-6)
    ldy = torch.randn(8, 197, 768)

    def layernorm():
        lx.grad = None
        ln.zero_grad()
        ln(lx).backward(ldy)
    out.append(("layernorm fwd+bwd 8x197x768", layernorm, 0.0))
    gx = torch.randn(2, 128, 64, 64, requires_grad=True)
    gn = nn.GroupNorm(32, 128, eps=1e-6)
    gdy = torch.randn(2, 128, 64, 64)

    def groupnorm_silu():
        gx.grad = None
        gn.zero_grad()
        F.silu(gn(gx)).backward(gdy)
    out.append(("groupnorm+silu fwd+bwd 2x128x64x64 G32", groupnorm_silu, 0.0))
    fx = torch.randn(8 * 197, 768, requires_grad=True)
    fc = nn.Linear(768, 3072)
    fdy = torch.randn(8 * 197, 3072)

    def linear_gelu():
        fx.grad = None
        fc.zero_grad()
        F.gelu(fc(fx)).backward(fdy)
    out.append(("linear+gelu fwd+bwd 1576x768->3072", linear_gelu, 3 * 2.0 * 8 * 197 * 768 * 3072))
    logits = torch.randn(8 * 75, 8192, requires_grad=True)
    target = torch.randint(0, 8192, (8 * 75,))

    def cross_entropy():
        logits.grad = None
        F.cross_entropy(logits, target, label_smoothing=0.1).backward()
    out.append(("cross-entropy fwd+bwd 600x8192", cross_entropy, 0.0))
    vz = torch.randn(8 * 196, 256)
    ve = torch.randn(8192, 256)

    def nearest_code():  # taming's VectorQuantizer: d = z² + e² − 2 z·eᵀ, then argmin
        with torch.no_grad():
            d = vz.pow(2).sum(1, keepdim=True) + ve.pow(2).sum(1) - 2 * vz @ ve.t()
            d.argmin(1)
    out.append(("nearest code 1568x256 in 8192", nearest_code, 2.0 * 8 * 196 * 256 * 8192))
    block = Block(768, 12)
    bx = torch.randn(8, 197, 768, requires_grad=True)
    bdy = torch.randn(8, 197, 768)

    def beit():
        bx.grad = None
        block.zero_grad()
        block(bx).backward(bdy)
    out.append(("beit block fwd+bwd ViT-B 8x197x768", beit,
                3 * (2.0 * 8 * 197 * 12 * 768 ** 2 + 4.0 * 8 * 197 ** 2 * 768)))
    return out


def main():
    threads, path = int(sys.argv[1]), sys.argv[2]
    only = sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else []
    torch.set_num_threads(threads)
    lines = []
    for name, fn, flops in cases():
        if only and not any(name.startswith(o) for o in only):
            continue
        s = median_time(fn)
        lines.append({"case": name, "threads": threads, "peer": "PyTorch %s" % torch.__version__.split("a")[0], "seconds": s, "flops": flops})
        print("pytorch %-40s %d threads: %.4f s" % (name, threads, s), file=sys.stderr)
        if name.startswith("sgemm"):
            n = int(name.split("=")[1])
            a, b = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
            s = median_time(lambda: a @ b)
            lines.append({"case": name, "threads": threads, "peer": "numpy/OpenBLAS", "seconds": s, "flops": flops})
            print("numpy   %-40s %d threads: %.4f s" % (name, threads, s), file=sys.stderr)
    with open(path, "a") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
