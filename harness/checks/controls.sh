#!/usr/bin/env bash
# Negative controls: the tests must fail without the fix they guard. For each
# line of the base's controls list (BASE_CONTROLS), the fix named there is
# reverted on the head of the series that carries it, or the change a
# "patch:FILE" line names (a file under harness/) is applied on the tested
# head, in a worktree (build/.../control-wt); the suites run through kunit.py
# on x86_64 as in the kunit-x86_64 stage, and each case named there must
# FAIL. One verdict per case. Lines that start with "[net-next]" run only
# where the net-next series is tested (PP_NET_NEXT=1, see lib.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

wt=$BUILD/control-wt
fail=0
if [ ! -e "$wt/.git" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$wt" "$TEST_BRANCH"
fi

# at REV: the control worktree, clean, at REV.
at() {
	git -C "$wt" reset -q --hard
	git -C "$wt" checkout -q --detach "$1"
}

# run_control WHAT WITH: kunit.py on the control worktree, each case of the
# current line must FAIL ("... fails with WITH").
run_control() {
	local log=$BUILD/kunit-control-x86_64.log verdicts c name
	say "control: $1, running kunit.py on x86_64"
	if ! PP_KUNIT_SRC=$wt PP_KUNIT_NAME=control-x86_64 "$HARNESS/kunit-arch.sh" x86_64; then
		echo "FAIL control: kunit.py ran with $2"
		fail=1
		return
	fi
	verdicts=$(python3 "$HARNESS/console.py" "$wt" "$log" --name control || true)
	echo "$verdicts" | sed 's/^/  | /'
	for c in $cases; do
		name="control: $c fails with $2"
		if grep -qxF "FAIL control: kunit $c" <<<"$verdicts"; then
			echo "PASS $name"
		else
			echo "FAIL $name (it did not fail)"
			fail=1
		fi
	done
}

while IFS='|' read -r subject cases; do
	subject=$(echo "$subject" | sed 's/^ *//; s/ *$//')
	case "$subject" in ''|'#'*) continue ;; esac
	case "$subject" in
	'[net-next] '*)
		subject=${subject#'[net-next] '}
		if [ "$TEST_BRANCH" != "$SERIES_BRANCH" ]; then
			for c in $cases; do echo "SKIP control: $c fails with \"$subject\" (net-next is tested with PP_NET_NEXT=1)"; done
			continue
		fi
		;;
	esac
	if [ "${subject#patch:}" != "$subject" ]; then
		at "$TEST_BRANCH"
		if ! git -C "$wt" apply "$HARNESS/${subject#patch:}"; then
			echo "FAIL control: $subject does not apply on $TEST_BRANCH"
			fail=1
			continue
		fi
		run_control "$subject applied on $TEST_BRANCH" "$subject applied"
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
	at "$on"
	if ! git -C "$wt" revert --no-commit "$fix" >/dev/null 2>&1; then
		echo "FAIL control: \"$subject\" does not revert cleanly on the series head"
		fail=1
		continue
	fi
	run_control "\"$subject\" reverted on $on" "\"$subject\" reverted"
done <"$BASE_CONTROLS"
git -C "$wt" reset -q --hard
exit "$fail"
