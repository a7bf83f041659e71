#!/usr/bin/env python3
"""Side-by-side tables of the page_pool benchmark runs bench.sh made.

  bench.py VMDIR BENCHDIR ROUNDS

Reads the benchmark module's lines each boot wrote to
VMDIR/bench-PROFILE-KERNEL-ROUND/guest/: the 6.12 series' module's
("test=fast dma=0 n=200000 ns=38.123 cycles=95") or, on 7.3, those of
upstream's net/bench module as the series extends it ("Type:NAME Per elem:
C cycles(tsc) NS ns", a "-dma" name for a DMA-mapped pool, and
"Type:destroy-inflight-dma pages:N took: C cycles(tsc) NS ns"); for
the QEMU x86_64 kernels base, floor and series and, if bench.sh ran them,
the UML kernels (base, floor and series; 6.12: base and series); and the page_pool_tracking suite's lines
("mechanism=item batch=64 n=131072 take_ns=2.794 release_ns=3.484"; item and
xarray on DMA-mapped pages, item_nodma in a pool that maps nothing,
item_nodma_own the same released in the pool's own context, and each of
item, item_nodma and item_nodma_own again as "_counted", with a count of
items out per block) from BENCHDIR/tracking-ROUND.log, if present, with its
memory lines ("memory ring=1024 netmems=1152 scheme=xarray bytes=11520":
counted, so every round must agree), and from BENCHDIR/tracking-smp-ROUND.log,
the same suite on a UML kernel with CONFIG_SMP. Prints per test the median of each
kernel with its spread (min-max over the rounds, and as a share of the
median), the ratios of the medians with the interquartile range of the
per-round ratios (each round runs every kernel back to back, so a slow round
slows all of them), and the issue's target for that test. Nothing here fails
on a number: a target is reported as met or missed when the quartiles of
the per-round ratios lie on one side of it over at least three rounds and
are no further apart than the target's margin, and as not resolved
otherwise.
"""
import os
import re
import statistics
import sys

LINE = re.compile(r"test=(\S+) dma=(\d) n=(\d+) ns=([\d.]+) cycles=(\d+)(?: pages=(\d+))?")
TIMEBENCH = re.compile(r"Type:(\S+) Per elem: (\d+) cycles\(tsc\) ([\d.]+) ns")
TB_DESTROY = re.compile(r"Type:(destroy-inflight)-dma pages:(\d+) took: \d+ cycles\(tsc\) (\d+) ns")
TRACK = re.compile(r"mechanism=(\S+) batch=(\d+) n=\d+ take_ns=([\d.]+) release_ns=([\d.]+)")
TRACK_MEM = re.compile(r"memory ring=(\d+) netmems=(\d+) scheme=(\S+) bytes=(\d+)")
# (test, dma) -> (the kernel series is compared with, allowed margin); the
# destroy target is a wall-time bound in ms per number of pages out.
TARGETS = {
    ("fast", "0"): ("base", 0.01), ("fast", "1"): ("base", 0.01),
    ("ptr_ring", "0"): ("base", 0.01), ("ptr_ring", "1"): ("base", 0.01),
    ("skb_free_local", "1"): ("base", 0.01), ("skb_free_remote", "1"): ("base", 0.01),
    ("slow", "0"): ("floor", 0.05), ("slow", "1"): ("floor", 0.10),
    # upstream's module (7.3)
    ("no-softirq-page_pool01", "0"): ("base", 0.01), ("no-softirq-page_pool01", "1"): ("base", 0.01),
    ("no-softirq-page_pool02", "0"): ("base", 0.01), ("no-softirq-page_pool02", "1"): ("base", 0.01),
    ("softirq-skb_free-local", "1"): ("base", 0.01), ("softirq-skb_free-remote", "1"): ("base", 0.01),
    ("no-softirq-page_pool03", "0"): ("floor", 0.05), ("no-softirq-page_pool03", "1"): ("floor", 0.10),
}
# The kernels bench.sh boots, QEMU and UML alike.
KERNELS = ("base", "floor", "series")
# time_bench's own calibration loops: no page_pool in them.
BASELINE = ("for_loop", "atomic_inc", "lock")
DESTROY_MS = {"65536": 10.0}
SPREAD = "median [min-max] spread, spread = (max-min)/median"


def lines_of(path):
    try:
        return open(path, errors="replace").read().splitlines()
    except OSError:
        return None


