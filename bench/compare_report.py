#!/usr/bin/env python3
"""Turns the JSON lines of one bench/compare.sh run into a markdown table: for each case and thread
count, each peer's time (and GFLOP/s where the FLOPs are known) and the ratio peer time / peco4j
time (above 1: peco4j is faster)."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
peers = []
for r in rows:
    if r["peer"] != "peco4j" and r["peer"] not in peers:
        peers.append(r["peer"])
table = {}
for r in rows:
    table.setdefault((r["case"], r["threads"]), {})[r["peer"]] = r


def cell(r):
    if r is None:
        return "—"
    s = r["seconds"]
    t = "%.2f ms" % (s * 1e3) if s < 1 else "%.2f s" % s
    return t + (" (%.1f GFLOP/s)" % (r["flops"] / s / 1e9) if r["flops"] else "")


print("| case | threads | peco4j | " + " | ".join(peers) + " | " + " | ".join("vs " + p for p in peers) + " |")
print("|---|---|---|" + "---|" * (2 * len(peers)))
for case in dict.fromkeys(r["case"] for r in rows):
    for threads in sorted({r["threads"] for r in rows if r["case"] == case}):
        got = table[(case, threads)]
        ours = got.get("peco4j")
        ratios = []
        for p in peers:
            if ours and p in got:
                ratios.append("**%.2f×**" % (got[p]["seconds"] / ours["seconds"]))
            else:
                ratios.append("—")
        print("| %s | %d | %s | %s | %s |" % (case, threads, cell(ours), " | ".join(cell(got.get(p)) for p in peers),
                                            " | ".join(ratios)))
