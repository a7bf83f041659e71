#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0

"""
Unbind a NIC from its driver while its page_pool pages are out in the stack.

Received datagrams wait, unread, in a UDP socket, and the first fragment of
an IPv4 datagram waits in reassembly: both hold pages of the device's rx
page pools. Unbinding the driver destroys those pools with the pages still
out. A pool that DMA-maps its pages must unmap them before the driver is
gone. DMA-API debug (CONFIG_DMA_API_DEBUG) counts an error for every device
that still has mappings when its driver unbinds, and for an unmap of a
mapping it does not know (a page unmapped twice); it lists live mappings in
dma-api/dump. Both are read around the unbind, and the error count again
once the pages have come back. The stack keeps using the pages: the
datagrams read back intact, and once the device is bound again the rest of
the fragmented datagram completes the one in reassembly.

On a NIC NETIF names (with a remote endpoint, see drivers/net/README.rst)
the test unbinds the driver of the NIC's PCI device, and binds it again.
Without NETIF it runs on netdevsim: the port's rx queues map their pages
for the netdevsim bus device (debugfs pp_dma) and the test deletes the
port; nothing binds it again, so no fragment is held there. It restores
the sysctls and debugfs settings it changes.

A second case does it over and over while the remote sends all the time:
PP_UNBIND_CYCLES times (default 3), it unbinds and binds the NIC again,
or creates a pair of netdevsim devices, lets traffic through them and
removes them. Datagrams wait unread across each cycle and are read after
it. Every cycle leaves no mapping of the device and no DMA-API error, and
once the traffic stops and the socket is read, every pool of every cycle
is gone.
"""

import glob
import os
import socket
import struct
import time

from lib.py import ksft_run, ksft_exit, ksft_pr, ksft_eq, ksft_ge, ksft_true
from lib.py import ksft_disruptive, KsftFailEx, KsftSkipEx
from lib.py import NetDrvEpEnv, NetdevFamily, NetdevSimDev, NetNS, NlError
from lib.py import bkg, cmd, defer, ip, rand_port

DMA_DEBUG = "/sys/kernel/debug/dma-api"
DGRAMS = 64
DGRAM_LEN = 1000
# The fragmented datagram: UDP header and FRAG_HEAD bytes of payload in the
# first fragment (large enough that drivers do not copy it out of the pool
# page, a multiple of 8 with the header), FRAG_TAIL bytes in the second.
FRAG_HEAD, FRAG_TAIL = 992, 64
FRAG_ID = 0x5050
# The bound of each wait on the kernel: it catches hangs, no verdict rests
# on it.
WAIT = 30
CYCLES = int(os.environ.get("PP_UNBIND_CYCLES", "3"))
# The netdevsim pairs of the cycles: addresses apart from NetDrvEpEnv's.
CYCLE_PFX = "198.51.100."


def wait_until(cond, what):
    end = time.monotonic() + WAIT
    while not cond():
        if time.monotonic() > end:
            raise KsftFailEx(f"{what}: not within {WAIT}s")
        time.sleep(0.05)


def read_file(path):
    with open(path, encoding="ascii") as f:
        return f.read().strip()


def write_file(path, val):
    with open(path, "w", encoding="ascii") as f:
        f.write(str(val))


def set_for_case(path, val):
    """Write @val to @path until the test case ends."""
    old = read_file(path)
    write_file(path, val)
    defer(write_file, path, old)


def sysctl_set(name, val):
    """Set sysctl @name to @val until the test case ends."""
    set_for_case("/proc/sys/" + name.replace(".", "/"), val)


def wait_carrier(ifname, when):
    wait_until(lambda: read_file(f"/sys/class/net/{ifname}/carrier")
               == "1", f"carrier of {ifname} {when}")


def dma_errors():
    return int(read_file(DMA_DEBUG + "/error_count"))


def dma_mappings(dev):
    """The mappings DMA-API debug knows for the device named @dev."""
    with open(DMA_DEBUG + "/dump", encoding="ascii") as f:
        return sum(1 for line in f if line.split()[1:2] == [dev])


def bus_device(ifname):
    """The PCI device under @ifname: the one whose driver the test unbinds."""
    path = os.path.realpath(f"/sys/class/net/{ifname}/device")
    while path != "/sys/devices" and path != "/":
        subsys = os.path.join(path, "subsystem")
        if os.path.exists(subsys) and \
           os.path.basename(os.path.realpath(subsys)) == "pci":
            return path
        path = os.path.dirname(path)
    raise KsftSkipEx(f"{ifname} is not on a PCI device")


