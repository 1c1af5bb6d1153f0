#!/usr/bin/env python3
"""BEiT's resize of a relative position bias table to another window (run_class_finetuning.py), on random tables.

    /usr/bin/python3 pipeline/src/test/python/beit_relpos_resize.py > pipeline/src/test/resources/fixtures/beit_relpos_resize.json

Needs Debian's python3-scipy (scipy.interpolate.interp2d, kind='cubic', as BEiT calls it). The algorithm is written
here from BEiT's description: the geometric ratio q found by bisection, the source offsets 0, +-1, +-(1+q), ..., the
integer target offsets, the 2-D cubic spline per head, the 3 [CLS] rows kept.
"""
import json
import random
import warnings

import numpy as np
from scipy import interpolate

warnings.filterwarnings("ignore")


def resize(table, src_w, dst_w):
    src, dst = 2 * src_w - 1, 2 * dst_w - 1
    extra, grid = table[-3:], table[:-3]
    lo, hi = 1.01, 1.5
    while hi - lo > 1e-6:
        q = (lo + hi) / 2.0
        if (1.0 - q ** (src // 2)) / (1.0 - q) > dst // 2:
            hi = q
        else:
            lo = q
    dis, cur = [], 1
    for i in range(src // 2):
        dis.append(cur)
        cur += q ** (i + 1)
    xs = [-d for d in reversed(dis)] + [0] + dis
    t = dst // 2.0
    targets = np.arange(-t, t + 0.1, 1.0)
    heads = []
    for h in range(table.shape[1]):
        z = grid[:, h].reshape(src, src)
        f = interpolate.interp2d(xs, xs, z, kind='cubic')
        heads.append(f(targets, targets).reshape(-1))
    return np.concatenate([np.stack(heads, 1), extra], 0), q


cases = []
rng = random.Random(5)
for src_w, dst_w in [(7, 8), (7, 5), (4, 7), (14, 16)]:
    n = (2 * src_w - 1) ** 2 + 3
    table = np.array([[rng.gauss(0, 1) for _ in range(2)] for _ in range(n)])
    out, q = resize(table, src_w, dst_w)
    cases.append({"src": src_w, "dst": dst_w, "q": q, "table": table.tolist(), "resized": out.tolist()})
print(json.dumps({"scipy": __import__("scipy").__version__, "cases": cases}))
