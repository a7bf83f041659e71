#!/usr/bin/env bash
# Every test and check, on each base of PP_BASES in turn (7.3; "6.12 7.3"
# adds the earlier series, see README.md): the series' static checks, the
# per-patch builds, the test kernels (KUnit + selftests), the negative controls
# and the harness's own tests. Ends with the line "N passed, N failed" and exits
# non-zero if anything failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
run_bases tests
# The checkers fed crafted bad input, with the 7.3 tree's kunit parser.
check harness-selftests python3 "$HARNESS/selftest.py"
summary
