#!/usr/bin/env python3
"""Tests of the harness itself: each checker must fail on a crafted bad input.

Prints "PASS name" / "FAIL name" per case; needs the base tree (build/linux) for
the kernel's own KUnit parser, Kconfig parser and checkpatch.pl.
"""
import os
import subprocess
import sys
import tempfile

HARNESS = os.path.dirname(os.path.abspath(__file__))
TREE = os.environ.get("PP_TREE", os.path.join(os.path.dirname(HARNESS), "build", "v7.3", "linux"))
results = []


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def case(fn):
    try:
        ok, detail = fn()
    except Exception as e:  # a crash of a case is its failure
        ok, detail = False, repr(e)
    if ok is None:  # the case does not apply here: detail says why
        print(f"SKIP harness: {fn.__doc__.strip()} ({detail})")
        return
    print(f"{'PASS' if ok else 'FAIL'} harness: {fn.__doc__.strip()}")
    if not ok:
        print("  " + str(detail).replace("\n", "\n  "))
    results.append(ok)


def console(text, *args):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(text)
    try:
        return run(sys.executable, os.path.join(HARNESS, "console.py"), TREE, f.name, *args)
    finally:
        os.unlink(f.name)


KTAP_OK = """[    1.0] KTAP version 1
[    1.0] 1..1
[    1.0]     KTAP version 1
[    1.0]     # Subtest: demo
[    1.0]     1..2
[    1.0]     ok 1 first
[    1.0]     ok 2 second
[    1.0] ok 1 demo
PPVM: boot-dma-errors 0
"""


def t_clean():
    """a clean console with passing KUnit cases passes"""
    r = console(KTAP_OK)
    return r.returncode == 0 and "PASS vm: kunit demo.second" in r.stdout, r.stdout + r.stderr


def t_warn():
    """a WARN on the console fails the run and is shown"""
    r = console(KTAP_OK + "[    2.0] WARNING: CPU: 0 PID: 1 at net/core/page_pool.c:1 x+0x1/0x2\n")
    return r.returncode == 1 and "page_pool.c:1" in r.stdout, r.stdout


def t_splats():
    """KASAN, lockdep, DMA-API and stalled-pool reports each fail the run"""
    for line in ("BUG: KASAN: slab-use-after-free in page_pool_put",
                 "WARNING: possible circular locking dependency detected",
                 "DMA-API: netdevsim: device driver has pending DMA allocations while released from device [count=4]",
                 "page_pool_release_retry() stalled pool shutdown: id 3, 1 inflight 60 sec"):
        r = console(KTAP_OK + f"[    3.0] {line}\n")
        if r.returncode != 1:
            return False, f"not caught: {line}\n{r.stdout}"
    return True, ""


def t_benign():
    """DMA-API debug's boot banner and pool growth pass, its error lines do not"""
    ok = console(KTAP_OK + "[ 0.1] DMA-API: preallocated 65536 debug entries\n"
                 "[ 0.1] DMA-API: debugging enabled by kernel config\n"
                 "[ 9.9] DMA-API: dma_debug_entry pool grown to 131072 (200%)\n")
    bad = console(KTAP_OK + "[ 2.0] DMA-API: debugging out of memory - disabling\n")
    return ok.returncode == 0 and bad.returncode == 1, ok.stdout + bad.stdout


def t_allow():
    """an --allow pattern lets exactly the named report through"""
    warn = "[    2.0] WARNING: CPU: 0 PID: 1 at arch/um/drivers/virt-pci.c:1 um_pci_init\n"
    allow = r"at (\S*/)?arch/um/drivers/virt-pci\.c:"
    r = console(KTAP_OK + warn, "--allow", allow)
    r2 = console(KTAP_OK + warn + "[ 3.0] BUG: KASAN: x\n", "--allow", allow)
    r3 = console(KTAP_OK + warn.replace("at arch/", "at ../linux/arch/"), "--allow", allow)
    r4 = console(KTAP_OK + warn.replace("virt-pci.c", "virtio_uml.c"), "--allow", allow)
    return (r.returncode == 0 and r2.returncode == 1 and r3.returncode == 0 and
            r4.returncode == 1), r.stdout + r2.stdout + r3.stdout + r4.stdout


