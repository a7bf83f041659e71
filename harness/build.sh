#!/usr/bin/env bash
# Build a kernel from a config profile.
#
#   build.sh PROFILE [MAKE TARGET...]
#
# PROFILE names PROFILE.config in the base's profile folder (BASE_KCONFIG, see
# lib.sh); its last "-word" is the ARCH
# (test-x86_64 -> x86_64). A "# include NAME.config" line in it pulls in that
# fragment first. The .config is the fragments plus every .kunitconfig the
# series adds (not for bench-* profiles: the benchmark's kernels must share one
# config, with or without the series), run through olddefconfig (or, for a
# profile with a "# base: allnoconfig" line, made with allnoconfig from them),
# and the build stops if any option was dropped. Output goes to build/kbuild-PROFILE,
# compiled through ccache.
# PP_SRC=DIR builds another checkout (the per-patch worktree) into PP_OUT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

profile=${1:?usage: build.sh PROFILE [TARGET...]}
shift
frag=$BASE_KCONFIG/$profile.config
[ -f "$frag" ] || die "no config profile $frag"
arch=${profile##*-}
src=${PP_SRC:-$TREE}
out=$(realpath -m "${PP_OUT:-$BUILD/kbuild-$profile}")  # make -C would read a relative O= from $src
mkdir -p "$out"

frags=()
while read -r f; do
	frags+=("$BASE_KCONFIG/$f")
done < <(sed -n 's/^# include \(\S*\)$/\1/p' "$frag")
frags+=("$frag")
case "$profile" in
bench-*) ;;
*)	while read -r f; do
		[ -n "$f" ] && frags+=("$src/$f")
	done < <(series_files "$(git -C "$src" rev-parse HEAD)" A '*.kunitconfig')
	;;
esac

cc=$KCC
cross=()
if [ "$arch" = arm64 ]; then	# cross-compiled: files x86 cannot build
	cc=${KCC%gcc}aarch64-linux-gnu-gcc
	cross=(CROSS_COMPILE=aarch64-linux-gnu-)
fi
mk=(make -C "$src" O="$out" ARCH="$arch" "${cross[@]}" CC="$cc" HOSTCC="$KCC" -j"$JOBS"
    KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026" KBUILD_BUILD_USER=pp KBUILD_BUILD_HOST=pp
    KBUILD_BUILD_VERSION=1)

python3 "$HARNESS/kconfig.py" "$src" merge "$out/.config.frag" "${frags[@]}"
if grep -qx '# base: allnoconfig' "$frag"; then
	# Everything the fragments do not ask for stays off: the smallest
	# kernel that builds what they name.
	if ! cmp -s "$out/.config.frag" "$out/.config.frag.used" || [ ! -f "$out/.config" ]; then
		"${mk[@]}" -s KCONFIG_ALLCONFIG="$out/.config.frag" allnoconfig
	fi
	"${mk[@]}" -s olddefconfig	# options a patch adds since
else
	if ! cmp -s "$out/.config.frag" "$out/.config.frag.used" || [ ! -f "$out/.config" ]; then
		cp "$out/.config.frag" "$out/.config"
	fi
	"${mk[@]}" -s olddefconfig
fi
if ! python3 "$HARNESS/kconfig.py" "$src" verify "$out/.config" "${frags[@]}"; then
	die "profile $profile: the config dropped options (listed above); fix $frag"
fi
cp "$out/.config.frag" "$out/.config.frag.used"
say "build $profile ($arch) in ${out#"$TOP"/}: make ${*:-all}"
"${mk[@]}" "$@"

# An x86 bzImage must carry the kernel this build compressed (see kcc: an
# object ccache gave back once carried an earlier one).
bz=$out/arch/x86/boot/bzImage
for z in "$out"/arch/x86/boot/compressed/vmlinux.bin.*; do
	[ -f "$bz" ] && [ -f "$z" ] || continue
	python3 -c 'import sys; sys.exit(open(sys.argv[2], "rb").read() not in open(sys.argv[1], "rb").read())' "$bz" "$z" ||
		die "${bz#"$TOP"/} does not carry ${z#"$TOP"/}: the image holds another kernel"
done
