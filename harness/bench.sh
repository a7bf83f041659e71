#!/usr/bin/env bash
# The page_pool benchmark side by side, from one command:
#
#   bench.sh [ROUNDS]        (default 5)
#
# The series' benchmark module runs on three x86_64 kernels built from one
# config without debug options (harness/kconfig/bench-x86_64.config):
#   base    the base tree, whose xarray tracks every DMA-mapped page
#   floor   the base with that tracking compiled out (PP_DMA_INDEX_BITS read
#           as 0 in net/core/page_pool.c): the cost of tracking nothing
#   series  the base with the series applied
# Each round boots all three under QEMU, in an order that rotates from round
# to round; bench.py then prints per test the median, the spread and the
# ratios series/base and series/floor (build/bench/results.md).
set -euo pipefail
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
kernels=(base floor series)
for k in "${kernels[@]}"; do
	PP_SRC=${src[$k]} PP_OUT=$dir/kbuild-$k "$HARNESS/build.sh" bench-x86_64
	# The module from the series, built against each kernel.
	mkdir -p "$dir/mod-$k"
	cp "$TREE/$mod/module/Makefile" "$TREE/$mod/module/page_pool_bench.c" "$dir/mod-$k/"
	make -s -C "$dir/mod-$k" KDIR="$dir/kbuild-$k" CC="$KCC" >/dev/null
	say "bench: $k kernel and module ready"
done

for r in $(seq 1 "$rounds"); do
	for i in 0 1 2; do
		k=${kernels[$(((r + i) % 3))]}
		PP_VM_APPEND="KSELFTEST_PAGE_POOL_BENCH_SH_ARGS=$dir/mod-$k/page_pool_bench.ko" \
			"$HARNESS/vm.sh" "bench-$k-$r" "$dir/kbuild-$k/arch/x86/boot/bzImage" "$mod/page_pool_bench.sh"
		say "bench: round $r/$rounds, $k done"
	done
done

python3 "$HARNESS/bench.py" "$BUILD/vm" "$rounds" | tee "$dir/results.md"
