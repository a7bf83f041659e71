#!/usr/bin/env bash
# A sparse for trees that need a newer one than the machine has: 7.3 uses
# __typeof_unqual__, which Debian 12's sparse 0.6.4 does not know, so the
# tree's scripts/checker-valid.sh rejects it. Debian sid's source package,
# pinned below (its binary needs a newer glibc than Debian 12's), fetched
# through a private apt configuration under build/tools/sparse and built
# there: only the sparse program, with the machine's gcc. Prints the path of
# the binary. Cached: a second run with the same version builds nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SPARSE_PIN=0.6.5~rc1-2
dir=$BUILD_ROOT/tools/sparse
apt_setup "$dir/apt" "deb-src http://deb.debian.org/debian sid main"
ver=$(apt_pick sparse "$SPARSE_PIN" "update SPARSE_PIN in harness/sparse.sh" \
	"or install a sparse that knows __typeof_unqual__ on PATH")
bin=$dir/$ver/sparse
if [ ! -x "$bin" ]; then
	say "sparse: building $ver from Debian's source package"
	rm -rf "${dir:?}/src" "${dir:?}/$ver"
	mkdir -p "$dir/src"
	(cd "$dir/src" && apt-get "${apt_opts[@]}" source --download-only -q "sparse=$ver" >&2)
	# The upstream tarball: Debian's patches only change how it is packaged.
	orig=$(ls "$dir/src/sparse_${ver%-*}.orig.tar."*)
	mkdir -p "$dir/src/tree"
	tar -xf "$orig" -C "$dir/src/tree" --strip-components=1
	make -C "$dir/src/tree" -j"$JOBS" sparse >"$dir/src/build.log" 2>&1 ||
		die "sparse $ver did not build: $(tail -n 5 "$dir/src/build.log")"
	mkdir -p "$dir/$ver"
	cp "$dir/src/tree/sparse" "$bin"
	rm -rf "$dir/src"
fi
echo "$bin"
