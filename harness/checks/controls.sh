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
# series is tested (not with PP_NET_NEXT=0, see lib.sh). A "vm CHANGE" line
# (CHANGE a fix's subject or patch:FILE) takes the test VM instead
# (run_vm_control).
#
#   controls.sh [--at REV]
#
# With --at, only the controls that start from REV run, and their verdicts
# are kept, not printed: checks/bisect.sh calls it right after it built REV,
# where the control's kernel recompiles only what the control changes (from
# the series head a net fix's control rebuilt most of the kernel: 7.5 min
# cold). The controls stage then prints the kept verdicts.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

only=
if [ "${1:-}" = --at ]; then
	only=$(git -C "$TREE" rev-parse "${2:?usage: controls.sh [--at REV]}")
fi

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
# Leave the worktree where it was found (checks/bisect.sh builds on from
# REV), and the tree as it was if a VM control patched it.
tree_patched=
trap '[ -z "$tree_patched" ] || git -C "$TREE" reset -q --hard; at "${only:-$TEST_BRANCH}"' EXIT

# starts_here REV: a control that starts from REV runs in this call.
starts_here() { [ -z "$only" ] || [ "$(git -C "$TREE" rev-parse "$1")" = "$only" ]; }

# run_control WHAT WITH KEY: build and boot the worktree's kernel; each case
# of the current line must FAIL ("... fails with WITH").
run_control() {
	local log=$LOGS/control-kunit.log verdicts res=$cache/$3
	say "control: $1: building $profile, running the suites"
	if ! PP_SRC=$wt PP_OUT=$out "$HARNESS/build.sh" "$profile" bzImage >"$LOGS/control-build.log" 2>&1; then
		tail -n 20 "$LOGS/control-build.log"
		echo "FAIL control: the kernel builds with $2"
		fail=1
		return
	fi
	verdicts=$(kunit_exec "$wt" "$out" "$log" control || true)
	judge "$res" "$2" "$verdicts"
}

# failed_in VERDICTS CASE [PASSED]: console.py's verdicts have a failed one
# for CASE (a KUnit case, or a selftest named PATH[@NIC] as the lists and
# the verdicts name it; PATH[@NIC]:console takes only its "no console
# report while it ran" verdict, for a change whose symptom is a kernel
# report, so that a case failing for another reason does not count).
# With PASSED (console.py's verdicts of the VM run on the tested head,
# named "vm x86_64" by testvm.sh), only a verdict that passed there
# counts: the test must fail because of the control's change, not
# because it cannot run.
failed_in() {
	local re what='(:|$)'
	[ "${2%:console}" = "$2" ] || what=': no console report while it ran$'
	re="^FAIL (vm )?control: (kunit|selftest) $(sed 's/[.[\*^$]/\\&/g' <<<"${2%:console}")$what"
	if [ -z "${3:-}" ]; then
		grep -qE "$re" <<<"$1"
		return
	fi
	grep -E "$re" <<<"$1" | sed 's/^FAIL vm control: /PASS vm x86_64: /' | grep -qxFf - "$3"
}

# judge RES WITH VERDICTS [PASSED]: each case of the current line must have
# failed with WITH (failed_in); one verdict per case. Only a control whose
# cases all failed as they must is kept (as RES).
judge() {
	local c name
	echo "$3" | sed 's/^/  | /'
	: >"$1.new"
	for c in $cases; do
		name="control: ${c%:console}"
		[ "${c%:console}" = "$c" ] || name+="'s console verdict"
		name+=" fails with $2"
		if failed_in "$3" "$c" "${4:-}"; then
			echo "PASS $name" | tee -a "$1.new"
		else
			echo "FAIL $name (it did not fail${4:+, or only where it failed on the tested head too})"
			fail=1
		fi
	done
	if [ "$(grep -c '^PASS ' "$1.new")" = "$(wc -w <<<"$cases")" ]; then
		mv "$1.new" "$1"
	else
		rm -f "$1.new"
	fi
}

# cached KEY: print the verdicts of an earlier run of this control, if kept.
# Verdicts kept by this very run (T0, lib.sh: the per-patch builds ran the
# control) count also with PP_RERUN=1.
cached() {
	local when
	[ -f "$cache/$1" ] || return 1
	if [ "$(stat -c %Y "$cache/$1")" -ge "$T0" ]; then
		when="run after the per-patch build of its start"
	elif [ "${PP_RERUN:-0}" != 1 ]; then
		when=cached
	else
		return 1
	fi
	sed "s/\$/ ($when)/" "$cache/$1"
}

# key REV WHAT...: what a control's verdicts depend on.
key() {
	{
		git -C "$TREE" rev-parse "$1^{tree}"; shift; printf '%s\n' "$@"
		cat "$0" "$HARNESS/lib.sh" "$BASE_KCONFIG/$profile.config" "$HARNESS/build.sh" "$HARNESS/console.py"
	} | sha256sum | cut -c1-24
}

