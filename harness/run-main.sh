#!/usr/bin/env bash
# The main job: apply the series to the base, build the test kernel, boot it
# under QEMU, run the KUnit suites and the selftests, and print a summary.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: >"$RESULTS"

stage deps "$HARNESS/deps.sh"
stage base "$HARNESS/base.sh"
stage apply "$HARNESS/series.sh" apply
. "$HARNESS/testvm.sh"
summary
