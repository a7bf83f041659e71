#!/usr/bin/env python3
"""Side-by-side table of the page_pool benchmark runs bench.sh made.

  bench.py VMDIR ROUNDS

Reads the benchmark lines ("test=fast dma=0 n=200000 ns=38.123 cycles=95")
each boot wrote to VMDIR/bench-KERNEL-ROUND/guest/, and prints per test the
median ns of each kernel with its spread (min-max over the rounds, and as a
share of the median), the ratios series/base and series/floor of the
medians, and the issue's target for that test. Nothing here fails on a
number: a target is reported as met or missed, with a note when the spread
is wider than the target's margin.
"""
import glob
import os
import re
import statistics
import sys

KERNELS = ("base", "floor", "series")
LINE = re.compile(r"test=(\S+) dma=(\d) n=(\d+) ns=([\d.]+) cycles=(\d+)(?: pages=(\d+))?")
# (test, dma) -> (the kernel series is compared with, allowed margin); the
# destroy target is a wall-time bound in ms per number of pages out.
TARGETS = {
    ("fast", "0"): ("base", 0.01), ("fast", "1"): ("base", 0.01),
    ("ptr_ring", "0"): ("base", 0.01), ("ptr_ring", "1"): ("base", 0.01),
    ("skb_free_local", "1"): ("base", 0.01), ("skb_free_remote", "1"): ("base", 0.01),
    ("slow", "0"): ("floor", 0.05), ("slow", "1"): ("floor", 0.10),
}
DESTROY_MS = {"65536": 10.0}


def read(vmdir, rounds):
    runs = {}   # (test, dma, pages) -> kernel -> [ns per round]
    for k in KERNELS:
        for r in range(1, rounds + 1):
            logs = glob.glob(os.path.join(vmdir, f"bench-{k}-{r}", "guest", "*page_pool_bench*.log"))
            if not logs:
                sys.exit(f"bench.py: no log for {k}, round {r} under {vmdir}")
            found = 0
            for line in open(logs[0], errors="replace"):
                m = LINE.search(line)
                if m:
                    key = (m.group(1), m.group(2), m.group(6) or "")
                    runs.setdefault(key, {}).setdefault(k, []).append(float(m.group(4)))
                    found += 1
            if not found:
                sys.exit(f"bench.py: {logs[0]} has no result line; the module failed?")
    return runs


def spread(xs):
    med = statistics.median(xs)
    return med, min(xs), max(xs), (max(xs) - min(xs)) / med if med else 0.0


def fmt(ns, ms):
    return f"{ns / 1e6:.2f} ms" if ms else f"{ns:.1f}"


def verdict(key, cols):
    test, dma, pages = key
    if test == "destroy":
        bound = DESTROY_MS.get(pages)
        if bound is None or "series" not in cols:
            return ""
        ms = cols["series"][0] / 1e6
        return f"< {bound:g} ms: {'met' if ms < bound else 'missed'} ({ms:.2f} ms)"
    target = TARGETS.get((test, dma))
    if not target or target[0] not in cols or "series" not in cols:
        return ""
    other, margin = target
    ratio = cols["series"][0] / cols[other][0]
    noise = max(cols["series"][3], cols[other][3])
    text = f"series/{other} within {margin:.0%}: "
    if ratio <= 1 + margin:
        text += "met"
    else:
        text += f"missed by {ratio - 1 - margin:.1%}"
    if noise > margin:
        text += f" (spread {noise:.0%}: noise wider than the {margin:.0%} target)"
    return text


def main():
    vmdir, rounds = sys.argv[1], int(sys.argv[2])
    runs = read(vmdir, rounds)
    print(f"ns per element (destroy: wall time of one page_pool_destroy()), median of {rounds} "
          "boots per kernel, [min-max] and spread = (max-min)/median\n")
    print("| test | dma | " + " | ".join(KERNELS) + " | series/base | series/floor | target |")
    print("|---|---|" + "---|" * (len(KERNELS) + 3))
    for key in sorted(runs, key=lambda k: (k[0] == "destroy", k[0], k[1], int(k[2] or 0))):
        cols = {k: spread(v) for k, v in runs[key].items()}
        cells = []
        for k in KERNELS:
            if k in cols:
                med, lo, hi, sp = cols[k]
                ms = key[0] == "destroy"
                cells.append(f"{fmt(med, ms)} [{fmt(lo, ms)}-{fmt(hi, ms)}] {sp:.0%}")
            else:
                cells.append("-")
        ratios = []
        for other in ("base", "floor"):
            if "series" in cols and other in cols:
                ratios.append(f"{cols['series'][0] / cols[other][0]:.3f}")
            else:
                ratios.append("-")
        name = key[0] + (f" {key[2]} pages" if key[2] else "")
        print(f"| {name} | {key[1]} | " + " | ".join(cells) + " | " + " | ".join(ratios) +
              f" | {verdict(key, cols)} |")


if __name__ == "__main__":
    main()
