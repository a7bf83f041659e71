#!/usr/bin/env python3
"""Read a test kernel's console: splats, KUnit results, selftest results.

  console.py TREE LOG [--allow REGEX]... [--guest-dir DIR] [--skips-fail] [--no-kunit]

Prints one "PASS name" / "FAIL name" line per KUnit case (parsed with the tree's
own tools/testing/kunit parser), per selftest case (its TAP lines, or the program
as one case when it prints none) and for the console scan, each failure with its
evidence. Exit 1 on any failure.
"""
import argparse
import inspect
import os
import re
import sys

# A line matching any of these fails the run, unless an --allow pattern matches it.
SPLAT = re.compile(
    r"\bBUG: |\bWARNING: |\bOops\b|general protection fault|Kernel panic|UBSAN:|"
    r"INFO: task .* blocked for more than|kmemleak: .*new suspected memory leak|"
    r"stalled pool shutdown|DMA-API: ")
# DMA-API debug's informational lines (at boot; when it grows its entry
# pool for many live mappings); its errors are WARNs.
BENIGN = re.compile(r"DMA-API: (preallocated \d+ debug entries|debugging enabled by kernel config|"
                    r"dma_debug_entry pool grown to \d+ \(\d+%\))$")
TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\] ")
SELFTEST_END = re.compile(r"^PPVM: selftest-end (\S+) rc=(\d+) dma-errors=(-?\d+)")
# A selftest's own results, nested below the kselftest runner's "ok 1 selftests: ...".
TAP_RESULT = re.compile(r"^# \s*(not ok|ok) \d+ (?:- )?([^#]*?)\s*(#\s*(SKIP|skip).*)?$")


class Results:
    def __init__(self):
        self.lines = []

    def add(self, ok, name, evidence=""):
        self.lines.append(f"{'PASS' if ok else 'FAIL'} {name}")
        print(self.lines[-1])
        if not ok and evidence:
            print(evidence.rstrip("\n"))


def scan(lines, allow, res, name, where="console"):
    """One verdict: no report in LINES (of WHERE)."""
    hits = []
    for i, line in enumerate(lines):
        text = TIMESTAMP.sub("", line)
        if SPLAT.search(text) and not BENIGN.search(text) and not any(a.search(text) for a in allow):
            hits.append(i)
    evidence = []
    shown_until = -1
    for i in hits[:6]:
        if i <= shown_until:
            continue
        shown_until = i + 30
        evidence.append(f"---- {where} line {i + 1} ----")
        evidence.extend(l.rstrip("\n") for l in lines[max(0, i - 3):shown_until])
    res.add(not hits, name, "\n".join(evidence) + (f"\n({len(hits)} lines matched)" if hits else ""))


def kunit(tree, lines, res, run, skipped):
    sys.path.insert(0, os.path.join(tree, "tools/testing/kunit"))
    import kunit_parser
    from kunit_parser import TestStatus

    body = [l for l in lines if not l.startswith("PPVM: ")]
    # 7.3's parser takes a printer; 6.12's prints to stdout itself.
    if len(inspect.signature(kunit_parser.parse_run_tests).parameters) > 1:
        import kunit_printer
        top = kunit_parser.parse_run_tests(body, kunit_printer.null_printer)
    else:
        top = kunit_parser.parse_run_tests(body)
    if top.status in (TestStatus.FAILURE_TO_PARSE_TESTS, TestStatus.NO_TESTS):
        res.add(False, f"{run}: KUnit results parsed", "\n".join(top.log + top.errors if hasattr(top, "errors") else top.log))
        return

    def walk(test, prefix):
        if not test.subtests:
            status = test.status
            if status == TestStatus.SKIPPED:
                skipped(prefix, "\n".join(test.log))
                return
            res.add(status == TestStatus.SUCCESS, prefix, "\n".join(test.log))
            return
        for sub in test.subtests:
            walk(sub, f"{prefix}.{sub.name}" if prefix else sub.name)

    for suite in top.subtests:
        walk(suite, f"{run}: kunit {suite.name}")


def selftests(lines, guest_dir, res, run, allow, skipped):
    for line in lines:
        m = SELFTEST_END.match(line)
        if not m:
            continue
        test, rc, dma = m.group(1), int(m.group(2)), int(m.group(3))
        log_path = os.path.join(guest_dir, test.replace("/", "_") + ".log")
        kmsg_path = log_path[:-len(".log")] + ".kmsg"
        out = open(log_path, errors="replace").read() if os.path.exists(log_path) else ""
        cases = [TAP_RESULT.match(l) for l in out.splitlines()]
        cases = [c for c in cases if c]
        for c in cases:
            if c.group(3):
                skipped(f"{run}: selftest {test}: {c.group(2)}", out[-3000:])
            else:
                res.add(c.group(1) == "ok", f"{run}: selftest {test}: {c.group(2)}", out[-3000:])
        if rc == 4 and not cases:
            skipped(f"{run}: selftest {test}", out[-3000:])
        elif rc != 0 and rc != 4 or not cases:
            res.add(rc == 0, f"{run}: selftest {test}: exit code", f"exit code {rc}\n{out[-3000:]}")
        res.add(dma == 0, f"{run}: selftest {test}: DMA-API error_count unchanged",
                f"DMA-API error_count grew by {dma} during {test}")
        # The scan again, over the kernel log the guest kept of this test
        # (init.sh): which test a report came with (a negative control
        # needs its own test's).
        name = f"{run}: selftest {test}: no console report while it ran"
        if os.path.exists(kmsg_path):
            scan(open(kmsg_path, errors="replace").read().splitlines(), allow, res, name,
                 where=os.path.basename(kmsg_path))
        else:
            res.add(False, name, f"the guest kept no kernel log of it ({kmsg_path})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("log")
    ap.add_argument("--name", default="vm")
    ap.add_argument("--guest-dir")
    ap.add_argument("--allow", action="append", default=[])
    ap.add_argument("--no-kunit", action="store_true")
    # Where the VM (or the kernel) is made for its tests, a skipped one
    # did not run: a KUnit case or a selftest case.
    ap.add_argument("--skips-fail", action="store_true")
    args = ap.parse_args()
    lines = open(args.log, errors="replace").read().splitlines()
    res = Results()

    def skipped(name, evidence):
        if args.skips_fail:
            res.add(False, f"{name}: ran, not skipped", evidence)
        else:
            print(f"SKIP {name}")

    allow = [re.compile(a) for a in args.allow]
    scan(lines, allow, res,
         f"{args.name}: console free of KASAN/lockdep/WARN/BUG/DMA-API/stalled-pool reports")
    boot = [l for l in lines if l.startswith("PPVM: boot-dma-errors ")]
    if boot:
        n = int(boot[0].split()[-1])
        res.add(n == 0, f"{args.name}: DMA-API error_count 0 after boot and KUnit",
                f"error_count is {n}")
    if not args.no_kunit:
        kunit(args.tree, lines, res, args.name, skipped)
    if args.guest_dir:
        selftests(lines, args.guest_dir, res, args.name, allow, skipped)
    return 1 if any(l.startswith("FAIL") for l in res.lines) else 0


if __name__ == "__main__":
    sys.exit(main())
