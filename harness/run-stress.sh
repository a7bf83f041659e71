#!/usr/bin/env bash
# The heavy extras of the 7.3 series, which do not fit the test command's
# time: each runs on the series' head, as the test command builds it, and
# ends like it with "N passed, N failed" (README.md has their times).
#
#   run-stress.sh [kcsan] [many] [cycles]     (default: all three)
#
#   kcsan   the series' KUnit suites (every .kunitconfig it adds) on an
#           x86_64 kernel with KCSAN in place of KASAN, lockdep and DMA-API
#           debug on, built and booted by kunit.py (kunit-arch.sh,
#           PP_KUNIT_KCSAN=1, 2 CPUs): a data race KCSAN reports fails it.
#           Then its control: the same with controls/7.3-racy-item-release.patch
#           (releases give items back with the non-atomic __llist_add()),
#           where KCSAN must report a data race
#   many    pp_test_destroy_unmaps_many_inflight on the test kernel (KASAN,
#           lockdep, DMA-API debug), booted by kunit.py exec with 8 GiB:
#           destroy with 1 048 576 pages out; it must run, not skip
#   cycles  pp_unbind.py's cycles_under_traffic in the test VM on virtio-net
#           and on netdevsim, PP_STRESS_CYCLES times each (default 100)
#
# Verdicts go to build/stress-results.txt, logs to build/v7.3/logs/stress-*.
set -euo pipefail
export PP_BASE=${PP_BASE:-7.3}
. "$(dirname "$0")/lib.sh"
RESULTS=$BUILD_ROOT/stress-results.txt
export PP_RESULTS=$RESULTS

[ "$PP_BASE" = 7.3 ] || die "run-stress.sh runs the 7.3 series only (PP_BASE=$PP_BASE)"
parts=${*:-kcsan many cycles}
for p in $parts; do
	case "$p" in kcsan|many|cycles) ;; *) die "usage: run-stress.sh [kcsan] [many] [cycles], not '$p'" ;; esac
done
cycles=${PP_STRESS_CYCLES:-100}
case "$cycles" in ''|*[!0-9]*|0) die "PP_STRESS_CYCLES must be a positive number, not '$cycles'" ;; esac

mkdir -p "$(dirname "$RESULTS")"
: >"$RESULTS"
stage deps "$HARNESS/deps.sh" || exit 1
stage base "$HARNESS/base.sh" || exit 1
stage apply "$HARNESS/series.sh" apply || exit 1
[ "$TEST_BRANCH" = "$SERIES_BRANCH" ] || git -C "$TREE" checkout -q "$TEST_BRANCH"

# kcsan_kunit NAME: kunit-arch.sh's KCSAN kernel of the worktree, its
# console in build/kunit-NAME.log; kcsan_enabled NAME: KCSAN watched from
# boot in that run (it says so when it starts).
KCSAN_CONTROL=controls/7.3-racy-item-release.patch
kcsan_wt=$BUILD/kcsan-wt
[ -e "$kcsan_wt/.git" ] || git -C "$TREE" worktree add -q --detach "$kcsan_wt" "$TEST_BRANCH"
kcsan_kunit() {
	stage "stress-$1" env PP_KUNIT_KCSAN=1 PP_KUNIT_NAME="$1" PP_KUNIT_SRC="$kcsan_wt" \
		PP_KUNIT_OUT="$BUILD/kunit-kcsan-x86_64" "$HARNESS/kunit-arch.sh" x86_64
}
kcsan_enabled() {
	if grep -q "kcsan: enabled early" "$BUILD/kunit-$1.log"; then
		result PASS "kunit.py $1: KCSAN enabled from boot"
	else
		result FAIL "kunit.py $1: KCSAN enabled from boot"
	fi
}

