#!/usr/bin/env bash
# The page_pool benchmark side by side, from one command:
#
#   bench.sh [ROUNDS]        (default 5)
#
# The benchmark module runs on three x86_64 kernels built from one config
# without debug options (BASE_KCONFIG/bench-x86_64.config), under QEMU:
#   base    the base tree, whose xarray tracks every DMA-mapped page (7.3:
#           with the net series, on which the net-next series applies)
#   floor   the base with that tracking compiled out (PP_DMA_INDEX_BITS read
#           as 0 in net/core/page_pool.c): the cost of tracking nothing
#   series  the base with the series applied
# Each round runs every kernel once, in an order that rotates from round to
# round; bench.py then prints per test the median, the spread and the
# ratios (build/bench/results.md).
#
# PP_BASE=7.3 (the default): upstream's net/bench page_pool module as the
# net-next series extends it (DMA-mapped pools, skb free here and on another
# CPU, pages leaving one pool from 1, 2 and 4 CPUs at once, destroy with
# 65536 pages out), built from the series' tree against each kernel, under
# QEMU (4 vCPUs) and natively under UML (bench-um.config: the same three
# kernels, one CPU); and the page_pool_tracking KUnit suite, which times the
# item take and release against 7.3's xarray, and against items counted per
# block, natively on UML (kunit.py, no debug options; a uniprocessor kernel
# and one with CONFIG_SMP): harness/bench/7.3-tracking.patch adds it to a
# worktree of the series' head, it is not part of the series.
# PP_BASE=6.12: the 6.12 series' own module (legacy-6.12/), two UML kernels
# (bench-um.config; the base tracks nothing there) and the 6.12 series' own
# page_pool_tracking suite.
set -euo pipefail
export PP_BASE=${PP_BASE:-7.3}
. "$(dirname "$0")/lib.sh"

rounds=${1:-5}
case "$rounds" in ''|*[!0-9]*|0) die "usage: bench.sh [ROUNDS], ROUNDS a positive number" ;; esac
dir=$BUILD/bench
mkdir -p "$dir"

"$HARNESS/deps.sh"
"$HARNESS/base.sh"
"$HARNESS/series.sh" apply

if [ "$PP_BASE" = 6.12 ]; then
	mod=$BENCH_DIR
	modsrc=($mod/module/Makefile $mod/module/page_pool_bench.c)
	script=$mod/page_pool_bench.sh ko=page_pool_bench.ko args=
	base_rev=$BASE_TAG uml=(base series)
	[ -f "$TREE/net/core/.kunitconfig" ] || die "the series has no net/core/.kunitconfig: no tracking suite"
else
	mod=tools/testing/selftests/net/bench
	modsrc=($mod/page_pool/Makefile $mod/page_pool/bench_page_pool_simple.c
		$mod/page_pool/time_bench.c $mod/page_pool/time_bench.h)
	script=$mod/test_bench_page_pool.sh ko=bench_page_pool.ko
	# 1e6 elements a test (10 per element for time_bench's own loops);
	# destroy with 65536 pages (256 MiB) out.
	args="loops=1000000 destroy_inflight=65536"
	# Not on UML: there 7.3 tracks nothing, destroy leaves the pages
	# mapped, and their unmaps after destroy reach the module's device
	# once it is gone (base and floor: "Segfault with no mm" in
	# dma_unmap_phys() from page_pool_release_retry()).
	args_um="loops=1000000"
	base_rev=$(series_branch "${SERIES_DIRS%% *}") uml=(base floor series)
	tracking_patch=$HARNESS/bench/7.3-tracking.patch
	grep -q destroy_inflight "$TREE/$mod/page_pool/bench_page_pool_simple.c" ||
		die "the series' $mod has no destroy test: apply the net-next series"
fi
for f in "${modsrc[@]}"; do
	[ -f "$TREE/$f" ] || die "the series has no $f: nothing to run"
done

# A worktree of build/linux at the base; the floor's one edit on top.
worktree() {
	local wt=$dir/src-$1
	[ -d "$wt" ] || git -C "$TREE" worktree add -q --detach "$wt" "$base_rev"
	if [ "$(git -C "$wt" rev-parse HEAD)" != "$(git -C "$TREE" rev-parse "$base_rev")" ]; then
		git -C "$wt" checkout -q --force --detach "$base_rev"
	fi
}
worktree base
worktree floor
ksrc=$TREE
if [ -n "${tracking_patch:-}" ]; then
	# The series' head with the tracking suite on top, uncommitted.
	ksrc=$dir/src-tracking
	[ -d "$ksrc" ] || git -C "$TREE" worktree add -q --detach "$ksrc" "$SERIES_BRANCH"
	git -C "$ksrc" checkout -q --force --detach "$SERIES_BRANCH"
	git -C "$ksrc" apply "$tracking_patch" ||
		die "bench: $tracking_patch does not apply to the series' head"
fi
pp=$dir/src-floor/net/core/page_pool.c
if grep -q 'PP_DMA_INDEX_BITS' "$pp"; then
	n=$(grep -c 'PP_DMA_INDEX_BITS' "$pp")
	[ "$n" = 3 ] || die "floor: expected 3 uses of PP_DMA_INDEX_BITS in page_pool.c, found $n; the base changed"
	sed -i 's/\bPP_DMA_INDEX_BITS\b/0/' "$pp"
fi
declare -A src=([base]=$dir/src-base [floor]=$dir/src-floor [series]=$TREE)