def read_boots(vmdir, profile, kernels, rounds, tsc=True):
    """(test, dma, pages) -> kernel -> [ns per round], and the units read;
    None if never run. tsc: take time_bench's TSC cycles, not its ns."""
    if not os.path.isdir(os.path.join(vmdir, f"bench-{profile}-{kernels[0]}-1")):
        return None
    runs, units = {}, set()
    for k in kernels:
        for r in range(1, rounds + 1):
            g = os.path.join(vmdir, f"bench-{profile}-{k}-{r}", "guest")
            logs = sorted(f for f in os.listdir(g) if "page_pool_bench" in f or "bench_page_pool" in f) \
                if os.path.isdir(g) else []
            if not logs:
                sys.exit(f"bench.py: no log for {profile} {k}, round {r} under {vmdir}")
            found = 0
            for line in lines_of(os.path.join(g, logs[0])):
                m, t, d = LINE.search(line), TIMEBENCH.search(line), TB_DESTROY.search(line)
                if m:
                    key, ns = (m.group(1), m.group(2), m.group(6) or ""), m.group(4)
                    units.add("ns")
                elif d:
                    key, ns = (d.group(1), "1", d.group(2)), d.group(3)
                elif t and t.group(1) not in BASELINE:
                    # Under QEMU, TSC cycles, as upstream's module reports
                    # first: TCG gives the guest the host's TSC, and
                    # without bench.sh's tsc_early_khz its wall clock can
                    # be jiffies (4 ms a tick). Under UML, ns: its clock
                    # is the host's, and whole cycles would round a
                    # 25-cycle fast path by 2%.
                    name, dma = (t.group(1)[:-4], "1") if t.group(1).endswith("-dma") else (t.group(1), "0")
                    key, ns = (name, dma, ""), t.group(2) if tsc else t.group(3)
                    units.add("TSC cycles" if tsc else "ns")
                else:
                    continue
                runs.setdefault(key, {}).setdefault(k, []).append(float(ns))
                found += 1
            if not found:
                sys.exit(f"bench.py: {g}/{logs[0]} has no result line; the module failed?")
    return runs, " or ".join(sorted(units))


def read_tracking(benchdir, rounds, name="tracking"):
    """(batch, step) -> mechanism -> [ns per round]; None if never run."""
    if lines_of(os.path.join(benchdir, f"{name}-1.log")) is None:
        return None
    runs = {}
    for r in range(1, rounds + 1):
        path = os.path.join(benchdir, f"{name}-{r}.log")
        found = 0
        for line in lines_of(path) or []:
            m = TRACK.search(line)
            if m:
                for step, ns in (("take", m.group(3)), ("release", m.group(4))):
                    runs.setdefault((int(m.group(2)), step), {}).setdefault(m.group(1), []).append(float(ns))
                found += 1
        if not found:
            sys.exit(f"bench.py: {path} has no page_pool_tracking result")
    return runs


def read_tracking_memory(benchdir, rounds):
    """(ring, netmems) -> scheme -> bytes, the same in every round; {} if not run."""
    mem = {}
    for r in range(1, rounds + 1):
        path = os.path.join(benchdir, f"tracking-{r}.log")
        for line in lines_of(path) or []:
            m = TRACK_MEM.search(line)
            if not m:
                continue
            key, scheme, nbytes = (int(m.group(1)), int(m.group(2))), m.group(3), int(m.group(4))
            seen = mem.setdefault(key, {}).setdefault(scheme, nbytes)
            if seen != nbytes:
                sys.exit(f"bench.py: {path}: {scheme} at ring {key[0]} took {nbytes} bytes, "
                         f"another round {seen}")
    return mem


def memory_table(mem):
    """Bytes a pool's tracking takes with its ring and cache full."""
    print("| ring | netmems out | 7.3 xarray, DMA-mapping pool "
          "| items, DMA-mapping pool | items, pool maps nothing | items/xarray |")
    print("|---|---|---|---|---|---|")
    for (ring, n), by in sorted(mem.items()):
        kib = {k: f"{v / 1024:.1f} KiB" for k, v in by.items()}
        ratio = f"{by['item'] / by['xarray']:.2f}" if by.get("xarray") and "item" in by else "-"
        print(f"| {ring} | {n} | {kib.get('xarray', '-')} | {kib.get('item', '-')} "
              f"| {kib.get('item_nodma', '-')} | {ratio} |")


