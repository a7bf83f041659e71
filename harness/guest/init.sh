#!/bin/bash
# PID 1 of the test VM. The root is the host's /, read-only, over 9p (QEMU) or
# hostfs (UML); the guest writes only to tmpfs and to the host's
# build/vm/<run>/guest, the "ppout" 9p share or, with pp_out=hostfs:DIR, DIR.
# The kernel passes pp_tree=, pp_tests= and pp_out= from its command line as
# environment.
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

echo "PPVM: boot-dma-errors $(dma_errors)"
# pp_tests: space-separated "DIR/TEST" paths below the tree (kselftest programs).
# Each runs through the tree's own kselftest runner, as "make kselftest
# TARGETS=..." runs it: from its folder, under the folder's settings timeout
# (capped at pp_timeout), its output as TAP comments below one result line.
# The runner appends to /dev/stdout: give it a pipe, as make does.
# The DMA-API error count is read around each.
KSFT=$pp_tree/tools/testing/selftests
for t in ${pp_tests//,/ }; do
	dir=$pp_tree/$(dirname "$t") prog=$(basename "$t") name=${t//\//_}
	log=$OUT/$name.log
	before=$(dma_errors)
	echo "PPVM: selftest-start $t"
	(cd "$dir" && BASE_DIR=$KSFT kselftest_override_timeout=${pp_timeout:-600} \
		bash -c '. "$BASE_DIR/kselftest/runner.sh" && run_many "./$1"' - "$prog") 2>&1 |
		cat >"$log"
	if grep -q '^ok 1 .*# SKIP' "$log"; then rc=4
	elif grep -q '^ok 1 ' "$log"; then rc=0
	else rc=1
	fi
	after=$(dma_errors)
	echo "PPVM: selftest-end $t rc=$rc dma-errors=$((after - before))"
	sed 's/^/  | /' "$log"
done

echo "PPVM: done"
sync
busybox poweroff -f