def pci_unbind(cfg):
    """The device DMA-API debug names, and how to take it away and back."""
    pci_path = bus_device(cfg.ifname)
    pci = os.path.basename(pci_path)
    drv = os.path.realpath(pci_path + "/driver")
    return (pci, lambda: write_file(f"{drv}/unbind", pci),
            lambda: rebind(cfg, drv, pci_path))


def nsim_port_del(cfg, nsimdev):
    """
    The same for a netdevsim port, its rx queues in DMA mode (read when the
    device opens). A port deleted does not come back.
    """
    nsim = nsimdev.nsims[0]
    nsim.dfs_write("pp_dma", "Y")
    ip(f"link set dev {cfg.ifname} down")
    ip(f"link set dev {cfg.ifname} up")
    wait_carrier(cfg.ifname, "after the DMA mode is on")
    return f"netdevsim{nsimdev.addr}", lambda: nsimdev.remove_nsim(nsim), None


def require_dma_debug(cfg):
    """
    Skip without DMA-API debug; count its every error, and free a datagram
    where it is read until the case ends.
    """
    cfg.require_ipver("4")
    if not os.path.isdir(DMA_DEBUG):
        raise KsftSkipEx("no DMA-API debug (CONFIG_DMA_API_DEBUG, debugfs)")
    if read_file(DMA_DEBUG + "/disabled") == "Y":
        raise KsftSkipEx("DMA-API debug disabled itself")
    # Every error, not only the first of the boot.
    set_for_case(DMA_DEBUG + "/all_errors", 1)
    # A datagram read on another CPU than the one that received it would
    # wait on that CPU's deferred-free list (skb_attempt_defer_free())
    # until it next runs NET_RX, and keep the pool alive: free it where it
    # is read.
    sysctl_set("net.core.skb_defer_max", 0)


def pattern(seq, size):
    return bytes((seq + i) & 0xff for i in range(size))


def ipv4_fragment(cfg, payload, offset, more):
    """An IPv4 fragment from the remote to us, at @offset bytes."""
    flags = (0x2000 if more else 0) | (offset // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), FRAG_ID,
                      flags, 64, socket.IPPROTO_UDP, 0,
                      socket.inet_aton(cfg.remote_addr_v["4"]),
                      socket.inet_aton(cfg.addr_v["4"]))
    return hdr + payload


def remote_send_raw(cfg, pkt):
    code = ("import socket; "
            "s = socket.socket(socket.AF_INET, socket.SOCK_RAW, "
            "socket.IPPROTO_RAW); "
            f"s.sendto(bytes.fromhex('{pkt.hex()}'), "
            f"('{cfg.addr_v['4']}', 0))")
    cmd(f"python3 -c \"{code}\"", host=cfg.remote)


def remote_send_udp(cfg, port):
    code = ("import socket; "
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"[s.sendto(bytes((n + i) & 0xff for i in range({DGRAM_LEN})), "
            f"('{cfg.addr_v['4']}', {port})) for n in range({DGRAMS})]")
    cmd(f"python3 -c \"{code}\"", host=cfg.remote)


def snmp(table, field, path="/proc/net/snmp"):
    with open(path, encoding="ascii") as f:
        rows = [line.split() for line in f if line.startswith(table + ":")]
    if len(rows) == 2:
        return int(rows[1][rows[0].index(field)])
    return int(rows[0][rows[0].index(field) + 1])


def frags_in_reassembly():
    return snmp("FRAG", "inuse", "/proc/net/sockstat")


def pool_alive(nf, pp_id):
    try:
        nf.page_pool_get({"id": pp_id})
        return True
    except NlError:
        return False


def rebind(cfg, drv, pci_path):
    """Bind the device again and give NETIF back its name and address."""
    write_file(f"{drv}/bind", os.path.basename(pci_path))
    found = []

    def netdev_back():
        found[:] = glob.glob(pci_path + "/net/*") + \
            glob.glob(pci_path + "/*/net/*")
        return bool(found)

    wait_until(netdev_back, "netdev back after bind")
    name = os.path.basename(found[0])
    if name != cfg.ifname:
        ip(f"link set dev {name} name {cfg.ifname}")
    ip(f"addr replace {cfg.addr_v['4']}/24 dev {cfg.ifname}")
    ip(f"link set dev {cfg.ifname} up")
    wait_carrier(cfg.ifname, "after bind")