# verdicts NAME LOG [ARG...]: console.py's verdicts on LOG, shown.
verdicts() {
	local name=$1 log=$2
	shift 2
	check "stress-results-$name" python3 "$HARNESS/console.py" "$TREE" "$log" "$@"
	sed -n 's/^\(PASS\|FAIL\|SKIP\) /  \1 /p' "$LOGS/stress-results-$name.log" >&2
}
# stress_kunit NAME [ARG...]: the verdicts of build/kunit-NAME.log.
stress_kunit() {
	local name=$1
	shift
	verdicts "$name" "$BUILD/kunit-$name.log" --name "kunit.py $name" "$@"
}

# The test kernel's KUnit case with 8 GiB, alone (kunit.py exec, no speed
# filter: the case is very slow).
many_inflight() {
	kunit_py "$TREE" exec --arch=x86_64 --build_dir="$BUILD/kbuild-test-x86_64" \
		--qemu_args "-smp 2 -m 8G" --timeout=3600 --raw_output=all \
		page_pool.pp_test_destroy_unmaps_many_inflight >"$BUILD/kunit-many-x86_64.log" 2>&1 || true
	grep -q "KTAP version" "$BUILD/kunit-many-x86_64.log" ||
		{ tail -n 30 "$BUILD/kunit-many-x86_64.log"; return 1; }
}

for p in $parts; do
	case "$p" in
	kcsan)
		# The suites run, the slow ones skipped, as in the test command,
		# from a worktree of the tested head, where the control is then
		# applied: one build folder, the control recompiles one file.
		git -C "$kcsan_wt" reset -q --hard
		git -C "$kcsan_wt" checkout -q --detach "$TEST_BRANCH"
		if kcsan_kunit kcsan-x86_64; then
			stress_kunit kcsan-x86_64
			kcsan_enabled kcsan-x86_64
		else
			result FAIL "kunit.py kcsan-x86_64: the suites ran"
		fi
		name="control: KCSAN reports a data race with $KCSAN_CONTROL applied"
		if ! git -C "$kcsan_wt" apply "$HARNESS/$KCSAN_CONTROL"; then
			result FAIL "$name: it applies"
		elif kcsan_kunit kcsan-control; then
			if grep -q "BUG: KCSAN: data-race" "$BUILD/kunit-kcsan-control.log"; then
				grep -m 3 -A 4 "BUG: KCSAN: data-race" "$BUILD/kunit-kcsan-control.log" >&2
				result PASS "$name"
			else
				result FAIL "$name"
			fi
			kcsan_enabled kcsan-control
		else
			result FAIL "$name: the suites ran"
		fi
		git -C "$kcsan_wt" reset -q --hard
		;;
	many|cycles)
		if ! stage build-test-kernel "$HARNESS/build.sh" test-x86_64; then
			result FAIL "test kernel builds (test-x86_64)"
			continue
		fi
		if [ "$p" = many ]; then
			if stage stress-many many_inflight; then
				stress_kunit many-x86_64 --skips-fail
			else
				result FAIL "kunit.py many-x86_64: the case ran"
			fi
			continue
		fi
		BASE_SELFTESTS=$HARNESS/stress-7.3.list
		read_selftests	# lib.sh
		# The guest's runner stops a test after pp_timeout seconds
		# (600 unless set); a netdevsim cycle takes seconds under TCG.
		limit=$((300 + 20 * cycles))
		if PP_VM_TIMEOUT=$((600 + 2 * limit)) \
			PP_VM_APPEND="PP_UNBIND_CYCLES=$cycles pp_timeout=$limit" \
			stage stress-cycles vm_selftests stress \
			"$BUILD/kbuild-test-x86_64/arch/x86/boot/bzImage" "${SELFTESTS[@]}"; then
			verdicts cycles "$BUILD/vm/stress/console.log" --name "vm stress" \
				--guest-dir "$BUILD/vm/stress/guest" --skips-fail --no-kunit
		else
			result FAIL "vm stress: the guest ran to the end"
		fi
		;;
	esac
done
summary