def t_kunit_fail():
    """a failing KUnit case fails by name"""
    r = console(KTAP_OK.replace("    ok 2 second", "    not ok 2 second").replace("ok 1 demo", "not ok 1 demo"))
    return r.returncode == 1 and "FAIL vm: kunit demo.second" in r.stdout, r.stdout


def t_kunit_missing():
    """a console without KTAP fails: a run that ran no KUnit test is no pass"""
    r = console("[ 1.0] Linux version 6.12\nPPVM: boot-dma-errors 0\n")
    return r.returncode == 1 and "FAIL vm: KUnit results parsed" in r.stdout, r.stdout


def runner_log(cases, ok):
    """A log as kselftest's runner.sh writes it: the test's TAP nested as comments."""
    cases = cases.split("\n")
    inner = "".join(f"# {line}\n" for line in ["TAP version 13", f"1..{len(cases)}"] + cases)
    return (f"TAP version 13\n1..1\n# timeout set to 600\n# selftests: t: x.sh\n{inner}"
            f"{'ok' if ok else 'not ok'} 1 selftests: t: x.sh{'' if ok else ' # exit=1'}\n")


def guest_files(d, cases="ok 1 x", ok=True, tests=("t/x.sh",), kmsg=""):
    """What the guest keeps of each selftest (init.sh): its log and its kernel log."""
    for t in tests:
        base = os.path.join(d, t.replace("/", "_"))
        open(base + ".log", "w").write(runner_log(cases, ok))
        open(base + ".kmsg", "w").write(kmsg if t == tests[-1] else "")


def t_dma_errors():
    """DMA-API errors counted during boot or a selftest fail the run"""
    with tempfile.TemporaryDirectory() as d:
        guest_files(d)
        r = console(KTAP_OK + "PPVM: selftest-end t/x.sh rc=0 dma-errors=2\n", "--guest-dir", d)
        r2 = console(KTAP_OK.replace("boot-dma-errors 0", "boot-dma-errors 1"))
    return (r.returncode == 1 and "FAIL vm: selftest t/x.sh: DMA-API" in r.stdout and
            r2.returncode == 1), r.stdout + r2.stdout


def t_selftest_fail():
    """a selftest's failing TAP case, or its non-zero exit, fails"""
    with tempfile.TemporaryDirectory() as d:
        guest_files(d, "ok 1 a\nnot ok 2 b", ok=False)
        r = console(KTAP_OK + "PPVM: selftest-end t/x.sh rc=1 dma-errors=0\n", "--guest-dir", d)
    return r.returncode == 1 and "FAIL vm: selftest t/x.sh: b" in r.stdout, r.stdout


def t_selftest_splat():
    """a report logged while a selftest ran fails that selftest, wherever the console printed it; no kernel log of a test fails it"""
    with tempfile.TemporaryDirectory() as d:
        guest_files(d, "ok 1 a", tests=("t/x.sh", "t/y.sh"),
                    kmsg="[ 9.0] WARNING: suspicious RCU usage\n")
        # The console's printer ran late: the report comes after y.sh's end.
        text = (KTAP_OK + "PPVM: selftest-start t/x.sh\n"
                "PPVM: selftest-end t/x.sh rc=0 dma-errors=0\n"
                "PPVM: selftest-start t/y.sh on vmxnet3\n"
                "PPVM: selftest-end t/y.sh rc=0 dma-errors=0\n"
                "[ 9.0] WARNING: suspicious RCU usage\n")
        r = console(text, "--guest-dir", d)
        os.unlink(os.path.join(d, "t_x.sh.kmsg"))
        r2 = console(text.replace("[ 9.0] WARNING: suspicious RCU usage\n", ""), "--guest-dir", d)
    return (r.returncode == 1 and "PASS vm: selftest t/x.sh: no console report" in r.stdout and
            "FAIL vm: selftest t/y.sh: no console report" in r.stdout and
            r2.returncode == 1 and "FAIL vm: selftest t/x.sh: no console report" in r2.stdout and
            "kept no kernel log" in r2.stdout), r.stdout + r2.stdout