@ksft_disruptive
def unbind_with_pages_held(cfg, nf) -> None:
    """
    Unbind the driver (delete the netdevsim port) with datagrams in a
    socket and, where the device comes back, a fragment in reassembly, then
    check the device's mappings and the held data.
    """
    require_dma_debug(cfg)
    nsimdev = cfg.get_local_nsim_dev()
    if nsimdev:
        dev, unbind, bind = nsim_port_del(cfg, nsimdev)
    else:
        dev, unbind, bind = pci_unbind(cfg)
    pools = [pp["id"] for pp in nf.page_pool_get({}, dump=True)
             if pp.get("ifindex") == cfg.ifindex]
    if not pools:
        raise KsftSkipEx(f"{cfg.ifname} has no page pools")

    if bind:
        # The fragment must outlive the unbind and the bind.
        sysctl_set("net.ipv4.ipfrag_time", 3600)

    port = rand_port(socket.SOCK_DGRAM)
    frag_port = rand_port(socket.SOCK_DGRAM)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    defer(sock.close)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((cfg.addr_v["4"], port))
    fsock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    defer(fsock.close)
    fsock.bind((cfg.addr_v["4"], frag_port))

    # No datagram waits in the remote's neighbour queue, which drops some.
    ip(f"neigh replace {cfg.addr_v['4']} lladdr {cfg.dev['address']} "
       f"dev {cfg.remote_ifname} nud permanent", host=cfg.remote)
    defer(ip, f"neigh del {cfg.addr_v['4']} dev {cfg.remote_ifname}",
          host=cfg.remote)

    # UDP counts a datagram when it is read: count IP deliveries.
    delivered = snmp("Ip", "InDelivers")
    remote_send_udp(cfg, port)
    wait_until(lambda: snmp("Ip", "InDelivers") >= delivered + DGRAMS,
               "datagrams received")
    payload = pattern(7, FRAG_HEAD + FRAG_TAIL)
    udp = struct.pack("!HHHH", 4242, frag_port, 8 + len(payload), 0)
    first = udp + payload[:FRAG_HEAD]
    if bind:
        inuse = frags_in_reassembly()
        remote_send_raw(cfg, ipv4_fragment(cfg, first, 0, True))
        wait_until(lambda: frags_in_reassembly() > inuse,
                   "fragment in reassembly")

    inflight = sum(pp.get("inflight", 0) for pp in
                   nf.page_pool_get({}, dump=True) if pp["id"] in pools)
    mapped = dma_mappings(dev)
    ksft_ge(mapped, 1, f"the pools map their pages for {dev}")
    errors = dma_errors()
    unbind()
    bound = defer(bind) if bind else None

    ksft_eq(dma_errors(), errors, "DMA-API errors at unbind")
    ksft_eq(dma_mappings(dev), 0, f"mappings of {dev} left after unbind")
    alive = [i for i in pools if pool_alive(nf, i)]
    ksft_ge(len(alive), 1, "a pool outlives the unbind, detached")
    ksft_pr(f"{dev}: {len(pools)} pools, {inflight} pages inflight, "
            f"{mapped} mappings before unbind; {len(alive)} pools live on")

    got = []
    while len(got) < DGRAMS:
        try:
            got.append(sock.recv(2 * DGRAM_LEN, socket.MSG_DONTWAIT))
        except BlockingIOError:
            break
    ksft_eq(len(got), DGRAMS, "datagrams read after unbind")
    ksft_true(got == [pattern(n, DGRAM_LEN) for n in range(DGRAMS)],
              "datagrams intact")

    if bound:
        bound.exec()
        remote_send_raw(cfg, ipv4_fragment(cfg, payload[FRAG_HEAD:],
                                           len(first), False))
        fsock.settimeout(WAIT)
        ksft_eq(fsock.recv(2 * len(payload)), payload,
                "the datagram reassembled across the unbind")

    # The last pages are back: the pools go, and still no DMA-API error.
    sock.close()
    wait_until(lambda: not any(pool_alive(nf, i) for i in pools),
               "old pools freed")
    ksft_eq(dma_errors(), errors, "DMA-API errors after the last page")


def sender(addr, port):
    """Python that sends datagrams to @addr:@port until it is stopped."""
    return ("import socket, time; "
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"d = bytes({DGRAM_LEN}); "
            f"[(s.sendto(d, ('{addr}', {port})), time.sleep(0.001)) "
            "for _ in iter(int, 1)]")


def wait_traffic(what):
    delivered = snmp("Ip", "InDelivers")
    wait_until(lambda: snmp("Ip", "InDelivers") >= delivered + 16, what)


def pools_of(nf, ifindex):
    return {pp["id"] for pp in nf.page_pool_get({}, dump=True)
            if pp.get("ifindex") == ifindex}


