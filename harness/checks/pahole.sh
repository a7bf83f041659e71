#!/usr/bin/env bash
# pahole: struct page and struct net_iov must not grow, the item slot must
# take the base's pool pointer slot, an item must be two words, and every
# field struct net_iov mirrors (the NET_IOV_ASSERT_OFFSET pairs of
# include/net/netmem.h) must sit at the same offset in both. Both sides are
# read from net/core/page_pool.o built with -g in the bisect profile's config,
# at the base and at the series head.
# Run after checks/warnings.sh, which prepares the base worktree.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

profile=bisect-x86_64
dir=$BUILD/pahole
mkdir -p "$dir"

debug_obj() {	# debug_obj SRC OUT DEST
	make -C "$1" O="$2" ARCH=x86_64 CC="ccache gcc" KCFLAGS=-g -s net/core/page_pool.o
	cp "$2/net/core/page_pool.o" "$3"
	# Leave no -g object behind for the next plain build to trust.
	rm -f "$2/net/core/page_pool.o"
}
[ -f "$dir/base.o" ] || debug_obj "$BUILD/base-wt" "$BUILD/kbuild-$profile-base" "$dir/base.o"
debug_obj "$BUILD/bisect-wt" "$BUILD/kbuild-$profile" "$dir/head.o"

size_of() { pahole -C "$2" "$1" | sed -n 's/.*size: \([0-9]*\),.*/\1/p'; }
# Offset of MEMBER in STRUCT, as pahole prints it (absolute, also inside unions).
offset_of() {
	pahole -C "$2" "$1" | grep -E "[ *]$3;" | head -n 1 | sed -E 's#.*/\*[[:space:]]*([0-9]+)[[:space:]]+[0-9]+[[:space:]]*\*/.*#\1#'
}

fail=0
base=$(size_of "$dir/base.o" page) head=$(size_of "$dir/head.o" page)
if [ -n "$head" ] && [ "$head" = "$base" ]; then
	echo "PASS pahole: sizeof(struct page) unchanged ($head bytes)"
else
	echo "FAIL pahole: sizeof(struct page) unchanged (base ${base:-?}, series ${head:-?})"
	fail=1
fi
# The item slot takes the place of the base's pool pointer: same offset in
# struct page, struct net_iov no bigger, and an item is two words.
base=$(offset_of "$dir/base.o" page pp) head=$(offset_of "$dir/head.o" page pp_item)
if [ -n "$head" ] && [ "$head" = "$base" ]; then
	echo "PASS pahole: page.pp_item takes the base's page.pp slot (offset $head)"
else
	echo "FAIL pahole: page.pp_item at ${head:-?}, the base's page.pp at ${base:-?}"
	fail=1
fi
base=$(size_of "$dir/base.o" net_iov) head=$(size_of "$dir/head.o" net_iov)
if [ -n "$head" ] && [ "$head" = "$base" ]; then
	echo "PASS pahole: sizeof(struct net_iov) unchanged ($head bytes)"
else
	echo "FAIL pahole: sizeof(struct net_iov) unchanged (base ${base:-?}, series ${head:-?})"
	fail=1
fi
head=$(size_of "$dir/head.o" page_pool_item)
if [ "$head" = 16 ]; then
	echo "PASS pahole: sizeof(struct page_pool_item) is two words (16 bytes)"
else
	echo "FAIL pahole: sizeof(struct page_pool_item) is ${head:-?}, not two words (16 bytes)"
	fail=1
fi
pairs=$(sed -n 's/^NET_IOV_ASSERT_OFFSET(\([a-z_0-9]*\), *\([a-z_0-9]*\));/\1 \2/p' \
	"$BUILD/bisect-wt/include/net/netmem.h")
[ -n "$pairs" ] || { echo "FAIL pahole: no NET_IOV_ASSERT_OFFSET pairs found in netmem.h"; exit 1; }
while read -r pg iov; do
	a=$(offset_of "$dir/head.o" page "$pg") b=$(offset_of "$dir/head.o" net_iov "$iov")
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		echo "PASS pahole: page.$pg and net_iov.$iov both at offset $a"
	else
		echo "FAIL pahole: page.$pg at ${a:-?} but net_iov.$iov at ${b:-?}"
		fail=1
	fi
done <<<"$pairs"
exit "$fail"
