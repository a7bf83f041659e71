#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Load the page_pool benchmark module and print its results: one line per
# test, "test=NAME dma=0|1 n=N ns=NS_PER_ELEMENT cycles=C". Timings are
# reported, never judged: the test fails only when the module does.
#
#   page_pool_bench.sh [MODULE.ko [PARAM=VALUE...]]

ksft_skip=4
ko=${1:-$(dirname "$0")/module/page_pool_bench.ko}
[ $# -gt 0 ] && shift

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root"
	exit $ksft_skip
fi
if [ ! -f "$ko" ]; then
	echo "SKIP: $ko not built (make -C module KDIR=...)"
	exit $ksft_skip
fi

mark="page_pool_bench: start $$ $(date +%s%N)"
echo "$mark" >/dev/kmsg
if ! insmod "$ko" "$@"; then
	dmesg | sed -n "/$mark/,\$p" | grep 'page_pool_bench: '
	echo "FAIL: insmod $ko"
	exit 1
fi
rmmod page_pool_bench
dmesg | sed -n "/$mark/,\$p" | sed -n 's/.*page_pool_bench: \(test=\)/\1/p'
