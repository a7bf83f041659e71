#!/usr/bin/env bash
# Every patch of the series builds on its own (bisectable), with the small
# no-debug profile bisect-x86_64. Builds run in a worktree (build/bisect-wt) into
# one output folder, so each step recompiles only what that patch changed. A
# patch whose tree and profile already built is not built again. The profile
# sets CONFIG_WERROR, so a patch that adds a compiler warning does not build.
# Last, every .c file the series touches must have been compiled by the profile.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

profile=bisect-x86_64
wt=$BUILD/bisect-wt
export PP_SRC=$wt PP_OUT=$BUILD/kbuild-$profile
okdir=$BUILD/bisect-ok
mkdir -p "$okdir"
if [ ! -d "$wt/.git" ] && [ ! -f "$wt/.git" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$wt" "$BASE_TAG"
fi
# Files no x86_64 config can build (no COMPILE_TEST) are cross-compiled with
# another profile whose "# objects:" line names them: only those objects.
extra=()
for f in "$BASE_KCONFIG"/bisect-*.config; do
	[ "$f" = "$BASE_KCONFIG/$profile.config" ] || extra+=("$(basename "$f" .config)")
done
cfgsum=$(cat "$BASE_KCONFIG"/bisect-*.config "$HARNESS/build.sh" | sha256sum | cut -c1-16)

# build_commit LOG: the profile, then the objects of each extra profile.
build_commit() {
	local x objs
	"$HARNESS/build.sh" "$profile" >"$1" 2>&1 || return 1
	for x in "${extra[@]}"; do
		objs=$(sed -n 's/^# objects: //p' "$BASE_KCONFIG/$x.config")
		# shellcheck disable=SC2086
		PP_OUT=$BUILD/kbuild-$x "$HARNESS/build.sh" "$x" $objs >>"$1" 2>&1 || return 1
	done
}

fail=0
n=0
for c in $(git -C "$TREE" rev-list --reverse "$BASE_TAG..$TEST_BRANCH"); do
	n=$((n + 1))
	subj=$(git -C "$TREE" log -1 --format=%s "$c")
	key=$okdir/$(git -C "$TREE" rev-parse "$c^{tree}")-$cfgsum
	name="builds on its own: $(printf '%04d' "$n") $subj"
	if [ -f "$key" ]; then
		echo "PASS $name (cached)"
		continue
	fi
	git -C "$wt" checkout -q --detach "$c"
	say "patch $n: $subj"
	if build_commit "$LOGS/bisect-$n.log"; then
		touch "$key"
		echo "PASS $name"
	else
		echo "FAIL $name"
		grep -E '(warning|error):|Error [0-9]' "$LOGS/bisect-$n.log" | head -20 || tail -20 "$LOGS/bisect-$n.log"
		fail=1
	fi
done

# Coverage: the profile must compile every .c file the series touches.
uncompiled() {
	series_files "$TEST_BRANCH" AM '*.c' ':!tools' |
		while read -r f; do
			for o in "$PP_OUT" "${extra[@]/#/$BUILD/kbuild-}"; do
				[ -f "$o/${f%.c}.o" ] && continue 2
			done
			echo "$f"
		done
}
git -C "$wt" checkout -q --detach "$TEST_BRANCH"
missing=$(uncompiled)
if [ -n "$missing" ] && [ "$fail" = 0 ]; then
	# The last build may have been skipped as cached: make sure objects exist.
	build_commit "$LOGS/bisect-head.log" || true
	missing=$(uncompiled)
fi
if [ -n "$missing" ]; then
	echo "FAIL $profile compiles every .c file the series touches"
	echo "not compiled by ${BASE_KCONFIG#"$TOP"/}/$profile.config:"
	echo "$missing" | sed 's/^/  /'
	fail=1
else
	echo "PASS $profile compiles every .c file the series touches"
fi
exit "$fail"