# kernel PROFILE KERNEL: build KERNEL's tree with PROFILE into
# build/bench/kbuild-PROFILE-KERNEL, and the series' module against it into
# build/bench/mod-PROFILE-KERNEL.
kernel() {
	local arch=${1##*-} kb=$dir/kbuild-$1-$2 md=$dir/mod-$1-$2
	PP_SRC=${src[$2]} PP_OUT=$kb "$HARNESS/build.sh" "$1"
	mkdir -p "$md"
	(cd "$TREE" && cp "${modsrc[@]}" "$md/")
	module_build "$md" "$kb" "$md/build.log" ARCH="$arch" && [ -f "$md/$ko" ] ||
		die "bench: the module did not build against the $2 kernel ($1)"
	say "bench: $1 $2 kernel and module ready"
}
qemu=(base floor series)
for k in "${qemu[@]}"; do kernel bench-x86_64 "$k"; done
for k in "${uml[@]}"; do kernel bench-um "$k"; done

# The guest's TSC is the host's under QEMU TCG, but the guest often cannot
# calibrate it (no HPET or PM timer, the PIT loop too slow) and then keeps
# time with jiffies, 4 ms a tick: give it the host's TSC rate.
mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p;
	s/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -n 1) || mhz=
[ -n "$mhz" ] || mhz=$(sed -n 's/^cpu MHz[[:space:]]*: \([0-9.]*\)$/\1/p' /proc/cpuinfo | tail -n 1)
tsc_khz=$(awk -v m="${mhz:-0}" 'BEGIN { printf "%d", m * 1000 }')
[ -n "$tsc_khz" ] && [ "$tsc_khz" -gt 0 ] || die "bench: cannot read the host's TSC rate"
say "bench: guests get tsc_early_khz=$tsc_khz"

# run PROFILE KERNEL ROUND IMAGE: one boot, its results under build/vm/.
# The script takes the module's path (and, on 7.3, the module's parameters).
run() {
	local n
	n=$(basename "$script")
	n=${n//[^[:alnum:]_]/_}
	local a=$args
	[ "$1" = bench-um ] && a=${args_um-$args}
	PP_VM_SMP=4 PP_VM_APPEND="tsc_early_khz=$tsc_khz KSELFTEST_${n^^}_ARGS=\"$dir/mod-$1-$2/$ko${a:+ $a}\"" \
		"$HARNESS/vm.sh" "$1-$2-$3" "$dir/kbuild-$1-$2/$4" "$script"
}
# The tracking suite's UML kernels: "up" as kunit.py builds it, one CPU; on
# 7.3 also "smp", with CONFIG_SMP, where atomic operations carry x86's lock
# prefix (a uniprocessor kernel leaves it out, so there an atomic add costs
# what a plain one does). Each kernel's suffix names its build folder
# (kunit-um, kunit-um-smp) and its logs (tracking-R.log, tracking-smp-R.log).
tracking=(up)
[ -n "${tracking_patch:-}" ] && tracking+=(smp)
declare -A tracking_sfx=([up]="" [smp]=-smp)
declare -A tracking_add=([up]="" [smp]="--kconfig_add=CONFIG_SMP=y --kconfig_add=CONFIG_NR_CPUS=2")
for t in "${tracking[@]}"; do
	kb=kunit-um${tracking_sfx[$t]}
	say "bench: building the UML kernel ($t) of the page_pool_tracking suite"
	# shellcheck disable=SC2086 # the options split on purpose
	(cd "$ksrc" && kunit_py "$ksrc" build --arch=um --build_dir="$dir/$kb" \
		--kunitconfig=net/core ${tracking_add[$t]} --jobs="$JOBS" \
		--make_options CC="$KCC" >"$dir/$kb-build.log" 2>&1) ||
		{ tail -n 30 "$dir/$kb-build.log"; die "kunit.py build ($t) failed"; }
done

# Each run starts clean: bench.py must not read boots or logs of an
# earlier run.
rm -rf "$BUILD"/vm/bench-* "$dir"/tracking-*.log
# Some hosts' CPUs make UML 6.12 fail to start user space ("ptrace set fp
# regs failed"); the module is loaded from user space, so probe one boot.
if [ ${#uml[@]} -gt 0 ] && ! run bench-um base probe linux >"$dir/uml-probe.log" 2>&1; then
	say "bench: the UML base kernel did not run the benchmark to its end, UML rows skipped:"
	grep -m1 -E 'failed, errno|Kernel panic' "$BUILD/vm/bench-um-base-probe/console.log" >&2 || tail -n 5 "$dir/uml-probe.log" >&2
	uml=()
fi
rm -rf "$BUILD/vm/bench-um-base-probe"

for r in $(seq 1 "$rounds"); do
	for i in 0 1 2; do
		run bench-x86_64 "${qemu[$(((r + i) % 3))]}" "$r" arch/x86/boot/bzImage
	done
	for i in "${!uml[@]}"; do
		run bench-um "${uml[$(((r + i) % ${#uml[@]}))]}" "$r" linux
	done
	for t in "${tracking[@]}"; do
		log=$dir/tracking${tracking_sfx[$t]}-$r.log
		(cd "$ksrc" && kunit_py "$ksrc" exec --arch=um --build_dir="$dir/kunit-um${tracking_sfx[$t]}" \
			--kunitconfig=net/core --raw_output=all page_pool_tracking >"$log" 2>&1) || true
		grep -q 'mechanism=' "$log" ||
			{ tail -n 30 "$log"; die "page_pool_tracking ($t) printed no result in round $r"; }
	done
	say "bench: round $r/$rounds done"
done

python3 "$HARNESS/bench.py" "$BUILD/vm" "$dir" "$rounds" | tee "$dir/results.md"
