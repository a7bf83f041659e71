#!/usr/bin/env bash
# The page_pool benchmark side by side, from one command:
#
#   bench.sh [ROUNDS]        (default 5)
#
# The series' benchmark module runs on three x86_64 kernels built from one
# config without debug options (harness/kconfig/bench-x86_64.config), under
# QEMU:
#   base    the base tree, whose xarray tracks every DMA-mapped page
#   floor   the base with that tracking compiled out (PP_DMA_INDEX_BITS read
#           as 0 in net/core/page_pool.c): the cost of tracking nothing
#   series  the base with the series applied
# and natively on two UML kernels (bench-um.config), base and series, where
# the base tracks nothing (see bench-um.config). The series' KUnit suite
# page_pool_tracking times the item take/release against the base's xarray
# alloc/cmpxchg in one UML kernel (kunit.py, no debug options).
# Each round runs every kernel once, in an order that rotates from round to
# round; bench.py then prints per test the median, the spread and the
# ratios (build/bench/results.md).
#
# It measures the 6.12 series (legacy-6.12/), on its 6.12 base.
set -euo pipefail
export PP_BASE=6.12
. "$(dirname "$0")/lib.sh"

rounds=${1:-5}
case "$rounds" in ''|*[!0-9]*|0) die "usage: bench.sh [ROUNDS], ROUNDS a positive number" ;; esac
dir=$BUILD/bench
mod=$BENCH_DIR
mkdir -p "$dir"

"$HARNESS/deps.sh"
"$HARNESS/base.sh"
"$HARNESS/series.sh" apply
[ -f "$TREE/$mod/module/page_pool_bench.c" ] || die "the series has no $mod: nothing to run"
[ -f "$TREE/net/core/.kunitconfig" ] || die "the series has no net/core/.kunitconfig: no tracking suite"

# A worktree of build/linux at the base; the floor's one edit on top.
worktree() {
	local wt=$dir/src-$1
	[ -d "$wt" ] || git -C "$TREE" worktree add -q --detach "$wt" "$BASE_TAG"
	if [ "$(git -C "$wt" rev-parse HEAD)" != "$(git -C "$TREE" rev-parse "$BASE_TAG")" ]; then
		git -C "$wt" checkout -q --force --detach "$BASE_TAG"
	fi
}
worktree base
worktree floor
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
	cp "$TREE/$mod/module/Makefile" "$TREE/$mod/module/page_pool_bench.c" "$md/"
	make -s -C "$md" ARCH="$arch" KDIR="$kb" CC="$KCC" >/dev/null
	say "bench: $1 $2 kernel and module ready"
}
qemu=(base floor series)
uml=(base series)
for k in "${qemu[@]}"; do kernel bench-x86_64 "$k"; done
for k in "${uml[@]}"; do kernel bench-um "$k"; done

# run PROFILE KERNEL ROUND IMAGE: one boot, its results under build/vm/.
run() {
	PP_VM_APPEND="KSELFTEST_PAGE_POOL_BENCH_SH_ARGS=$dir/mod-$1-$2/page_pool_bench.ko" \
		"$HARNESS/vm.sh" "$1-$2-$3" "$dir/kbuild-$1-$2/$4" "$mod/page_pool_bench.sh"
}
kunit=(python3 tools/testing/kunit/kunit.py)
kunit_args=(--arch=um --build_dir="$dir/kunit-um" --kunitconfig=net/core --raw_output=all)
say "bench: building the UML kernel of the page_pool_tracking suite"
(cd "$TREE" && "${kunit[@]}" build "${kunit_args[@]:0:3}" --jobs="$JOBS" \
	--make_options CC="$KCC" >"$dir/kunit-um-build.log" 2>&1) ||
	{ tail -n 30 "$dir/kunit-um-build.log"; die "kunit.py build failed"; }

# Each run starts clean: bench.py must not read boots of an earlier run.
rm -rf "$BUILD"/vm/bench-*
# Some hosts' CPUs make UML 6.12 fail to start user space ("ptrace set fp
# regs failed"); the module runs in user space there, so probe one boot.
if ! run bench-um base probe linux >"$dir/uml-probe.log" 2>&1; then
	say "bench: UML cannot run user space on this host, UML rows skipped:"
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
	(cd "$TREE" && "${kunit[@]}" exec "${kunit_args[@]}" page_pool_tracking \
		>"$dir/tracking-$r.log" 2>&1) || true
	grep -q 'mechanism=' "$dir/tracking-$r.log" ||
		{ tail -n 30 "$dir/tracking-$r.log"; die "page_pool_tracking printed no result in round $r"; }
	say "bench: round $r/$rounds done"
done

python3 "$HARNESS/bench.py" "$BUILD/vm" "$dir" "$rounds" | tee "$dir/results.md"
