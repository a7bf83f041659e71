#!/usr/bin/env bash
# The main job, on each base of PP_BASES in turn (7.3 unless set): apply the
# series to the base, build the test kernels, run the KUnit suites (and,
# where the base has the VM, the selftests under QEMU), and print a summary.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
run_bases main
summary