def spread(xs):
    med = statistics.median(xs)
    return med, min(xs), max(xs), (max(xs) - min(xs)) / med if med else 0.0


def cell(col, ms=False):
    if not col:
        return "-"
    f = (lambda ns: f"{ns / 1e6:.2f} ms") if ms else (lambda ns: f"{ns:.1f}")
    med, lo, hi, sp = col
    return f"{f(med)} [{f(lo)}-{f(hi)}] {sp:.0%}"


def paired(runs, a, b):
    """Median and interquartile range of the per-round ratios a/b."""
    rs = [x / y for x, y in zip(runs[a], runs[b]) if y]
    if len(rs) < 2:
        return rs[0], rs[0], rs[0]
    q1, med, q3 = statistics.quantiles(rs, n=4, method="inclusive")
    return med, q1, q3


def verdict(key, cols, runs, floor):
    """The issue's target for a test; floor names the kernel that tracks nothing."""
    test, dma, pages = key
    if test.startswith("destroy"):
        bound = DESTROY_MS.get(pages)
        if bound is None or "series" not in cols:
            return ""
        ms = cols["series"][0] / 1e6
        return f"< {bound:g} ms: {'met' if ms < bound else 'missed'} ({ms:.2f} ms)"
    target = TARGETS.get((test, dma))
    if not target:
        return ""
    other, margin = target
    other = floor if other == "floor" else other
    if other not in cols or "series" not in cols or not cols[other][0]:
        return ""
    ratio = cols["series"][0] / cols[other][0]
    _, lo, hi = paired(runs, "series", other)
    text = f"series/{other} within {margin:.0%}: "
    # Resolved only when the quartiles of the per-round ratios lie on one
    # side of the target, over at least three rounds, and are no further
    # apart than the target's margin: a spread wider than what is to be
    # told apart measures noise (or code layout), whichever side it lies.
    spread = f"per-round ratios {lo:.3f}-{hi:.3f}, quartiles, over {len(runs['series'])} rounds"
    if len(runs["series"]) < 3:
        return text + f"not resolved ({spread})"
    if hi - lo > margin:
        return text + f"not resolved: the quartiles are {hi - lo:.1%} apart, wider than the target ({spread})"
    if hi <= 1 + margin:
        return text + f"met ({spread})"
    if lo > 1 + margin:
        return text + f"missed by {ratio - 1 - margin:.1%} ({spread})"
    return text + f"not resolved ({spread})"


def boots_table(runs, kernels, floor):
    others = [k for k in kernels if k != "series"]
    print("| test | dma | " + " | ".join(kernels) + " | " +
          " | ".join(f"series/{k}" for k in others) + " | target |")
    print("|---|---|" + "---|" * (len(kernels) + len(others) + 1))
    for key in sorted(runs, key=lambda k: (k[0].startswith("destroy"), k[0], k[1], int(k[2] or 0))):
        cols = {k: spread(v) for k, v in runs[key].items()}
        cells = [cell(cols.get(k), key[0].startswith("destroy")) for k in kernels]
        ratios = []
        for k in others:
            # A median of 0 (a time below the clock's resolution) has no ratio.
            if "series" in cols and k in cols and cols[k][0]:
                _, lo, hi = paired(runs[key], "series", k)
                ratios.append(f"{cols['series'][0] / cols[k][0]:.3f} [{lo:.2f}-{hi:.2f}]")
            else:
                ratios.append("-")
        name = key[0] + (f" {key[2]} pages" if key[2] else "")
        print(f"| {name} | {key[1]} | " + " | ".join(cells) + " | " + " | ".join(ratios) +
              f" | {verdict(key, cols, runs[key], floor)} |")


def tracking_table(runs):
    """item and xarray track DMA-mapped pages (releases unmap); item_nodma a pool that maps nothing,
    item_nodma_own the same with its pages released in the pool's own context."""
    print("| batch | step | item | xarray | item/xarray | item, pool maps nothing "
          "| the same, released in the pool's context |")
    print("|---|---|---|---|---|---|---|")
    for batch, step in sorted(runs, key=lambda k: (k[0], k[1] != "take")):
        cols = {m: spread(v) for m, v in runs[(batch, step)].items()}
        ratio = "-"
        if "item" in cols and "xarray" in cols and cols["xarray"][0]:
            _, lo, hi = paired(runs[(batch, step)], "item", "xarray")
            ratio = f"{cols['item'][0] / cols['xarray'][0]:.3f} [{lo:.3f}-{hi:.3f}]"
        print(f"| {batch} | {step} | {cell(cols.get('item'))} | {cell(cols.get('xarray'))} | {ratio} "
              f"| {cell(cols.get('item_nodma'))} | {cell(cols.get('item_nodma_own'))} |")