def t_selftest_skip():
    """a skipped selftest case is a skip, or a failure with --skips-fail"""
    with tempfile.TemporaryDirectory() as d:
        guest_files(d, "ok 1 a # SKIP no pools")
        text = KTAP_OK + "PPVM: selftest-end t/x.sh rc=0 dma-errors=0\n"
        r = console(text, "--guest-dir", d)
        r2 = console(text, "--guest-dir", d, "--skips-fail")
    return (r.returncode == 0 and "SKIP vm: selftest t/x.sh: a" in r.stdout and
            r2.returncode == 1 and "FAIL vm: selftest t/x.sh: a: ran, not skipped" in r2.stdout), \
        r.stdout + r2.stdout


def t_kunit_skip():
    """a skipped KUnit case is a skip, or a failure with --skips-fail"""
    text = KTAP_OK.replace("    ok 2 second", "    ok 2 second # SKIP needs 5 GiB")
    r = console(text)
    r2 = console(text, "--skips-fail")
    return (r.returncode == 0 and "SKIP vm: kunit demo.second" in r.stdout and
            r2.returncode == 1 and "FAIL vm: kunit demo.second: ran, not skipped" in r2.stdout), \
        r.stdout + r2.stdout


def t_kconfig():
    """an option olddefconfig dropped is named and fails the build"""
    with tempfile.TemporaryDirectory() as d:
        frag, cfg = os.path.join(d, "f"), os.path.join(d, "c")
        open(frag, "w").write("CONFIG_NET=y\nCONFIG_PP_NO_SUCH_OPTION=y\n# CONFIG_FOO is not set\n")
        open(cfg, "w").write("CONFIG_NET=y\n")
        r = run(sys.executable, os.path.join(HARNESS, "kconfig.py"), TREE, "verify", cfg, frag)
        open(cfg, "w").write("CONFIG_NET=y\nCONFIG_PP_NO_SUCH_OPTION=y\n")
        r2 = run(sys.executable, os.path.join(HARNESS, "kconfig.py"), TREE, "verify", cfg, frag)
    return (r.returncode == 1 and "CONFIG_PP_NO_SUCH_OPTION=y" in r.stdout and
            r2.returncode == 0), r.stdout + r2.stdout


def t_kconfig_merge():
    """merging into an existing file replaces it, later fragments winning"""
    with tempfile.TemporaryDirectory() as d:
        a, b, out = (os.path.join(d, n) for n in ("a", "b", "out"))
        open(a, "w").write("CONFIG_NET=y\nCONFIG_INET=y\n")
        open(b, "w").write("# CONFIG_INET is not set\n")
        for _ in range(2):
            r = run(sys.executable, os.path.join(HARNESS, "kconfig.py"), TREE, "merge", out, a, b)
        text = open(out).read()
    return (r.returncode == 0 and sorted(text.splitlines()) ==
            ["# CONFIG_INET is not set", "CONFIG_NET=y"]), text


BAD_PATCH = """From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: A <a@example.org>
Date: Thu, 1 Jan 2026 00:00:00 +0000
Subject: [PATCH] net: demo

A demo.

Signed-off-by: A <a@example.org>
---
 net/core/dev.c | 1 +
 1 file changed, 1 insertion(+)

diff --git a/net/core/dev.c b/net/core/dev.c
--- a/net/core/dev.c
+++ b/net/core/dev.c
@@ -1,3 +1,4 @@
 // SPDX-License-Identifier: GPL-2.0-or-later
+int pp_demo=1 ;
 /*
  *      NET3    Protocol independent device support routines.
"""


def t_checkpatch():
    """checkpatch --strict errors fail the patch that has them"""
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "0001-net-demo.patch")
        open(p, "w").write(BAD_PATCH)
        r = run(sys.executable, os.path.join(HARNESS, "checks", "checkpatch.py"), TREE, p)
    return r.returncode == 1 and "FAIL checkpatch --strict: 0001-net-demo.patch" in r.stdout, r.stdout


