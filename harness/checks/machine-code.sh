#!/usr/bin/env bash
# Machine code of the paths a packet's page runs through, base against series:
# the objects the "# objects:" line of bench-mc-x86_64.config names, compiled
# from that one config (no debug option, no KUnit) at the net series' head
# (the base the net-next series applies to) and at the head of both, then
# compared function by function (checks/mcdiff.py) with README.md's "Machine
# code" table: a function it calls identical must be, and every other row
# must change as the README says. scripts/bloat-o-meter, base -> series, for
# each object; everything in build/v7.3/machine-code.md.
# Then the check's negative control: with one store added to
# page_pool_recycle_in_cache() (controls/7.3-store-in-recycle-cache.patch),
# the comparison must fail.
# Run after checks/bisect.sh, which leaves its worktree at the head.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

profile=bench-mc-x86_64
if [ "$PP_BASE" != 7.3 ] || [ "$TEST_BRANCH" != "$SERIES_BRANCH" ]; then
	echo "SKIP machine code: compares the 7.3 net-next series with its base (PP_NET_NEXT=0 tests the net series alone)"
	exit 0
fi
read -ra objs < <(sed -n 's/^# objects: //p' "$BASE_KCONFIG/$profile.config")
base_src=$BUILD/mc-base-wt base_out=$BUILD/kbuild-$profile-base
head_src=$BUILD/bisect-wt head_out=$BUILD/kbuild-$profile
control=$HARNESS/controls/7.3-store-in-recycle-cache.patch
report=$BUILD/machine-code.md
[ -d "$head_src" ] || die "run checks/bisect.sh first"

# A rerun with the same inputs (both trees, the config, the README's table,
# the scripts, the control, the compiler) prints the verdicts of the last
# run that passed; anything else runs the comparison again, in a second
# bash whose output is kept.
if [ -z "${PP_MC_RUN:-}" ]; then
	key=$({
		git -C "$TREE" rev-parse "$(series_branch patches/net)^{tree}" "$TEST_BRANCH^{tree}"
		cat "$BASE_KCONFIG/$profile.config" "$HARNESS/checks/mcdiff.py" "$0" \
			"$control" "$HARNESS/build.sh" "$HARNESS/kcc"
		sed -n '/^#* Machine code$/,/^#/p' "$TOP/README.md"
		"${KCC##* }" --version
	} | sha256sum | cut -c1-16)
	if kept_get machine-code "$key" "$report" "$report.out"; then
		cat "$report.out"
		say "machine code: verdicts kept from a run with the same inputs"
		exit 0
	fi
	rc=0
	PP_MC_RUN=1 bash "$0" | tee "$report.out" || rc=$?
	[ "$rc" -ne 0 ] || kept_put machine-code "$key" "$report" "$report.out"
	exit "$rc"
fi
if [ ! -e "$base_src/.git" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$base_src" "$(series_branch patches/net)"
fi
git -C "$base_src" checkout -q --detach "$(series_branch patches/net)"
git -C "$head_src" checkout -q --detach "$TEST_BRANCH"

objects() {	# objects SRC OUT [OBJ...]: compile them (all), or say why not
	local src=$1 out=$2
	shift 2
	[ $# -gt 0 ] || set -- "${objs[@]}"
	if ! PP_SRC=$src PP_OUT=$out "$HARNESS/build.sh" "$profile" "$@" >"$LOGS/machine-code-build.log" 2>&1; then
		tail -n 20 "$LOGS/machine-code-build.log" | sed 's/^/  | /'
		echo "FAIL machine code: $* build in ${src#"$TOP"/}"
		exit 1
	fi
}
compare() {	# compare [TABLE]: mcdiff.py against the README's table
	python3 "$HARNESS/checks/mcdiff.py" "$base_out" "$head_out" \
		--readme "$TOP/README.md" --section "Machine code" ${1:+--table "$1"}
}
say "machine code: the base's objects (${base_src#"$TOP"/})"
objects "$base_src" "$base_out"
say "machine code: the series' objects"
objects "$head_src" "$head_out"

fail=0
compare "$report.table" || fail=1
{
	echo "Machine code, base ($(series_branch patches/net)) -> series ($TEST_BRANCH); counts: $(sed -n 's/^COUNTS = (\(.*\))$/\1/p' "$HARNESS/checks/mcdiff.py" | tr -d '"')"
	echo
	cat "$report.table"
	echo
	echo "scripts/bloat-o-meter, base -> series:"
	echo
	for o in "${objs[@]}"; do
		printf '%s: %s\n' "$o" "$("$head_src/scripts/bloat-o-meter" "$base_out/$o" "$head_out/$o" | tail -n 1)"
	done
} >"$report"
rm -f "$report.table"
grep -A 100 '^scripts/bloat-o-meter' "$report" | sed 's/^/  /'

# The control: one store more on the recycle fast path. The worktree goes
# back to the head whatever happens.
restore() { git -C "$head_src" checkout -q -- net/core/page_pool.c; }
trap restore EXIT
if ! git -C "$head_src" apply "$control"; then
	echo "FAIL machine code control: ${control#"$TOP"/} applies to the head"
	exit 1
fi
say "machine code: control ${control#"$TOP"/}"
objects "$head_src" "$head_out" net/core/page_pool.o
if out=$(compare 2>&1); then
	echo "FAIL machine code control: a store added to page_pool_recycle_in_cache() went unseen"
	fail=1
else
	changed=$(sed -n 's/^FAIL machine code: \([^ ]*\) .*/\1/p' <<<"$out" | sort -u | tr '\n' ' ')
	echo "PASS machine code control: a store added to page_pool_recycle_in_cache() fails it (${changed% })"
fi
restore
trap - EXIT
objects "$head_src" "$head_out" net/core/page_pool.o
exit "$fail"
