#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0

"""
Fail page_pool's allocations one at a time, each where it happens.

fail-nth (Documentation/fault-injection/fault-injection.rst) makes the nth
allocation of the thread that writes it fail. The test narrows failslab and
fail_page_alloc to allocations with page_pool's code on the stack (their
stacktrace filter, set to the text of page_pool.o and page_pool_user.o as
/proc/kallsyms places it) and lets them fail GFP_KERNEL and order-0
allocations too. For n = 1, 2, ... until an operation makes fewer than n
such allocations, it fails the nth of each of the operations below, and
does it again until two such passes went alike:

- a queue restart of netdevsim's rx queue 0 that only replaces the queue's
  pool (debugfs queue_reset, mode 1): page_pool_create() and what it
  allocates. The restart must fail with ENOMEM and keep the old pool, or
  succeed with a new one;
- the first page taken from a new, empty pool (debugfs pp_hold): the bulk
  refill, the block of items it takes for its pages, their DMA mappings
  (the port's pools map pages for the netdevsim bus device, debugfs
  pp_dma). It must give no page and ENOMEM, or one page;
- the same with the port's pools of order 1 (debugfs pp_order), whose
  pages come one at a time: the item block, then the page, taken after
  its item.

After each step the pools the port replaced must be gone: a pool that lost
count of a page would stay, detached, with the page "in flight". When the
port's pools are gone at the end, DMA-API debug must list no mapping of
the bus device and count no error. Where the kernel has kmemleak, it must
then report no object that this test allocated with page_pool on the stack:
kmemleak reports an object only once it is 5 s old and was unreferenced in
two scans, so the test waits those 5 s after its last step (a precondition
of kmemleak's, not a bound on the kernel). An item that an error path
loses is no object kmemleak sees (the pool frees its item blocks whole): a
kernel with CONFIG_DEBUG_NET counts the items of each pool it frees and
warns when one did not come back, so the run's kernel log must show no
warning.
"""

import errno
import os
import re
import time
from pathlib import Path

from lib.py import ksft_run, ksft_exit, ksft_pr, ksft_eq, ksft_ge, ksft_ne
from lib.py import KsftFailEx, KsftSkipEx, NetDrvEnv, NetdevFamily
from lib.py import defer, ip

DEBUGFS = "/sys/kernel/debug"
FAULTS = ("failslab", "fail_page_alloc")
KMEMLEAK = DEBUGFS + "/kmemleak"
KMEMLEAK_MIN_AGE = 5
# No step of the test makes this many allocations with page_pool on the
# stack; a sweep that gets there is stuck.
MAX_NTH = 1000
MAX_PASSES = 4


def read(path):
    return Path(path).read_text(encoding="ascii").strip()


def write(path, val):
    Path(path).write_text(str(val), encoding="ascii")


def kernel_text():
    """
    The functions of the kernel's main text, (address, name), by address:
    not those of modules, of init text, cold parts (NAME.cold) or the
    padding before a function (__pfx_NAME).
    """
    syms, text = [], {}
    with open("/proc/kallsyms", encoding="ascii") as f:
        for line in f:
            fields = line.split()
            if len(fields) != 3:
                continue
            addr, name = int(fields[0], 16), fields[2]
            if name in ("_stext", "_etext"):
                text[name] = addr
            elif fields[1] in "tT" and not name.endswith(".cold") \
                    and not name.startswith("__pfx_"):
                syms.append((addr, name))
    if len(text) != 2 or not text["_etext"]:
        raise KsftSkipEx("no kernel addresses in /proc/kallsyms")
    return sorted(s for s in syms if text["_stext"] <= s[0] < text["_etext"])


def text_range(syms, pattern):
    """From the first function named @pattern to the end of the last."""
    ours = [i for i, (_, name) in enumerate(syms) if re.match(pattern, name)]
    if not ours:
        raise KsftSkipEx(f"no function {pattern} in /proc/kallsyms")
    start, end = syms[ours[0]][0], syms[ours[-1] + 1][0]
    others = [name for addr, name in syms if start <= addr < end
              and not re.match(pattern, name)]
    # One file's text has its helpers between the named functions, not
    # more of them: a wider range (a function of that name placed apart,
    # in another section) would count other code's allocations.
    if len(others) > len(ours):
        raise KsftFailEx(f"{pattern} text {start:#x}-{end:#x} holds "
                         f"{len(others)} other functions, more than its "
                         f"{len(ours)}: not one file's text")
    return start, end, len(ours), others


