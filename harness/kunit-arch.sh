#!/usr/bin/env bash
# Run the series' KUnit suites with the tree's own kunit.py, as kernel
# developers do, on one architecture (um, i386, x86_64, ...):
#
#   kunit-arch.sh ARCH
#
# Every .kunitconfig the series adds is passed, with lockdep and DMA-API debug
# on. The kernel's raw output goes to build/kunit-ARCH.log for console.py;
# failing tests do not fail this script, a run that produced no output does.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:?usage: kunit-arch.sh ARCH}
# PP_KUNIT_SRC and PP_KUNIT_NAME run another checkout of the series (the
# negative controls' worktree) into its own build folder and log.
src=${PP_KUNIT_SRC:-$TREE}
name=${PP_KUNIT_NAME:-$arch}
out=$BUILD/kunit-$name
log=$BUILD/kunit-$name.log
args=()
while read -r f; do
	[ -n "$f" ] && args+=(--kunitconfig="$(dirname "$f")")
done < <(series_files "$TEST_BRANCH" A '*.kunitconfig')
[ ${#args[@]} -gt 0 ] || die "the series adds no .kunitconfig"

# Two CPUs where kunit.py boots QEMU, for the cases that need a second one
# (UML has no SMP in this tree; those cases skip there).
[ "$arch" = um ] || args+=(--kconfig_add CONFIG_SMP=y --qemu_args "-smp 2")

# KASAN where the base's test kernels have it (x86_64; i386 has no KASAN).
[ "$arch" = x86_64 ] && [ "$PP_BASE" != 6.12 ] && args+=(--kconfig_add CONFIG_KASAN=y)

# 7.3's kunit.py asks QEMU for "-accel kvm" first; where /dev/kvm opens but
# guests hang (these machines), hide it so that QEMU falls back to TCG.
hide_kvm=()
if [ -e /dev/kvm ] && [ "$PP_BASE" != 6.12 ]; then
	hide_kvm=(unshare -m sh -c 'mount --bind /dev/null /dev/kvm && exec "$@"' sh)
fi

cd "$src"
rc=0
"${hide_kvm[@]}" python3 tools/testing/kunit/kunit.py run --arch="$arch" --build_dir="$out" \
	--jobs="$JOBS" --make_options CC="$KCC" --timeout=900 \
	--kconfig_add CONFIG_DEBUG_KERNEL=y --kconfig_add CONFIG_PROVE_LOCKING=y \
	--kconfig_add CONFIG_DEBUG_ATOMIC_SLEEP=y --kconfig_add CONFIG_DMA_API_DEBUG=y \
	--raw_output=all "${args[@]}" >"$log" 2>&1 || rc=$?
grep -q "KTAP version" "$log" || { tail -n 30 "$log"; die "kunit.py on $arch ran no test (exit $rc)"; }
say "kunit.py on $arch: done (exit $rc), output in ${log#"$TOP"/}"
