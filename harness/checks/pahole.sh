#!/usr/bin/env bash
# pahole: struct page, struct netmem_desc (7.3) and struct net_iov must not
# grow; once the series carry the item slot, it must take the base's pool
# pointer slot, an item must be two words and an item block's items must
# start a cache line after its header; every field struct page shares
# with struct net_iov (6.12) or struct netmem_desc (7.3), the *_ASSERT_OFFSET
# pairs of include/net/netmem.h, must sit at the same offset in both. Both sides are
# read from net/core/page_pool.o built with -g in the bisect profile's config,
# at the base and at the series head.
# Run after checks/warnings.sh, which prepares the base worktree.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

profile=bisect-x86_64
dir=$BUILD/pahole
mkdir -p "$dir"

debug_obj() {	# debug_obj SRC OUT DEST
	make -C "$1" O="$2" ARCH=x86_64 CC="$KCC" KCFLAGS=-g -s net/core/page_pool.o
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
# expect WHAT GOT WANT: PASS when both are known and equal.
expect() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		echo "PASS pahole: $1 ($2)"
	else
		echo "FAIL pahole: $1 (got ${2:-?}, want ${3:-?})"
		fail=1
	fi
}
for st in page netmem_desc net_iov; do
	# struct netmem_desc exists from 6.17 on.
	[ -n "$(size_of "$dir/base.o" "$st")" ] || continue
	expect "sizeof(struct $st) unchanged" \
		"$(size_of "$dir/head.o" "$st")" "$(size_of "$dir/base.o" "$st")"
done
# The pool itself (7.3): the series' fields take the xarray's place, and its
# cache lines stay 27 on x86_64.
if [ "$PP_BASE" = 7.3 ]; then
	expect "sizeof(struct page_pool) unchanged" \
		"$(size_of "$dir/head.o" page_pool)" "$(size_of "$dir/base.o" page_pool)"
fi
# Once the series carry the item slot: it takes the place of the base's pool
# pointer in struct page, and an item is two words.
if [ -n "$(offset_of "$dir/head.o" page pp_item)" ]; then
	expect "page.pp_item at the offset of the base's page.pp" \
		"$(offset_of "$dir/head.o" page pp_item)" "$(offset_of "$dir/base.o" page pp)"
	expect "sizeof(struct page_pool_item) is two words" \
		"$(size_of "$dir/head.o" page_pool_item)" 16
fi
# An item block's header (the pool pointer every lookup reads) has the first
# cache line to itself: the items, which allocation and release write, start
# at the second (x86_64: 64 bytes), so a 4 KiB block holds 252 items.
if [ -n "$(size_of "$dir/head.o" page_pool_item_block)" ]; then
	expect "page_pool_item_block.items[] starts at the second cache line" \
		"$(offset_of "$dir/head.o" page_pool_item_block 'items\[\][^;]*')" 64
fi
# Every field struct net_iov mirrors from struct page sits at the same offset.
pairs=$(sed -n 's/^NET_IOV_ASSERT_OFFSET(\([a-z_0-9]*\), *\([a-z_0-9]*\));/\1 \2/p' \
	"$BUILD/bisect-wt/include/net/netmem.h")
pairs+=$(sed -n 's/^NETMEM_DESC_ASSERT_OFFSET(\([a-z_0-9]*\), *\([a-z_0-9]*\));/\n\1 \2/p' \
	"$BUILD/bisect-wt/include/net/netmem.h")
pairs=$(sed '/^$/d' <<<"$pairs")
[ -n "$pairs" ] || { echo "FAIL pahole: no *_ASSERT_OFFSET pairs found in netmem.h"; exit 1; }
if grep -q '^NETMEM_DESC_ASSERT_OFFSET' "$BUILD/bisect-wt/include/net/netmem.h"; then
	mirror=netmem_desc	# 7.3: struct page mirrors struct netmem_desc
else
	mirror=net_iov
fi
while read -r pg iov; do
	expect "page.$pg and $mirror.$iov at the same offset" \
		"$(offset_of "$dir/head.o" "$mirror" "$iov")" "$(offset_of "$dir/head.o" page "$pg")"
done <<<"$pairs"
exit "$fail"