def arm_faults(only, never):
    """
    Count and fail only allocations with a return address in @only and
    none in @never.
    """
    for fault in FAULTS:
        base = f"{DEBUGFS}/{fault}/"
        if not os.path.exists(base + "require-start"):
            raise KsftSkipEx(f"no {fault} with its stacktrace filter")
        settings = {"require-start": only[0], "require-end": only[1],
                    "reject-start": never[0], "reject-end": never[1],
                    "stacktrace-depth": 32, "verbose": 0,
                    "ignore-gfp-wait": "N"}
        if fault == "fail_page_alloc":
            settings["min-order"] = 0
        for key, val in settings.items():
            old = read(base + key)
            write(base + key, val)
            defer(write, base + key, old)


def fail_nth(n, op):
    """Run @op with its nth allocation under page_pool failed."""
    fd = os.open("/proc/thread-self/fail-nth", os.O_RDWR)
    try:
        os.write(fd, str(n).encode())
        try:
            op()
            err = 0
        except OSError as e:
            err = e.errno
        left = int(os.pread(fd, 16, 0))
        os.write(fd, b"0")
    finally:
        os.close(fd)
    return err, left == 0


class Port:
    """netdevsim port 0 of the environment, with one rx queue."""

    def __init__(self, cfg, nf):
        self.cfg, self.nf = cfg, nf
        self.dfs = cfg._ns.nsims[0].dfs_dir

    def pools(self):
        return [pp for pp in self.nf.page_pool_get({}, dump=True)
                if pp.get("ifindex") == self.cfg.ifindex]

    def live_pool(self):
        """The queue's pool; no pool the port replaced may be left."""
        pools = self.pools()
        detached = [pp for pp in pools if "detach-time" in pp]
        if detached:
            raise KsftFailEx(f"replaced pools left with pages out: {detached}")
        ksft_eq(len(pools), 1, "one pool, for rx queue 0")
        return pools[0]["id"]

    def restart(self):
        """Replace rx queue 0's pool, and only that (mode 1)."""
        self.dfs_write("queue_reset", b"0 1")

    def hold(self, val):
        self.dfs_write("pp_hold", val)

    def dfs_write(self, name, val):
        # Unbuffered: the error of the write itself, raised here.
        with open(self.dfs + name, "wb", buffering=0) as f:
            f.write(val)


def sweep_once(what, op, check):
    """
    fail-nth over @op until it makes fewer allocations than n; the error
    each n gave.
    """
    errs = []
    for n in range(1, MAX_NTH + 1):
        err, injected = fail_nth(n, op)
        if err not in (0, errno.ENOMEM):
            raise KsftFailEx(f"{what}, allocation {n} failed: "
                             f"{os.strerror(err)}, not ENOMEM")
        check(err)
        if not injected:
            return tuple(errs)
        errs.append(err)
    raise KsftFailEx(f"{what}: still allocating at the {MAX_NTH}th time")


def sweep(what, op, check):
    """
    sweep_once() again until two passes in a row went alike, up to
    MAX_PASSES: which of an operation's allocations comes nth can change
    from one pass to the next (a first failure on a path records a stack
    trace, a kvmalloc() falls back to vmalloc()), so one pass can miss an
    allocation that another reaches. Returns how many fails of the last
    pass failed the operation.
    """
    passes = []
    while len(passes) < 2 or passes[-1] != passes[-2]:
        if len(passes) == MAX_PASSES:
            break
        passes.append(sweep_once(what, op, check))
    for i, errs in enumerate(passes):
        failed = sum(1 for e in errs if e)
        ksft_pr(f"{what}, pass {i + 1}: {len(errs)} allocations under "
                f"page_pool, {failed} failed it with ENOMEM, "
                f"{len(errs) - failed} it got past")
    return sum(1 for e in passes[-1] if e)


def kmemleak_ours():
    """What kmemleak reports as leaked by this process under page_pool."""
    write(KMEMLEAK, "scan")
    write(KMEMLEAK, "scan")
    leaks = []
    for obj in read(KMEMLEAK).split("unreferenced object")[1:]:
        pid = re.search(r'comm ".*", pid (\d+)', obj)
        if pid and int(pid.group(1)) == os.getpid() and "page_pool" in obj:
            leaks.append("unreferenced object" + obj)
    return leaks


