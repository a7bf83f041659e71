#!/usr/bin/env bash
# Boot a test kernel under QEMU, or run a UML kernel, and run tests in it.
#
#   vm.sh NAME KERNEL [SELFTEST...]
#
# KERNEL is an x86_64 bzImage (QEMU) or a UML "linux" program. The guest's
# root is the host's / (read-only, over 9p or hostfs), so the guest runs the
# same python3, ip and selftest files as the host without building an image;
# harness/guest/init.sh is its PID 1. SELFTESTs are paths below the kernel tree.
# Console: build/vm/NAME/console.log. A guest still running after PP_VM_TIMEOUT
# seconds (default 1500) is killed and its last console lines are shown.
# A QEMU guest has PP_VM_SMP vCPUs (default 2); a UML kernel has one CPU.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: vm.sh NAME KERNEL [SELFTEST...]}
kernel=${2:?usage: vm.sh NAME KERNEL [SELFTEST...]}
shift 2
run=$BUILD/vm/$name
rm -rf "$run"
mkdir -p "$run/guest"
console=$run/console.log

# KVM only where a probe shows it works: /dev/kvm can exist without nested
# virtualisation, and then QEMU aborts or hangs. The answer is kept per host boot.
accel() {
	local probe=$BUILD/kvm-probe boot
	boot=$(cat /proc/sys/kernel/random/boot_id)
	if [ ! -f "$probe" ] || [ "$(head -n 1 "$probe")" != "$boot" ]; then
		local ok=no
		if [ -w /dev/kvm ] && timeout -k 5 30 qemu-system-x86_64 -enable-kvm -cpu host -m 512 \
			-display none -serial stdio -monitor none -no-reboot -kernel "$kernel" \
			-append "console=ttyS0 panic=-1 init=/pp-no-such-init" 2>&1 </dev/null |
			grep -q "No working init found\|Kernel panic"; then
			ok=yes
		fi
		printf '%s\n%s\n' "$boot" "$ok" >"$probe"
	fi
	if [ "$(tail -n 1 "$probe")" = yes ]; then
		echo "-enable-kvm -cpu host"
	else
		echo "-accel tcg,thread=multi -cpu max"
	fi
}

tests=$*
# What the guest's init (harness/guest/init.sh) reads from the command line;
# PP_VM_APPEND adds more "NAME=VALUE" words, which it sees as environment
# (bench.sh passes the module path to the benchmark's script).
init_env="init=$HARNESS/guest/init.sh panic=-1 pp_tree=$TREE pp_tests=${tests// /,}"
init_env+=${PP_VM_APPEND:+ $PP_VM_APPEND}
# The modules the kernel's build made (its modules.order; on 7.3 the test
# kernel's netdevsim), which the guest loads before its tests: its root is
# the host's, whose /lib/modules has none of them.
kbuild=$(dirname "$kernel")
[ "$(basename "$kernel")" = bzImage ] && kbuild=${kernel%/arch/x86/boot/bzImage}
kbuild=$(realpath -m "$kbuild")	# the guest starts in /
mods=
if [ -s "$kbuild/modules.order" ]; then
	while read -r m; do
		mods+=${mods:+,}$kbuild/${m%.o}.ko
	done <"$kbuild/modules.order"
	init_env+=" pp_modules=$mods"
fi
if [ "$(od -An -tx1 -N4 "$kernel" | tr -d ' ')" = 7f454c46 ]; then
	# An ELF program: a User Mode Linux kernel, run natively as a host
	# process. Its root is the host's / over hostfs, read-only; its console
	# is its standard output.
	say "vm $name: running $(basename "$kernel") (UML), console: ${console#"$TOP"/}"
	# shellcheck disable=SC2206,SC2054
	cmd=("$kernel" mem=2G root=/dev/root rootfstype=hostfs rootflags=/ ro
	     "pp_out=hostfs:$run/guest" $init_env)
	out=$console
else
	cmdline="console=ttyS0 root=/dev/root rootfstype=9p ro"
	# cache=loose: the guest keeps what it read of the host's / (which
	# nobody writes while it runs). Without it every exec reads its program
	# and libraries over 9p again: in netns ppremote a socat took 4-5.6 s
	# to listen, against the 5 s that drivers/net tests wait for one
	# (wait_port_listen()); with it 0.6-1.4 s.
	cmdline+=" rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose"
	cmdline+=" kasan.fault=report $init_env"
	vnet=virtio-net-pci,netdev=hub0p0,mac=52:54:00:12:34:56
	if [ "$PP_BASE" != 6.12 ]; then
		# The KUnit suites built in run through kunit.py exec (testvm.sh).
		cmdline+=" kunit.enable=0"
		# 7.3's virtio-net DMA-maps its page pools when the device goes
		# through the DMA API (VIRTIO_F_ACCESS_PLATFORM: modern only).
		vnet+=,disable-legacy=on,iommu_platform=on
	fi
	acc=$(accel)
	# Which accelerator ran the guest, for whoever reads its results
	# (bench.py names it above its tables).
	case "$acc" in -enable-kvm*) echo KVM ;; *) echo TCG ;; esac >"$run/accel"
	say "vm $name: booting $(basename "$kernel") ($(cat "$run/accel")), console: ${console#"$TOP"/}"
	# shellcheck disable=SC2206,SC2054
	cmd=(qemu-system-x86_64 $acc -machine q35 -smp "${PP_VM_SMP:-2}" -m 3G -bios qboot.rom
		-display none -monitor none -no-reboot -serial "file:$console"
		-kernel "$kernel"
		-fsdev local,id=root,path=/,readonly=on,security_model=none,multidevs=remap
		-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root
		-fsdev "local,id=out,path=$run/guest,security_model=none"
		-device virtio-9p-pci,fsdev=out,mount_tag=ppout
		-netdev hubport,id=hub0p0,hubid=0
		-device "$vnet"
		-netdev hubport,id=hub0p1,hubid=0
		-device vmxnet3,netdev=hub0p1,mac=52:54:00:12:34:57
		-append "$cmdline")
	out=$run/qemu.log
fi
rc=0
timeout -k 10 "${PP_VM_TIMEOUT:-1500}" "${cmd[@]}" </dev/null >"$out" 2>&1 || rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "---- last console lines of $name ----" >&2
	tail -n 30 "$console" >&2
	die "vm $name: no poweroff within ${PP_VM_TIMEOUT:-1500}s, killed (console: $console)"
fi
if ! grep -q '^PPVM: done' "$console"; then
	[ "$out" = "$console" ] || cat "$out" >&2
	echo "---- last console lines of $name ----" >&2
	tail -n 30 "$console" >&2
	die "vm $name: the guest did not finish its tests (exit $rc)"
fi
say "vm $name: finished"
