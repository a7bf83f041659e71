#!/usr/bin/env bash
# Negative controls: the tests must fail without the fix they guard. For each
# line of the base's controls list (BASE_CONTROLS), the fix named there is
# reverted on the head of the series that carries it, or the change a
# "patch:FILE" line names (a file under harness/) is applied on the tested
# head, in the per-patch worktree (build/.../bisect-wt); the per-patch
# profile's kernel is built there (checks/bisect.sh built every commit of
# the series in it, so ccache has nearly all of it) and runs the suites
# (kunit.py exec, 2 CPUs), and each case named there must FAIL. One verdict
# per case. A control whose change, revision, profile and harness are those
# of an earlier run is not run again: its verdicts are reused (PP_RERUN=1
# runs it). Lines that start with "[net-next]" run only where the net-next
# series is tested (not with PP_NET_NEXT=0, see lib.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

profile=bisect-x86_64
wt=$BUILD/bisect-wt
out=$BUILD/kbuild-$profile
cache=$BUILD/controls-ok
[ -e "$wt/.git" ] || die "run checks/bisect.sh first: it makes $wt"
mkdir -p "$cache"
fail=0

# at REV: the worktree, clean, at REV.
at() {
	git -C "$wt" reset -q --hard
	git -C "$wt" checkout -q --detach "$1"
}
trap 'at "$TEST_BRANCH"' EXIT

# run_control WHAT WITH KEY: build and boot the worktree's kernel; each case
# of the current line must FAIL ("... fails with WITH").
run_control() {
	local log=$LOGS/control-kunit.log verdicts c name res=$cache/$3
	say "control: $1: building $profile, running the suites"
	if ! PP_SRC=$wt PP_OUT=$out "$HARNESS/build.sh" "$profile" bzImage >"$LOGS/control-build.log" 2>&1; then
		tail -n 20 "$LOGS/control-build.log"
		echo "FAIL control: the kernel builds with $2"
		fail=1
		return
	fi
	verdicts=$(kunit_exec "$wt" "$out" "$log" control || true)
	echo "$verdicts" | sed 's/^/  | /'
	: >"$res.new"
	for c in $cases; do
		name="control: $c fails with $2"
		if grep -qxF "FAIL control: kunit $c" <<<"$verdicts"; then
			echo "PASS $name" | tee -a "$res.new"
		else
			echo "FAIL $name (it did not fail)"
			fail=1
		fi
	done
	# Only a control whose cases all failed as they must is kept.
	if [ "$(grep -c '^PASS ' "$res.new")" = "$(wc -w <<<"$cases")" ]; then
		mv "$res.new" "$res"
	else
		rm -f "$res.new"
	fi
}

# cached KEY: print the verdicts of an earlier run of this control, if kept.
cached() {
	[ "${PP_RERUN:-0}" != 1 ] && [ -f "$cache/$1" ] || return 1
	sed 's/$/ (cached)/' "$cache/$1"
}

# key REV WHAT...: what a control's verdicts depend on.
key() {
	{
		git -C "$TREE" rev-parse "$1^{tree}"; shift; printf '%s\n' "$@"
		cat "$0" "$HARNESS/lib.sh" "$BASE_KCONFIG/$profile.config" "$HARNESS/build.sh" "$HARNESS/console.py"
	} | sha256sum | cut -c1-24
}

while IFS='|' read -r subject cases; do
	subject=$(echo "$subject" | sed 's/^ *//; s/ *$//')
	case "$subject" in ''|'#'*) continue ;; esac
	case "$subject" in
	'[net-next] '*)
		subject=${subject#'[net-next] '}
		if [ "$TEST_BRANCH" != "$SERIES_BRANCH" ]; then
			for c in $cases; do echo "SKIP control: $c fails with \"$subject\" (PP_NET_NEXT=0: net-next not tested)"; done
			continue
		fi
		;;
	esac
	if [ "${subject#patch:}" != "$subject" ]; then
		k=$(key "$TEST_BRANCH" "$subject" "$cases" "$(cat "$HARNESS/${subject#patch:}")")
		cached "$k" && continue
		at "$TEST_BRANCH"
		if ! git -C "$wt" apply "$HARNESS/${subject#patch:}"; then
			echo "FAIL control: $subject does not apply on $TEST_BRANCH"
			fail=1
			continue
		fi
		run_control "$subject applied on $TEST_BRANCH" "$subject applied" "$k"
		continue
	fi
	fix=$(git -C "$TREE" log --format='%H %s' "$BASE_TAG..$TEST_BRANCH" |
		awk -v s="$subject" 'substr($0, 42) == s { print $1 }')
	if [ -z "$fix" ]; then
		echo "FAIL control: no commit of the series is \"$subject\""
		fail=1
		continue
	fi
	# Revert it on the head of the series that carries it: a net fix on the
	# net series' head, where the net-next series has not rewritten its code.
	on=$TEST_BRANCH
	if git -C "$TREE" rev-parse -q --verify "$SERIES_BRANCH-net" >/dev/null &&
	   git -C "$TREE" merge-base --is-ancestor "$fix" "$SERIES_BRANCH-net"; then
		on=$SERIES_BRANCH-net
	fi
	k=$(key "$on" "$fix" "$cases")
	cached "$k" && continue
	at "$on"
	if ! git -C "$wt" revert --no-commit "$fix" >/dev/null 2>&1; then
		echo "FAIL control: \"$subject\" does not revert cleanly on the series head"
		fail=1
		continue
	fi
	run_control "\"$subject\" reverted on $on" "\"$subject\" reverted" "$k"
done <"$BASE_CONTROLS"
exit "$fail"