# fix_of SUBJECT: the commit of the series with that subject.
fix_of() {
	git -C "$TREE" log --format='%H %s' "$BASE_TAG..$TEST_BRANCH" |
		awk -v s="$1" 'substr($0, 42) == s { print $1 }'
}

# run_vm_control CHANGE: a "vm CHANGE" line, CHANGE being "patch:FILE" (a
# file under harness/, applied) or a fix's subject (reverted). It is made to
# the tree itself, at the tested head, where the test VM's kernel was built
# (testvm.sh): only what it changes recompiles. The VM runs the line's
# selftests (PATH@NIC, as selftests-*.list names them) and each must have a
# failed verdict (failed_in; PATH@NIC:console: its console verdict). Then
# the tree and the test kernel are put back.
run_vm_control() {
	local k verdicts res fix='' with change kernel=$BUILD/kbuild-test-x86_64/arch/x86/boot/bzImage
	if [ "${1#patch:}" != "$1" ]; then
		with="vm $1 applied"
		change="vm $1
$(cat "$HARNESS/${1#patch:}")"
	else
		with="\"$1\" reverted in the VM's kernel"
		fix=$(fix_of "$1")
		if [ -z "$fix" ]; then
			echo "FAIL control: no commit of the series is \"$1\""
			fail=1
			return
		fi
		change="vm $fix"
	fi
	k=$(key "$TEST_BRANCH" "$change" "$cases" \
		"$(cat "$BASE_KCONFIG/test-x86_64.config" "$HARNESS/vm.sh" "$HARNESS/guest/init.sh" "$BASE_SELFTESTS")")
	cached "$k" && return
	res=$cache/$k
	if [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
	   [ "$(git -C "$TREE" rev-parse HEAD)" != "$(git -C "$TREE" rev-parse "$TEST_BRANCH")" ]; then
		echo "FAIL control: vm $1: the tree is not clean at $TEST_BRANCH"
		fail=1
		return
	fi
	if [ -z "$fix" ] && ! git -C "$TREE" apply "$HARNESS/${1#patch:}"; then
		echo "FAIL control: vm $1 does not apply on $TEST_BRANCH"
		fail=1
		return
	elif [ -n "$fix" ] && ! git -C "$TREE" revert --no-commit "$fix" >/dev/null 2>&1; then
		git -C "$TREE" reset -q --hard
		echo "FAIL control: \"$1\" does not revert cleanly on $TEST_BRANCH"
		fail=1
		return
	fi
	tree_patched=1
	say "control: vm $1: building test-x86_64, running$cases in the VM"
	if "$HARNESS/build.sh" test-x86_64 >"$LOGS/control-vm-build.log" 2>&1 &&
	   vm_selftests control "$kernel" ${cases//:console/} >"$LOGS/control-vm.log" 2>&1; then
		verdicts=$(python3 "$HARNESS/console.py" "$TREE" "$BUILD/vm/control/console.log" \
			--name "vm control" --no-kunit --guest-dir "$BUILD/vm/control/guest" || true)
		judge "$res" "$with" "$verdicts" "$LOGS/results-x86_64.log"
	else
		tail -n 20 "$LOGS/control-vm-build.log" "$LOGS/control-vm.log"
		echo "FAIL control: vm $1: the test kernel built and the VM ran"
		fail=1
	fi
	git -C "$TREE" reset -q --hard
	tree_patched=
	# The test kernel of the tested head again, for the next run.
	"$HARNESS/build.sh" test-x86_64 >>"$LOGS/control-vm-build.log" 2>&1 ||
		{ echo "FAIL control: the test kernel builds again after vm $1"; fail=1; }
}

while IFS='|' read -r subject cases; do
	subject=$(echo "$subject" | sed 's/^ *//; s/ *$//')
	case "$subject" in ''|'#'*) continue ;; esac
	case "$subject" in
	'[net-next] '*)
		subject=${subject#'[net-next] '}
		if [ "$TEST_BRANCH" != "$SERIES_BRANCH" ]; then
			[ -n "$only" ] && continue
			for c in $cases; do echo "SKIP control: $c fails with \"$subject\" (PP_NET_NEXT=0: net-next not tested)"; done
			continue
		fi
		;;
	esac
	if [ "${subject#vm }" != "$subject" ]; then
		[ -z "$only" ] && run_vm_control "${subject#vm }"
		continue
	fi
	if [ "${subject#patch:}" != "$subject" ]; then
		starts_here "$TEST_BRANCH" || continue
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
	fix=$(fix_of "$subject")
	if [ -z "$fix" ]; then
		[ -n "$only" ] && continue
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
	starts_here "$on" || continue
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