def t_cover_letter():
    """export keeps the cover letter's subject and text and names the base"""
    fresh = ("From 0 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\nDate: x\n"
             "Subject: [PATCH 0/2] *** SUBJECT HERE ***\n\n*** BLURB HERE ***\n\n"
             "A (2):\n  one\n  two\n\n 1 file changed\n\nbase-commit: abc\n")
    old = fresh.replace("*** SUBJECT HERE ***", "page_pool: demo").replace(
        "*** BLURB HERE ***", "Hand-written text.\n\nBase: Debian linux-source-6.12 old")
    with tempfile.TemporaryDirectory() as d:
        n, o = os.path.join(d, "new"), os.path.join(d, "old")
        open(n, "w").write(fresh)
        open(o, "w").write(old.replace("A (2):\n  one\n  two", "A (1):\n  one"))
        run(sys.executable, os.path.join(HARNESS, "cover_letter.py"), n, o, "linux-source-6.12 6.12.117-1~deb12u1")
        out = open(n).read()
    ok = ("Subject: [PATCH 0/2] page_pool: demo" in out and "Hand-written text." in out and
          "Base: Debian linux-source-6.12 6.12.117-1~deb12u1" in out and "  two" in out and
          "***" not in out)
    return ok, out


BENCH_SH = os.path.join(TREE, "tools", "testing", "selftests", "net", "bench", "test_bench_page_pool.sh")
BENCH_OK = "bench_page_pool: Type:no-softirq-page_pool01 Per elem: 20 cycles(tsc) 5.100 ns (step:0)"


def bench_script(lines):
    """Run the series' test_bench_page_pool.sh with insmod "printing" LINES.

    insmod, rmmod and dmesg are stand-ins on PATH, and /dev/kmsg is a file
    bind-mounted in a mount namespace of its own, so the script's marker and
    the "module's" lines land in one log that the stand-in dmesg prints.
    """
    with tempfile.TemporaryDirectory() as d:
        kmsg = os.path.join(d, "kmsg")
        open(kmsg, "w").close()
        for name, body in (("insmod", 'printf "%s\n" "$PP_FAKE_KMSG" >>/dev/kmsg'),
                           ("rmmod", "exit 0"), ("dmesg", "cat /dev/kmsg")):
            path = os.path.join(d, name)
            open(path, "w").write(f"#!/bin/bash\n{body}\n")
            os.chmod(path, 0o755)
        env = dict(os.environ, PATH=d + ":" + os.environ["PATH"], PP_FAKE_KMSG="\n".join(lines))
        return run("unshare", "-m", "bash", "-c", 'mount --bind "$1" /dev/kmsg && exec bash "$2" x.ko loops=1000',
                   "sh", kmsg, BENCH_SH, env=env)


def t_bench_script():
    """test_bench_page_pool.sh fails an aborted, untimed or warning run, passes a clean one"""
    if not os.path.exists(BENCH_SH):
        return None, "the applied series has no test_bench_page_pool.sh"
    probe = run("unshare", "-m", "true")
    if probe.returncode != 0:
        return None, "unshare -m needs root: " + probe.stderr.strip()
    runs = {
        "clean": ([BENCH_OK], 0, "Per elem: 20 cycles"),
        "warn": ([BENCH_OK, "WARNING: CPU: 1 PID: 7 at net/core/page_pool.c:1 f+0x1/0x2"], 1,
                 "FAIL: the kernel warned"),
        "loops": ([BENCH_OK, "bench_page_pool: ERR: need more(>1000) loops(1) for timing"], 1,
                  "FAIL: a test did not complete"),
        "tsc": ([BENCH_OK, "bench_page_pool: ABORT: timing took ZERO TSC time"], 1,
                "FAIL: a test did not complete"),
        "short": ([BENCH_OK, "bench_page_pool: WARNING: Invoke count(10) smaller than loops(1000)"], 1,
                  "FAIL: a test did not complete"),
        "wallclock": ([BENCH_OK, "bench_page_pool: ABORT: timing took ZERO wallclock time"], 0,
                      "note: a test took less than one tick"),
        "silent": ([], 1, "FAIL: the module printed nothing"),
    }
    bad = []
    for name, (lines, rc, want) in runs.items():
        r = bench_script(lines)
        if (r.returncode != 0) != (rc != 0) or want not in r.stdout:
            bad.append(f"{name}: exit {r.returncode}, wanted {rc} and {want!r}\n{r.stdout}{r.stderr}")
    return not bad, "\n".join(bad)