def drain(sock):
    """Read what waits in @sock; return how many datagrams."""
    n = 0
    while True:
        try:
            sock.recv(2 * DGRAM_LEN, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return n
        n += 1


def check_cycle(i, nf, dev, ids, errors):
    """
    After cycle @i took @dev away: a pool of it lives on, detached, with
    pages in the socket, and nothing is left mapped.
    """
    ksft_true(any(pool_alive(nf, pp_id) for pp_id in ids),
              f"cycle {i}: a pool of {dev} outlives it, detached")
    ksft_eq(dma_mappings(dev), 0, f"cycle {i}: mappings of {dev} left")
    ksft_eq(dma_errors(), errors, f"cycle {i}: DMA-API errors")


def nic_cycles(cfg, nf, sock, errors):
    """Unbind and bind the NIC's driver again while the remote sends."""
    dev, unbind, bind = pci_unbind(cfg)
    ip(f"neigh replace {cfg.addr_v['4']} lladdr {cfg.dev['address']} "
       f"dev {cfg.remote_ifname} nud permanent", host=cfg.remote)
    defer(ip, f"neigh del {cfg.addr_v['4']} dev {cfg.remote_ifname}",
          host=cfg.remote)
    pools, read = set(), 0
    port = sock.getsockname()[1]
    with bkg(f"python3 -c \"{sender(cfg.addr_v['4'], port)}\"",
             host=cfg.remote):
        for i in range(CYCLES):
            wait_traffic(f"cycle {i}: datagrams before the unbind")
            ifindex = int(read_file(f"/sys/class/net/{cfg.ifname}/ifindex"))
            ids = pools_of(nf, ifindex)
            pools |= ids
            unbind()
            bound = defer(bind)
            check_cycle(i, nf, dev, ids, errors)
            bound.exec()
            # The old pools' pages come back while the new ones receive.
            read += drain(sock)
    return pools, read


def nsim_cycles(nf, sock, errors):
    """
    Create a pair of linked netdevsim devices, the local one in DMA mode,
    let the remote one send to it and remove it while it does; again.
    """
    pools, read = set(), 0
    port = sock.getsockname()[1]
    for i in range(CYCLES):
        with NetNS() as ns, NetdevSimDev() as local, \
             NetdevSimDev(ns=ns) as peer:
            lnk, pnk = local.nsims[0], peer.nsims[0]
            with open("/proc/self/ns/net", encoding="ascii") as fd0, \
                 open(f"/var/run/netns/{ns.name}", encoding="ascii") as fd1:
                NetdevSimDev.ctrl_write("link_device",
                                        f"{fd0.fileno()}:{lnk.ifindex} "
                                        f"{fd1.fileno()}:{pnk.ifindex}")
            lnk.dfs_write("pp_dma", "Y")
            ip(f"addr add dev {lnk.ifname} {CYCLE_PFX}1/24")
            ip(f"link set dev {lnk.ifname} up")
            ip(f"addr add dev {pnk.ifname} {CYCLE_PFX}2/24", ns=ns)
            ip(f"link set dev {pnk.ifname} up", ns=ns)
            ip(f"neigh replace {CYCLE_PFX}1 lladdr {lnk.dev['address']} "
               f"dev {pnk.ifname} nud permanent", ns=ns)
            wait_carrier(lnk.ifname, f"in cycle {i}")
            # A list: bkg() would split a string at its spaces.
            with bkg(["ip", "netns", "exec", ns.name, "python3", "-c",
                      sender(CYCLE_PFX + "1", port)]):
                wait_traffic(f"cycle {i}: datagrams before the removal")
                ids = pools_of(nf, lnk.ifindex)
                pools |= ids
                local.remove()
                check_cycle(i, nf, f"netdevsim{local.addr}", ids, errors)
        read += drain(sock)
    return pools, read


@ksft_disruptive
def cycles_under_traffic(cfg, nf) -> None:
    """
    Take the device away and bring it back (netdevsim: a new pair) while
    datagrams arrive and wait unread, PP_UNBIND_CYCLES times; then read
    them and check that every pool of every cycle is gone.
    """
    require_dma_debug(cfg)
    errors = dma_errors()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    defer(sock.close)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("", rand_port(socket.SOCK_DGRAM)))

    if cfg.get_local_nsim_dev():
        pools, read = nsim_cycles(nf, sock, errors)
    else:
        pools, read = nic_cycles(cfg, nf, sock, errors)
    read += drain(sock)
    sock.close()
    ksft_pr(f"{CYCLES} cycles under traffic: {len(pools)} pools, "
            f"{read} datagrams read")
    ksft_ge(len(pools), CYCLES, "every cycle had a pool")
    wait_until(lambda: not any(pool_alive(nf, i) for i in pools),
               "the pools of the cycles freed")
    ksft_eq(dma_errors(), errors, "DMA-API errors after the last page")


def main() -> None:
    with NetDrvEpEnv(__file__) as cfg:
        ksft_run([unbind_with_pages_held, cycles_under_traffic],
                 args=(cfg, NetdevFamily()))
    ksft_exit()


if __name__ == "__main__":
    main()
