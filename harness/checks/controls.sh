#!/usr/bin/env bash
# Negative controls: the tests must fail without the fix they guard. For each
# line of the base's controls list (BASE_CONTROLS), the fix named there is
# reverted on top of the series head in a worktree (build/.../control-wt), the
# suites run through kunit.py on x86_64 as in the kunit-x86_64 stage, and each
# case named there must FAIL. One verdict per case.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

wt=$BUILD/control-wt
fail=0
if [ ! -e "$wt/.git" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$wt" "$SERIES_BRANCH"
fi

while IFS='|' read -r subject cases; do
	subject=$(echo "$subject" | sed 's/^ *//; s/ *$//')
	case "$subject" in ''|'#'*) continue ;; esac
	fix=$(git -C "$TREE" log --format='%H %s' "$BASE_TAG..$SERIES_BRANCH" |
		awk -v s="$subject" 'substr($0, 42) == s { print $1 }')
	if [ -z "$fix" ]; then
		echo "FAIL control: no commit of the series is \"$subject\""
		fail=1
		continue
	fi
	git -C "$wt" reset -q --hard
	git -C "$wt" checkout -q --detach "$SERIES_BRANCH"
	if ! git -C "$wt" revert --no-commit "$fix" >/dev/null 2>&1; then
		echo "FAIL control: \"$subject\" does not revert cleanly on the series head"
		fail=1
		continue
	fi
	say "control: \"$subject\" reverted, running kunit.py on x86_64"
	log=$BUILD/kunit-control-x86_64.log
	if ! PP_KUNIT_SRC=$wt PP_KUNIT_NAME=control-x86_64 "$HARNESS/kunit-arch.sh" x86_64; then
		echo "FAIL control: kunit.py ran with \"$subject\" reverted"
		fail=1
		continue
	fi
	verdicts=$(python3 "$HARNESS/console.py" "$wt" "$log" --name control || true)
	echo "$verdicts" | sed 's/^/  | /'
	for c in $cases; do
		name="control: $c fails with \"$subject\" reverted"
		if grep -qxF "FAIL control: kunit $c" <<<"$verdicts"; then
			echo "PASS $name"
		else
			echo "FAIL $name (it did not fail)"
			fail=1
		fi
	done
done <"$BASE_CONTROLS"
git -C "$wt" reset -q --hard
exit "$fail"
