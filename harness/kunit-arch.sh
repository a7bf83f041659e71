#!/usr/bin/env bash
# Run the series' KUnit suites with the tree's own kunit.py, as kernel
# developers do, on one architecture (um, i386, x86_64, ...):
#
#   kunit-arch.sh ARCH
#
# Every .kunitconfig the series adds is passed, with lockdep and DMA-API debug
# on. The kernel's raw output goes to build/kunit-ARCH.log for console.py;
# failing tests do not fail this script, a run that produced no output does.
#
# On 7.3 the kernel is the smallest one kunit.py accepts: "kunit.py config"
# writes the options it needs (last_used_kunitconfig), allnoconfig from them
# and kconfig/v7.3/kunit*.config turns everything else off, and kunit.py run
# keeps a .config that has all of them. A run whose tree (with uncommitted
# changes), arguments, harness and QEMU are those of an earlier complete run
# is not repeated: its output is reused (PP_RERUN=1 runs it again).
# PP_KUNIT_KCSAN=1 builds the kernel with KCSAN in place of KASAN.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:?usage: kunit-arch.sh ARCH}
# PP_KUNIT_SRC, PP_KUNIT_OUT and PP_KUNIT_NAME run another checkout of the
# series (the negative controls' worktree) into its own build folder and log.
src=${PP_KUNIT_SRC:-$TREE}
name=${PP_KUNIT_NAME:-$arch}
out=${PP_KUNIT_OUT:-$BUILD/kunit-$name}
log=$BUILD/kunit-$name.log
cfg=(--arch="$arch" --build_dir="$out" --make_options CC="$KCC")
while read -r f; do
	[ -n "$f" ] && cfg+=(--kunitconfig="$(dirname "$f")")
done < <(series_files "$TEST_BRANCH" A '*.kunitconfig')
[[ "${cfg[*]}" = *--kunitconfig* ]] || die "the series adds no .kunitconfig"
cfg+=(--kconfig_add CONFIG_DEBUG_KERNEL=y --kconfig_add CONFIG_PROVE_LOCKING=y
      --kconfig_add CONFIG_DEBUG_ATOMIC_SLEEP=y --kconfig_add CONFIG_DMA_API_DEBUG=y)
run=(--jobs="$JOBS" "${KUNIT_RUN[@]}")	# lib.sh

# Two CPUs where kunit.py boots QEMU, so that a case's second thread can run
# beside it (UML has no SMP in this tree).
[ "$arch" = um ] || { cfg+=(--kconfig_add CONFIG_SMP=y); run+=(--qemu_args "-smp 2"); }

# KASAN where the base's test kernels have it (x86_64; i386 has no KASAN);
# PP_KUNIT_KCSAN=1 takes KCSAN instead (the two exclude each other):
# harness/run-stress.sh. allnoconfig turns off the options KCSAN has on by
# default, among them the one that enables it at boot (without it KCSAN
# watches nothing until debugfs turns it on): they are named.
if [ "${PP_KUNIT_KCSAN:-0}" = 1 ]; then
	cfg+=(--kconfig_add CONFIG_KCSAN=y --kconfig_add CONFIG_KCSAN_EARLY_ENABLE=y
	      --kconfig_add CONFIG_KCSAN_REPORT_VALUE_CHANGE_ONLY=y
	      --kconfig_add CONFIG_KCSAN_ASSUME_PLAIN_WRITES_ATOMIC=y)
elif [ "$arch" = x86_64 ] && [ "$PP_BASE" != 6.12 ]; then
	cfg+=(--kconfig_add CONFIG_KASAN=y)
fi

# The fragments of the minimal kernel: kunit.config, and kunit-ARCH.config
# where the architecture needs more.
minimal=("$BASE_KCONFIG/kunit.config")
[ -f "$BASE_KCONFIG/kunit-$arch.config" ] && minimal+=("$BASE_KCONFIG/kunit-$arch.config")

cd "$src"

key=$({
	git rev-parse HEAD^{tree}; git diff HEAD; printf '%s\n' "${cfg[@]}" "${run[@]}" "$KCC"
	cat "$HARNESS/kunit-arch.sh" "$HARNESS/lib.sh" "${minimal[@]}"; qemu-system-x86_64 --version 2>/dev/null | head -n 1
} | sha256sum | cut -c1-24)
if kept_get "kunitpy-$name" "$key" "$log"; then	# lib.sh
	say "kunit.py on $arch: output of an earlier run of this tree and configuration reused"
	exit 0
fi

if [ "$PP_BASE" != 6.12 ]; then
	mkdir -p "$out"
	kunit_py . config "${cfg[@]}" >"$log" 2>&1 || { cat "$log"; die "kunit.py config on $arch failed"; }
	python3 "$HARNESS/kconfig.py" "$src" merge "$out/.config.minimal" \
		"$out/last_used_kunitconfig" "${minimal[@]}"
	if ! cmp -s "$out/.config.minimal" "$out/.config.minimal-used"; then
		make -s O="$out" ARCH="$arch" CC="$KCC" KCONFIG_ALLCONFIG="$out/.config.minimal" allnoconfig
		cp "$out/.config.minimal" "$out/.config.minimal-used"
	fi
fi

rc=0
kunit_py . run "${cfg[@]}" "${run[@]}" >"$log" 2>&1 || rc=$?
grep -q "KTAP version" "$log" || { tail -n 30 "$log"; die "kunit.py on $arch ran no test (exit $rc)"; }
grep -q "Regenerating .config" "$log" && [ "$PP_BASE" != 6.12 ] &&
	say "warning: kunit.py on $arch did not keep the allnoconfig-based .config"
say "kunit.py on $arch: done (exit $rc), output in ${log#"$TOP"/}"
# A complete run (the top-level KTAP plan met) is kept for a rerun.
plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -n 1)
if [ -n "$plan" ] && [ "$(grep -cE '^(not )?ok [0-9]+ ' "$log")" = "$plan" ]; then
	kept_put "kunitpy-$name" "$key" "$log"
fi