def dma_errors():
    return int(read(DEBUGFS + "/dma-api/error_count"))


def dma_mappings(dev):
    with open(DEBUGFS + "/dma-api/dump", encoding="ascii") as f:
        return sum(1 for line in f if line.split()[1:2] == [dev])


def alloc_failures(cfg, nf) -> None:
    """
    Fail each allocation page_pool makes to create a pool and to hand out
    its first page, then look for what a failure left behind.
    """
    if not os.path.exists("/proc/thread-self/fail-nth"):
        raise KsftSkipEx("no fail-nth (CONFIG_FAULT_INJECTION)")
    dma_debug = os.path.isdir(DEBUGFS + "/dma-api")
    if dma_debug and read(DEBUGFS + "/dma-api/disabled") == "Y":
        raise KsftSkipEx("DMA-API debug disabled itself")
    if not dma_debug:
        ksft_pr("no DMA-API debug (CONFIG_DMA_API_DEBUG): no mapping check")
    syms = kernel_text()
    only = text_range(syms, r"(__)?page_pool_")
    # dma-debug turns itself off when an allocation of its own fails (its
    # cacheline tracking): those do not count.
    never = text_range(syms, r"debug_dma_") if dma_debug else (0, 0, 0, [])
    for what, (start, end, named, others) in (("page_pool", only),
                                               ("debug_dma", never)):
        ksft_pr(f"{what} text {start:#x}-{end:#x}: {named} {what}_ "
                f"functions and {len(others)} others: {' '.join(others)}")
    leakcheck = os.path.exists(KMEMLEAK)
    if leakcheck:
        write(KMEMLEAK, "clear")
    else:
        ksft_pr("no kmemleak (CONFIG_DEBUG_KMEMLEAK): no leak check")

    port = Port(cfg, nf)
    bus_dev = f"netdevsim{cfg._ns.addr}"
    write(port.dfs + "pp_dma", "Y")
    defer(write, port.dfs + "pp_dma", "N")
    ip(f"link set dev {cfg.ifname} down")
    ip(f"link set dev {cfg.ifname} up")
    errors = dma_errors() if dma_debug else None
    arm_faults(only, never)

    old = [port.live_pool()]

    def restarted(err):
        pool = port.live_pool()
        if err:
            ksft_eq(pool, old[0], "a failed restart keeps the old pool")
        else:
            ksft_ne(pool, old[0], "a restart makes a new pool")
        old[0] = pool

    failed = sweep("restart", port.restart, restarted)
    ksft_ge(failed, 1, "page_pool_create() failed for an allocation")

    def fresh_pool():
        # An empty pool, with no item: its first page takes every step.
        port.restart()
        port.live_pool()

    def held(err):
        ksft_eq(read(port.dfs + "pp_hold"), "n" if err else "y",
                "a page is held exactly when pp_hold succeeded")
        if not err:
            port.hold(b"0")
        fresh_pool()

    def first_page(what):
        fresh_pool()
        failed = sweep(what, lambda: port.hold(b"1"), held)
        ksft_ge(failed, 2, f"{what}: its item block and its page each "
                "failed it")

    first_page("first page")
    write(port.dfs + "pp_order", 1)
    defer(write, port.dfs + "pp_order", 0)
    ip(f"link set dev {cfg.ifname} down")
    ip(f"link set dev {cfg.ifname} up")
    first_page("first order-1 page")

    ip(f"link set dev {cfg.ifname} down")
    ksft_eq(port.pools(), [], "no pool left after the port went down")
    if dma_debug:
        ksft_eq(dma_mappings(bus_dev), 0, f"mappings of {bus_dev} left")
        ksft_eq(dma_errors(), errors, "DMA-API errors")
    ip(f"link set dev {cfg.ifname} up")

    if leakcheck:
        time.sleep(KMEMLEAK_MIN_AGE + 1)
        leaks = kmemleak_ours()
        for leak in leaks:
            ksft_pr(leak)
        ksft_eq(len(leaks), 0, "objects leaked under page_pool")


def main() -> None:
    with NetDrvEnv(__file__, nsim_test=True) as cfg:
        ksft_run([alloc_failures], args=(cfg, NetdevFamily()))
    ksft_exit()


if __name__ == "__main__":
    main()