def failed_in(verdicts, case, passed=None):
    """checks/controls.sh's failed_in, run as it stands there."""
    script = os.path.join(HARNESS, "checks", "controls.sh")
    fn = run("sed", "-n", "/^failed_in() {/,/^}/p", script).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(passed or "")
    try:
        return run("bash", "-c", fn + '\nfailed_in "$1" "$2" ${3:+"$3"}', "-", verdicts, case,
                   f.name if passed is not None else "").returncode == 0
    finally:
        os.unlink(f.name)


def t_failed_in():
    """a control counts the verdicts it must: a case's, one the tested head passed, a console one"""
    t = "tools/testing/selftests/drivers/net/ping.py"
    tap, cons = f"selftest {t}@vmxnet3: ping.test_xdp_native_sb", f"selftest {t}@vmxnet3: no console report while it ran"
    head = f"PASS vm x86_64: {tap}\nPASS vm x86_64: {cons}\n"
    # The same test run without a NIC (on netdevsim), failed.
    nsim = f"selftest {t}: ping.test_xdp_native_sb"
    checks = [
        (failed_in("FAIL control: kunit page_pool.pp_a\n", "page_pool.pp_a"), True),
        (failed_in("PASS control: kunit page_pool.pp_a\n", "page_pool.pp_a"), False),
        (failed_in("FAIL control: kunit page_pool.pp_ab\n", "page_pool.pp_a"), False),
        (failed_in(f"FAIL vm control: {tap}\n", f"{t}@vmxnet3", head), True),
        # It failed on the tested head too: it cannot run, the change is not why.
        (failed_in(f"FAIL vm control: {tap}\n", f"{t}@vmxnet3", f"FAIL vm x86_64: {tap}\n"), False),
        (failed_in(f"FAIL vm control: {tap}\nPASS vm control: {cons}\n", f"{t}@vmxnet3:console", head), False),
        (failed_in(f"PASS vm control: {tap}\nFAIL vm control: {cons}\n", f"{t}@vmxnet3:console", head), True),
        (failed_in(f"FAIL vm control: {nsim}\n", f"{t}@vmxnet3", f"PASS vm x86_64: {nsim}\n{head}"), False),
        (failed_in(f"FAIL vm control: {nsim}\n", t, f"PASS vm x86_64: {nsim}\n{head}"), True),
    ]
    return all(got == want for got, want in checks), [got for got, _ in checks]


