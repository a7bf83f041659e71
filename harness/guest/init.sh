#!/bin/bash
# PID 1 of the test VM. The root is the host's / over 9p, read-only; the guest
# writes only to tmpfs and to the "ppout" share (the host's build/vm/<run>/guest).
# The kernel passes pp_tree= and pp_tests= from its command line as environment.
# Every line for the host starts with "PPVM:".
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm 2>/dev/null
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
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 ppout /mnt
OUT=/mnt
ip link set lo up

DMA=/sys/kernel/debug/dma-api
dma_errors() { cat "$DMA/error_count" 2>/dev/null || echo -1; }
# Report every DMA-API error, not only the first of the boot.
[ -d "$DMA" ] && echo 1 >"$DMA/all_errors"

echo "PPVM: boot-dma-errors $(dma_errors)"
# pp_tests: space-separated "DIR/TEST" paths below the tree (kselftest programs).
# Each runs in its own directory, as kselftest's runner does, with a timeout;
# the DMA-API error count is read around each.
for t in ${pp_tests//,/ }; do
	dir=$pp_tree/$(dirname "$t") prog=$(basename "$t") name=${t//\//_}
	before=$(dma_errors)
	echo "PPVM: selftest-start $t"
	(cd "$dir" && timeout -k 10 "${pp_timeout:-600}" "./$prog") >"$OUT/$name.log" 2>&1
	rc=$?
	after=$(dma_errors)
	echo "PPVM: selftest-end $t rc=$rc dma-errors=$((after - before))"
	sed 's/^/  | /' "$OUT/$name.log"
done

echo "PPVM: done"
sync
busybox poweroff -f
