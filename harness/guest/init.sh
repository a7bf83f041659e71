#!/bin/bash
# PID 1 of the test VM. The root is the host's /, read-only, over 9p (QEMU) or
# hostfs (UML); the guest writes only to tmpfs and to the host's
# build/vm/<run>/guest, the "ppout" 9p share or, with pp_out=hostfs:DIR, DIR.
# The kernel passes pp_tree=, pp_tests=, pp_out= and pp_modules= from its
# command line as environment.
# Every line for the host starts with "PPVM:".
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm 2>/dev/null
# What udev would add: kselftest's runner writes to /dev/stdout.
ln -sf /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do ln -sf "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"; done
mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /dev/shm
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
# Writable scratch space over the read-only root. The kernel tree may live
# below one of these folders (a clone in /tmp): keep the root reachable and
# bind the tree back if a tmpfs hid it.
mkdir -p /dev/.pp-root
mount --bind / /dev/.pp-root
for d in /tmp /run /var/tmp /var/log /var/lib/ip /root; do
	mount -t tmpfs tmp "$d" 2>/dev/null
done
if [ ! -d "$pp_tree" ]; then
	mkdir -p "$pp_tree"
	mount --bind "/dev/.pp-root$pp_tree" "$pp_tree"
fi
case ${pp_out:-} in
hostfs:*) mount -t hostfs -o "${pp_out#hostfs:}" ppout /mnt ;;
*) mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 ppout /mnt ;;
esac
OUT=/mnt
ip link set lo up

DMA=/sys/kernel/debug/dma-api
dma_errors() { cat "$DMA/error_count" 2>/dev/null || echo -1; }
# Report every DMA-API error, not only the first of the boot.
[ -d "$DMA" ] && echo 1 >"$DMA/all_errors"

# wire DRIVER: the NIC of DRIVER is the drivers/net selftests' NETIF
# (192.0.2.1), the other QEMU NIC on its hub their remote endpoint
# (192.0.2.2), alone in netns "ppremote"; exported as drivers/net/README.rst
# says. unwire puts it all back.
nic_of() {
	local n
	for n in /sys/class/net/*; do
		[ "$(basename "$(readlink -f "$n/device/driver" 2>/dev/null)")" = "$1" ] &&
			{ basename "$n"; return; }
	done
}
wire() {
	local peer p
	NETIF=$(nic_of "$1")
	for p in virtio_net vmxnet3; do
		[ "$p" = "$1" ] || peer=$(nic_of "$p")
	done
	if [ -z "$NETIF" ] || [ -z "$peer" ]; then
		echo "PPVM: wire $1: no such NIC pair (local '$NETIF', remote '$peer')"
		return 1
	fi
	ip netns add ppremote
	ip link set dev "$peer" netns ppremote
	ip -n ppremote addr add 192.0.2.2/24 dev "$peer"
	ip -n ppremote link set dev lo up
	ip -n ppremote link set dev "$peer" up
	ip addr add 192.0.2.1/24 dev "$NETIF"
	ip link set dev "$NETIF" up
	export NETIF LOCAL_V4=192.0.2.1 REMOTE_V4=192.0.2.2 REMOTE_TYPE=netns REMOTE_ARGS=ppremote
	WIRED_PEER=$peer
}
unwire() {
	ip -n ppremote link set dev "$WIRED_PEER" netns 1
	ip netns del ppremote
	ip addr flush dev "$NETIF" 2>/dev/null
	ip addr flush dev "$WIRED_PEER"
	unset NETIF LOCAL_V4 REMOTE_V4 REMOTE_TYPE REMOTE_ARGS WIRED_PEER
}

# The kernel's modules (vm.sh), before any test; a test that needs one that
# did not load fails on its own.
# Through the root's bind: a tmpfs above hides a build folder under /tmp.
pp_modules=${pp_modules:-}
for m in ${pp_modules//,/ }; do
	if insmod "/dev/.pp-root$m"; then
		echo "PPVM: module $(basename "$m") loaded"
	else
		echo "PPVM: module $m did not load"
	fi
done

echo "PPVM: boot-dma-errors $(dma_errors)"
# pp_tests: space-separated "DIR/TEST" paths below the tree (kselftest programs),
# each optionally "@DRIVER": run it on that NIC (wire above). A test run on
# a NIC is named PATH@DRIVER (its log, its result lines), so that one test can
# run on a NIC and on netdevsim (no DRIVER) in one boot.
# Each runs through the tree's own kselftest runner, as "make kselftest
# TARGETS=..." runs it: from its folder, under the folder's settings timeout
# (capped at pp_timeout), its output as TAP comments below one result line.
# The runner appends to /dev/stdout: give it a pipe, as make does.
# The DMA-API error count is read around each, and the kernel log of the
# test (the records logged from its start to its end, read from the log
# buffer: dmesg -C, then -S) is kept as NAME.kmsg. Which test a report came
# with is read there, not from the console, where a printer running late
# can put a report after the next PPVM line.
KSFT=$pp_tree/tools/testing/selftests
# selftest_end ID NAME RC DMA_ERRORS: keep the test's kernel log, say it ended.
selftest_end() {
	dmesg -S >"$OUT/$2.kmsg"
	echo "PPVM: selftest-end $1 rc=$3 dma-errors=$4"
}
for t in ${pp_tests//,/ }; do
	nic=
	case "$t" in *@*) nic=${t#*@} t=${t%@*} ;; esac
	dir=$pp_tree/$(dirname "$t") prog=$(basename "$t")
	id=$t${nic:+@$nic} name=${t//\//_}${nic:+@$nic}
	log=$OUT/$name.log
	before=$(dma_errors)
	dmesg -C
	echo "PPVM: selftest-start $t${nic:+ on $nic}"
	if [ -n "$nic" ] && ! wire "$nic"; then
		selftest_end "$id" "$name" 1 0
		continue
	fi
	(cd "$dir" && BASE_DIR=$KSFT kselftest_override_timeout=${pp_timeout:-600} \
		bash -c '. "$BASE_DIR/kselftest/runner.sh" && run_many "./$1"' - "$prog") 2>&1 |
		cat >"$log"
	if grep -q '^ok 1 .*# SKIP' "$log"; then rc=4
	elif grep -q '^ok 1 ' "$log"; then rc=0
	else rc=1
	fi
	[ -n "$nic" ] && unwire
	after=$(dma_errors)
	selftest_end "$id" "$name" "$rc" "$((after - before))"
	sed 's/^/  | /' "$log"
done

echo "PPVM: done"
sync
# Power off where the kernel can (ACPI, UML); else reboot, which ends QEMU
# (-no-reboot) but restarts UML. UML is told by its /proc/cpuinfo: 7.3
# reports the host's machine in uname -m, not "um".
if [ -d /sys/firmware/acpi ] || grep -q '^vendor_id.*User Mode Linux' /proc/cpuinfo; then
	busybox poweroff -f
fi
busybox reboot -f