def counted_table(by_kernel):
    """What a count of items out per block adds: each item mechanism against
    its "_counted" twin, per tracking kernel (up, smp), batch and step."""
    print("| kernel | batch | step | mechanism | without the count | with it | with/without |")
    print("|---|---|---|---|---|---|---|")
    for kernel, runs in by_kernel:
        for batch, step in sorted(runs, key=lambda k: (k[0], k[1] != "take")):
            by = runs[(batch, step)]
            for mech in ("item", "item_nodma", "item_nodma_own"):
                twin = mech + "_counted"
                if mech not in by or twin not in by:
                    continue
                ratio = "-"
                if statistics.median(by[mech]):
                    med, lo, hi = paired(by, twin, mech)
                    ratio = f"{med:.3f} [{lo:.3f}-{hi:.3f}]"
                print(f"| {kernel} | {batch} | {step} | {mech} | {cell(spread(by[mech]))} "
                      f"| {cell(spread(by[twin]))} | {ratio} |")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: bench.py VMDIR BENCHDIR ROUNDS")
    vmdir, benchdir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    qemu = read_boots(vmdir, "x86_64", KERNELS, rounds)
    if qemu is None:
        sys.exit(f"bench.py: no x86_64 benchmark boot under {vmdir}")
    # 6.12's bench.sh boots no UML floor.
    um_kernels = tuple(k for k in KERNELS if os.path.isdir(os.path.join(vmdir, f"bench-um-{k}-1")))
    uml = read_boots(vmdir, "um", um_kernels, rounds, tsc=False) if um_kernels else None
    tracking = read_tracking(benchdir, rounds)
    tracking_smp = read_tracking(benchdir, rounds, "tracking-smp")

    # vm.sh notes the accelerator of each boot: KVM where its probe
    # showed KVM works, TCG otherwise.
    accels = sorted({(lines_of(os.path.join(vmdir, f"bench-x86_64-{k}-{r}", "accel")) or ["not recorded"])[0]
                     for k in KERNELS for r in range(1, rounds + 1)})
    print(f"### x86_64 under QEMU ({', '.join(accels)}), {rounds} boots per kernel\n")
    print(f"{qemu[1]} per element (destroy: wall time of one page_pool_destroy()), {SPREAD}; "
          f"ratios: of the medians [quartiles of the per-round ratios]\n")
    boots_table(qemu[0], KERNELS, "floor")
    if uml is not None:
        print(f"\n### UML, native, {rounds} runs per kernel\n")
        print("The base tracks nothing under UML (no constant PAGE_OFFSET: PP_DMA_INDEX_BITS is 0)"
              + (": the floor is the same code built again, so series/floor against series/base "
                 "shows what a rebuild alone moves.\n" if "floor" in um_kernels else ".\n"))
        print(f"{uml[1]} per element, {SPREAD}\n")
        boots_table(uml[0], um_kernels, "floor" if "floor" in um_kernels else "base")
    if tracking is not None:
        print(f"\n### page_pool_tracking (KUnit, UML), {rounds} runs\n")
        print(f"ns per page tracked (take) and released (release), {SPREAD}\n")
        tracking_table(tracking)
        mem = read_tracking_memory(benchdir, rounds)
        if mem:
            print(f"\n### page_pool_tracking memory (KUnit, UML), the same in {rounds} runs\n")
            print("what tracking takes for a pool whose ring and alloc cache are full\n")
            memory_table(mem)
        counted = [(k, t) for k, t in (("up", tracking), ("smp", tracking_smp)) if t is not None]
        if any("item_counted" in by for _, t in counted for by in t.values()):
            print(f"\n### page_pool_tracking: a count of items out per block (KUnit, UML), {rounds} runs\n")
            print("what giving fully free item blocks back would cost at the least: a plain count "
                  "of items taken and an atomic one of items returned, in the block's header; "
                  "up: one CPU, no lock prefix on atomics; smp: CONFIG_SMP, one CPU online. "
                  f"ns per page, {SPREAD}; with/without: median [quartiles] of the per-round ratios\n")
            counted_table(counted)


if __name__ == "__main__":
    main()