def t_bench():
    """bench.py tables QEMU, UML and tracking runs (both modules' lines) with ratios and targets; a missing result fails; a spread wider than a target resolves nothing"""
    def tb_boots(d, ns, profile="x86_64"):
        """upstream's net/bench module, as the 7.3 series extends it"""
        for k, vals in ns.items():
            for r, v in enumerate(vals, 1):
                g = os.path.join(d, f"bench-{profile}-{k}-{r}", "guest")
                os.makedirs(g)
                open(os.path.join(g, "..", "accel"), "w").write("TCG\n")
                p = "# [   12.0] bench_page_pool: Type:"
                open(os.path.join(g, "tools_testing_selftests_net_bench_test_bench_page_pool.sh.log"), "w").write(
                    f"{p}for_loop Per elem: 3 cycles(tsc) 1.000 ns (step:0) - (invoke count:100)\n"
                    f"{p}no-softirq-page_pool01 Per elem: {v} cycles(tsc) {v / 2} ns (step:0) - (x)\n"
                    f"{p}no-softirq-page_pool01-dma Per elem: {v + 1} cycles(tsc) 0.000 ns (step:0) - (x)\n"
                    f"{p}destroy-inflight-dma pages:65536 took: 9 cycles(tsc) {v * 10 ** 6} ns\n")

    def boots(d, profile, ns):
        for k, vals in ns.items():
            for r, v in enumerate(vals, 1):
                g = os.path.join(d, f"bench-{profile}-{k}-{r}", "guest")
                os.makedirs(g)
                open(os.path.join(g, "x_page_pool_bench.sh.log"), "w").write(
                    f"# test=fast dma=0 n=1000 ns={v}.000 cycles=30\n"
                    f"# test=slow dma=0 n=1000 ns={v * 2}.000 cycles=30\n"
                    f"# test=destroy dma=1 n=1 ns={v * 10 ** 6}.000 cycles=1 pages=65536\n")

    bench = os.path.join(HARNESS, "bench.py")
    with tempfile.TemporaryDirectory() as d:
        boots(d, "x86_64", {"base": [10, 10, 12], "floor": [9, 9, 9], "series": [11, 11, 11]})
        r = run(sys.executable, bench, d, d, "3")
        boots(d, "um", {"base": [4, 4, 4], "series": [5, 5, 5]})
        for i, item in enumerate((3, 3, 4), 1):
            open(os.path.join(d, f"tracking-{i}.log"), "w").write(
                f"    # pp_test_tracking_cost: mechanism=item batch=64 n=131072 take_ns={item}.000 release_ns=4.0\n"
                "    # pp_test_tracking_cost: mechanism=xarray batch=64 n=131072 take_ns=40.0 release_ns=20.0\n"
                "    # pp_test_tracking_cost: mechanism=item_nodma batch=64 n=131072 take_ns=2.0 release_ns=1.0\n"
                "    # pp_test_tracking_cost: mechanism=item_nodma_own batch=64 n=131072 take_ns=1.5 release_ns=0.5\n")
        r3 = run(sys.executable, bench, d, d, "3")
        open(os.path.join(d, "bench-x86_64-floor-2", "guest", "x_page_pool_bench.sh.log"), "w").write("FAIL\n")
        r2 = run(sys.executable, bench, d, d, "3")
    with tempfile.TemporaryDirectory() as d:
        tb_boots(d, {"base": [10, 10, 10], "floor": [9, 9, 9], "series": [10, 10, 10]})
        tb_boots(d, {"base": [100, 100, 100], "floor": [100, 100, 101], "series": [104, 104, 104]}, "um")
        r4 = run(sys.executable, bench, d, d, "3")
    with tempfile.TemporaryDirectory() as d:
        # Every per-round ratio under the 1% target, but 5% apart: noise.
        tb_boots(d, {"base": [100, 100, 100], "floor": [90, 90, 90], "series": [95, 100, 97]})
        r5 = run(sys.executable, bench, d, d, "3")

    def rows(out, start):
        return [line for line in out.splitlines() if line.startswith(start)]
    fast, destroy = rows(r.stdout, "| fast |"), rows(r.stdout, "| destroy 65536 pages |")
    um_slow = rows(r3.stdout.split("### UML")[-1], "| slow |")
    take = rows(r3.stdout, "| 64 | take |")
    return (r.returncode == 0 and len(fast) == 1 and "| 1.100 [1.01-1.10] | 1.222 [1.22-1.22] |" in fast[0] and
            "not resolved: the quartiles are 9.2% apart, wider than the target (per-round ratios 1.008-1.100," in fast[0] and
            destroy and "missed (11.00 ms)" in destroy[0] and "### UML" not in r.stdout and
            r3.returncode == 0 and len(um_slow) == 1 and "| 1.250 [1.25-1.25] |" in um_slow[0] and
            "series/base within 5%: missed by 20.0% (per-round ratios 1.250-1.250" in um_slow[0] and
            len(take) == 1 and take[0].startswith("| 64 | take | 3.0 [3.0-4.0] 33% | 40.0 [40.0-40.0] 0% | 0.075 [0.075-0.08") and
            take[0].endswith("| 2.0 [2.0-2.0] 0% | 1.5 [1.5-1.5] 0% |") and
            r2.returncode != 0 and "bench-x86_64-floor-2" in r2.stderr and
            r4.returncode == 0 and "for_loop" not in r4.stdout and
            any("| no-softirq-page_pool01 | 0 |" in x and "series/base within 1%: met" in x for x in rows(r4.stdout, "|")) and
            any("| no-softirq-page_pool01 | 1 | 11.0 [11.0-11.0] 0% | 10.0" in x for x in rows(r4.stdout, "|")) and
            any("| destroy-inflight 65536 pages | 1 |" in x and "missed (10.00 ms)" in x for x in rows(r4.stdout, "|")) and
            "the floor is the same code built again" in r4.stdout and
            "### x86_64 under QEMU (TCG), 3 boots" in r4.stdout and
            "### x86_64 under QEMU (not recorded)" in r.stdout and
            "TSC cycles per element" in r4.stdout and "ns per element" in r4.stdout.split("### UML")[-1] and
            any("| no-softirq-page_pool01 | 0 | 50.0 [50.0-50.0] 0% | 50.0 [50.0-50.5] 1% | 52.0" in x
                for x in rows(r4.stdout.split("### UML")[-1], "|")) and
            r5.returncode == 0 and
            any("| no-softirq-page_pool01 | 0 |" in x and "series/base within 1%: not resolved: the quartiles are 2.5% apart" in x
                for x in rows(r5.stdout, "|"))), \
        r.stdout + r3.stdout + r4.stdout + r5.stdout + r.stderr + r2.stderr + r4.stderr + r5.stderr

