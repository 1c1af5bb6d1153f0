#!/usr/bin/env python3
"""Turns the JSON lines of one bench/compare.sh run into a markdown table: for each case and thread
count, each peer's time (and GFLOP/s where the FLOPs are known) and the ratio peer time / peco4j
time (above 1: peco4j is faster), and GFLOP/s as a share of the FMA peak measured in the same run."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# the machine's own limits, measured by the Java half in the same run (bench/.../Peak.java)
peak = {r["threads"]: r for r in rows if r["case"] == "peak"}
steps = [r for r in rows if "images" in r]                       # whole training steps (StepBench, steps_torch.py)
rows = [r for r in rows if r["case"] != "peak" and "images" not in r]
for t in sorted(peak):
    p = peak[t]
    print("Measured peak, %d thread%s: FMA %.1f GFLOP/s (%d float lanes), memory bandwidth %.1f GB/s (STREAM triad)"
          % (t, "" if t == 1 else "s", p["fma_gflops"], p["lanes"], p["triad_gbs"]))
if peak:
    print()
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
    if not r["flops"]:
        return t
    g = r["flops"] / s / 1e9
    p = peak.get(r["threads"])
    return t + (" (%.1f GFLOP/s, %.0f%% of peak)" % (g, 100 * g / p["fma_gflops"]) if p else " (%.1f GFLOP/s)" % g)


if rows:
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


def step_cell(r):
    if r is None:
        return "—"
    if r.get("failed"):
        return "failed"
    extra = ", GC %.1f%%" % (100 * r["gc_share"]) if "gc_share" in r else ""
    extra += ", %.0f MiB alloc/step" % r["alloc_mib"] if "alloc_mib" in r else ""
    rate = r["images"] / r["seconds"]
    return "%.0f ms (%s img/s%s, RSS %.0f MiB)" % (r["seconds"] * 1e3, "%.1f" % rate if rate >= 10 else "%.2f" % rate, extra, r["rss_mib"])


if steps:
    step_peers = list(dict.fromkeys(r["peer"] for r in steps if r["peer"] != "peco4j" and not r.get("failed")))
    got, runs = {}, {}
    for r in steps:                          # several processes of one case and peer: the fastest that did not fail
        g = got.setdefault((r["case"], r["threads"]), {})
        key = (r["case"], r["threads"], r["peer"])
        runs[key] = runs.get(key, 0) + 1
        old = g.get(r["peer"])
        if old is None or old.get("failed") or (not r.get("failed") and r["seconds"] < old["seconds"]):
            g[r["peer"]] = r
    most = max(runs.values())
    print()
    print("Whole training steps (forward, loss, backward, optimizer; one process per case%s): ms/step, images/s, GC time share, heap allocated per step, peak RSS."
          % ("" if most == 1 else "; of up to %d processes of each, peco4j and PyTorch alternating, the fastest" % most))
    print()
    print("| step | threads | peco4j | " + " | ".join(step_peers) + " | " + " | ".join("vs " + p for p in step_peers) + " |")
    print("|---|---|---|" + "---|" * (2 * len(step_peers)))
    for case in dict.fromkeys(r["case"] for r in steps):
        for threads in sorted({r["threads"] for r in steps if r["case"] == case}):
            g = got[(case, threads)]
            ours = g.get("peco4j")
            ok = lambda r: r is not None and not r.get("failed")
            ratios = ["**%.2f×**" % (g[p]["seconds"] / ours["seconds"]) if ok(ours) and ok(g.get(p)) else "—" for p in step_peers]
            print("| %s | %d | %s | %s | %s |" % (case, threads, step_cell(ours), " | ".join(step_cell(g.get(p)) for p in step_peers), " | ".join(ratios)))
