#!/usr/bin/env bash
# One base's part of the two commands (PP_BASE picks the base, see lib.sh):
# the base tree and the series applied; with "tests" also the static checks
# and the per-patch builds; then the test kernels (KUnit, selftests) and, with
# "tests", the negative controls. Verdicts go to the shared results file.
#
#   run-base.sh main|tests
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:?usage: run-base.sh main|tests}

if ! stage base "$HARNESS/base.sh"; then
	result FAIL "the base tree is made ($BASE_PKG)"
	exit 1
fi
if ! stage apply "$HARNESS/series.sh" apply; then
	result FAIL "the series apply to the base with git am"
	exit 1
fi
result PASS "the series apply to the base with git am"
if [ "$mode" = tests ]; then
	check copies-match-patches "$HARNESS/series.sh" check
	mapfile -t patches < <(series_patches)
	check checkpatch python3 "$HARNESS/checks/checkpatch.py" "$TREE" "${patches[@]}"
	# What only harness/bench.sh applies must still apply to the series.
	for p in "$HARNESS"/bench/"$PP_BASE"-*.patch; do
		[ -f "$p" ] || continue
		if git -C "$TREE" apply --check "$p" 2>"$LOGS/bench-patch.log"; then
			result PASS "${p#"$TOP"/} applies to the series' head"
		else
			sed 's/^/  | /' "$LOGS/bench-patch.log" >&2
			result FAIL "${p#"$TOP"/} applies to the series' head"
		fi
	done
fi
# Builds and tests run on TEST_BRANCH (lib.sh): check it out where they build.
if [ "$TEST_BRANCH" != "$SERIES_BRANCH" ]; then
	say "builds and tests on $TEST_BRANCH ($(git -C "$TREE" rev-list --count "$TEST_BRANCH..$SERIES_BRANCH") patches of ${SERIES_DIRS##* } not built or tested: PP_NET_NEXT=0)"
	git -C "$TREE" checkout -q "$TEST_BRANCH"
fi
if [ "$mode" = tests ]; then
	check bisect "$HARNESS/checks/bisect.sh"
	check warnings "$HARNESS/checks/warnings.sh"
	check pahole "$HARNESS/checks/pahole.sh"
	check machine-code "$HARNESS/checks/machine-code.sh"
fi
. "$HARNESS/testvm.sh"
if [ "$mode" = tests ] && [ -n "$BASE_CONTROLS" ]; then
	check controls "$HARNESS/checks/controls.sh"
fi