def t_mcdiff():
    """mcdiff.py counts a dependent load, a store and a lock prefix; a README row calling a changed function identical fails"""
    mcdiff = os.path.join(HARNESS, "checks", "mcdiff.py")
    src = {
        "base": "long f(long *p) { return p[1] + 1; }\n"
                "long g(long **p) { return *p[0]; }\n"
                "void h(long *p, long v) { p[0] = v; }\n"
                "void k(long *p) { p[2] += 1; }\n",
        "series": "long f(long *p) { return p[1] + 1; }\n"
                  "long g(long **p) { return **(long **)p[0]; }\n"
                  "void h(long *p, long v) { p[0] = v; p[1] = v; }\n"
                  "void k(long *p) { __atomic_fetch_add(&p[2], 1, __ATOMIC_SEQ_CST); }\n",
    }
    rows = {"f": "identical", "g": "insns +1, loads +1", "h": "insns +1, stores +1", "k": "atomics +1"}
    with tempfile.TemporaryDirectory() as d:
        for side, text in src.items():
            os.makedirs(os.path.join(d, side))
            open(os.path.join(d, side, "x.c"), "w").write(text)
            c = run("gcc", "-O2", "-mno-sse", "-fno-asynchronous-unwind-tables", "-c", "-o", os.path.join(d, side, "x.o"),
                    os.path.join(d, side, "x.c"))
            if c.returncode != 0:
                return False, c.stderr
        readme = os.path.join(d, "README.md")
        table = "".join(f"| `{f}` | `x.o` | {w} |\n" for f, w in rows.items())
        open(readme, "w").write("# Machine code\n\n| function | object | change |\n|---|---|---|\n" + table)
        good = run(sys.executable, mcdiff, os.path.join(d, "base"), os.path.join(d, "series"), "--readme", readme)
        open(readme, "w").write("# Machine code\n\n" + table.replace("insns +1, stores +1", "identical"))
        bad = run(sys.executable, mcdiff, os.path.join(d, "base"), os.path.join(d, "series"), "--readme", readme)
    return (good.returncode == 0 and good.stdout.count("PASS machine code") == 4 and
            bad.returncode != 0 and "FAIL machine code: h (x.o): insns +1, stores +1, README says: identical" in bad.stdout
            and "+mov %rsi,0x8(%rdi)" in bad.stdout), good.stdout + good.stderr + bad.stdout + bad.stderr

for t in (t_clean, t_warn, t_splats, t_benign, t_allow, t_kunit_fail, t_kunit_missing, t_dma_errors,
          t_selftest_fail, t_selftest_splat, t_selftest_skip, t_kunit_skip, t_failed_in,
          t_kconfig, t_kconfig_merge, t_checkpatch, t_cover_letter, t_bench, t_bench_script, t_mcdiff):
    case(t)
sys.exit(0 if all(results) else 1)
