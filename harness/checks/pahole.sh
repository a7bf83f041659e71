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
expect "sizeof(struct page) unchanged" \
	"$(size_of "$dir/head.o" page)" "$(size_of "$dir/base.o" page)"
# The item slot takes the place of the base's pool pointer: same offset in
# struct page, struct net_iov no bigger, and an item is two words.
expect "page.pp_item at the offset of the base's page.pp" \
	"$(offset_of "$dir/head.o" page pp_item)" "$(offset_of "$dir/base.o" page pp)"
expect "sizeof(struct net_iov) unchanged" \
	"$(size_of "$dir/head.o" net_iov)" "$(size_of "$dir/base.o" net_iov)"
expect "sizeof(struct page_pool_item) is two words" \
	"$(size_of "$dir/head.o" page_pool_item)" 16
pairs=$(sed -n 's/^NET_IOV_ASSERT_OFFSET(\([a-z_0-9]*\), *\([a-z_0-9]*\));/\1 \2/p' \
	"$BUILD/bisect-wt/include/net/netmem.h")
[ -n "$pairs" ] || { echo "FAIL pahole: no NET_IOV_ASSERT_OFFSET pairs found in netmem.h"; exit 1; }
while read -r pg iov; do
	expect "page.$pg and net_iov.$iov at the same offset" \
		"$(offset_of "$dir/head.o" net_iov "$iov")" "$(offset_of "$dir/head.o" page "$pg")"
done <<<"$pairs"
exit "$fail"
