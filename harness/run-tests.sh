#!/usr/bin/env bash
# Every test and check: the series' static checks, the per-patch builds, the
# test VM (KUnit + selftests) and the harness's own tests. Ends with the line
# "N passed, N failed" and exits non-zero if anything failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: >"$RESULTS"

stage deps "$HARNESS/deps.sh"
stage base "$HARNESS/base.sh"
check harness-selftests python3 "$HARNESS/selftest.py"
if ! stage apply "$HARNESS/series.sh" apply; then
	echo "FAIL the series applies to the base with git am" >>"$RESULTS"
	summary
	exit 1
fi
echo "PASS the series applies to the base with git am" >>"$RESULTS"
check copies-match-patches "$HARNESS/series.sh" check
mapfile -t patches < <(ls "$TOP"/patches/[0-9]*.patch | grep -v '/0000-cover-letter.patch$')
check checkpatch python3 "$HARNESS/checks/checkpatch.py" "$TREE" "${patches[@]}"
check bisect "$HARNESS/checks/bisect.sh"
check warnings "$HARNESS/checks/warnings.sh"
check pahole "$HARNESS/checks/pahole.sh"
. "$HARNESS/testvm.sh"
summary
