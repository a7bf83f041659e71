#!/usr/bin/env bash
# Every patch of the series builds on its own (bisectable), with the small
# no-debug profile bisect-x86_64: its kernel, then the objects its
# "# objects:" line names (the drivers, modules there, so that only the files
# the series touch compile). Files no x86_64 config can build (no
# COMPILE_TEST) are cross-compiled, objects only, by the other bisect-*
# profiles. Builds run in a worktree (build/bisect-wt) into one output folder
# per profile, so each step recompiles only what that patch changed. A patch
# whose tree and profiles already built is not built again. The profiles set
# CONFIG_WERROR, so a patch that adds a compiler warning does not build.
# Each patch's kernel then runs the KUnit suites the patch has (test_commit),
# and the negative controls that start from that commit run there.
# Last, every .c file the series touches must have been compiled.
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
extra=()
for f in "$BASE_KCONFIG"/bisect-*.config; do
	[ "$f" = "$BASE_KCONFIG/$profile.config" ] || extra+=("$(basename "$f" .config)")
done
# What a kept verdict depends on besides the commit's tree (or kernel image):
# the profiles, the build, the boot (lib.sh's kunit_exec) and its reading.
cfgsum=$(cat "$BASE_KCONFIG"/bisect-*.config "$HARNESS/build.sh" "$0" "$HARNESS/lib.sh" \
	"$HARNESS/console.py" | sha256sum | cut -c1-16)

# objects_of PROFILE: the objects its "# objects:" line names: each NAME.o,
# and for each folder the objects of the .c files the tested series touches
# below it.
objects_of() {
	local e
	for e in $(sed -n 's/^# objects: //p' "$BASE_KCONFIG/$1.config"); do
		case "$e" in
		*.o)	echo "$e" ;;
		*)	series_files "$TEST_BRANCH" AM "$e/*.c" | sed 's/\.c$/.o/' ;;
		esac
	done
}

# build_commit LOG: the profile's vmlinux and objects, then each extra
# profile's objects. Objects of files the commit does not have yet are left
# out (none today: the series adds no driver file).
build_commit() {
	local x objs o
	"$HARNESS/build.sh" "$profile" bzImage >"$1" 2>&1 || return 1
	for x in "$profile" "${extra[@]}"; do
		objs=()
		for o in $(objects_of "$x"); do
			[ -f "$wt/${o%.o}.c" ] && objs+=("$o")
		done
		[ ${#objs[@]} -gt 0 ] || continue
		PP_OUT=$BUILD/kbuild-$x "$HARNESS/build.sh" "$x" "${objs[@]}" >>"$1" 2>&1 || return 1
	done
}

# has_suites REV: REV has a .kunitconfig of the series.
has_suites() { [ -n "$(series_files "$1" A '*.kunitconfig')" ]; }

# test_commit N REV NAME: where the commit has the series' KUnit suites, boot
# its kernel under QEMU (kunit.py exec, 2 CPUs) and run them: every case
# must pass (or skip) and the console stay clean. A kernel image an earlier
# commit's run passed (driver patches change only modules) is not booted again.
test_commit() {
	local n=$1 name=$3 sum log out rc=0
	[ "$BASE_BISECT_TESTS" = 1 ] || return 0
	has_suites "$2" || return 0
	sum=$(sha256sum <"$PP_OUT/arch/x86/boot/bzImage" | cut -c1-24)
	sum=$sum-$cfgsum
	if [ -f "$okdir/tests-$sum" ]; then
		echo "PASS $name (the same kernel as a commit before)"
		return 0
	fi
	log=$LOGS/bisect-$n-kunit.log
	out=$(kunit_exec "$wt" "$PP_OUT" "$log" "patch $n") || rc=$?
	if [ "$rc" = 0 ] && grep -q '^PASS .*: kunit ' <<<"$out"; then
		touch "$okdir/tests-$sum"
		echo "PASS $name"
		return 0
	fi
	echo "FAIL $name (console: ${log#"$TOP"/})"
	grep '^FAIL' <<<"$out" | sed 's/^/  /' | head -n 20
	[ -n "$out" ] || tail -n 20 "$log"
	return 1
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
		[ "$BASE_BISECT_TESTS" = 1 ] && has_suites "$c" &&
			echo "PASS suites pass at: $(printf '%04d' "$n") $subj (cached)"
		continue
	fi
	git -C "$wt" checkout -q --detach "$c"
	say "patch $n: $subj"
	if build_commit "$LOGS/bisect-$n.log"; then
		echo "PASS $name"
		if test_commit "$n" "$c" "suites pass at: $(printf '%04d' "$n") $subj"; then
			touch "$key"
			# The negative controls that start from this commit, now that
			# the output folder holds its objects (checks/controls.sh).
			if [ -n "$BASE_CONTROLS" ]; then
				"$HARNESS/checks/controls.sh" --at "$c" >>"$LOGS/bisect-controls.log" 2>&1 || true
			fi
		else
			fail=1
		fi
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
