#!/usr/bin/env bash
# The main job, on each base of PP_BASES in turn (7.3 unless set): apply the
# series to the base, build the test kernels, run the KUnit suites (and,
# where the base has the VM, the selftests under QEMU), and print a summary.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: >"$RESULTS"
RESULT_PREFIX=

stage deps "$HARNESS/deps.sh"
for base in ${PP_BASES:-7.3}; do
	# A base's stages that stop on an error they did not record still fail.
	PP_BASE=$base "$HARNESS/run-base.sh" main ||
		echo "FAIL $base: run-base.sh ran to the end (exit $?)" >>"$RESULTS"
done
summary
