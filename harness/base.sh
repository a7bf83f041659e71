#!/usr/bin/env bash
# Make the base kernel tree: Debian's $BASE_PKG (pinned in lib.sh; PP_BASE picks
# the base), unpacked under $BUILD/linux as a git repository with one commit
# tagged "base". Cached: a second run with the same version does nothing.
#
# A base whose suite the machine's apt sources do not list (7.3: trixie-backports)
# is looked up and downloaded through a private apt configuration in $BUILD/apt;
# /etc/apt is never touched.
#
# PP_BASE_TARBALL=/path/linux-source-X.Y.tar.xz uses a tarball you already have.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cache=$BUILD/cache
mkdir -p "$cache"

# apt options for the base's suite: the machine's own sources, or a private
# configuration that lists only BASE_APT_SOURCE.
apt_setup "$BUILD/apt" "$BASE_APT_SOURCE"

pick_version() {
	apt_pick "$BASE_PKG" "$BASE_PIN" \
		"the series was cut against $BASE_PIN; if it does not apply, rebase it and update BASE_PIN in harness/lib.sh" \
		"or set PP_BASE_TARBALL to a $BASE_PKG.tar.xz you have"
}

tarball_from_deb() {
	local ver=$1 deb tb=$cache/$BASE_PKG-$1.tar.xz
	if [ ! -s "$tb" ]; then
		say "downloading $BASE_PKG=$ver (about 150-170 MB)"
		(cd "$cache" && apt-get "${apt_opts[@]}" download -q "$BASE_PKG=$ver" >&2)
		deb=$(ls "$cache/${BASE_PKG}_${ver//:/%3a}_"*.deb)
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$BASE_PKG.tar.xz" >"$tb.tmp"
		mv "$tb.tmp" "$tb"
		rm -f "$deb"
	fi
	echo "$tb"
}

if [ -n "${PP_BASE_TARBALL:-}" ]; then
	[ -s "$PP_BASE_TARBALL" ] || die "PP_BASE_TARBALL=$PP_BASE_TARBALL does not exist"
	ver="tarball:$(basename "$PP_BASE_TARBALL")"
	tb=$PP_BASE_TARBALL
else
	ver=$(pick_version)
	tb=
fi

if [ -d "$TREE/.git" ] && git -C "$TREE" rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null &&
   [ "$(cat "$BUILD/base-version" 2>/dev/null)" = "$ver" ]; then
	say "base tree: cached ($ver, $(git -C "$TREE" rev-parse --short "$BASE_TAG"))"
	exit 0
fi

[ -n "$tb" ] || tb=$(tarball_from_deb "$ver")
say "base tree: unpacking $ver into ${TREE#"$TOP"/} (about 1.5 GB)"
rm -rf "$TREE" "$BUILD/base-version"
mkdir -p "$TREE"
tar -xJf "$tb" -C "$TREE" --strip-components=1
# Debian's tarball ignores everything but debian/ at its top; drop those two lines
# so git sees the kernel sources.
sed -i -e '/^\/\*$/d' -e '/^!\/debian\/$/d' "$TREE/.gitignore"
kver=$(make -s -C "$TREE" kernelversion)
say "base tree: committing Linux $kver"
git -C "$TREE" init -q -b "$BASE_TAG-branch"
git -C "$TREE" config core.autocrlf false
git -C "$TREE" config gc.auto 0
git_tree add -A
# The tree's .gitignore hides files the tarball has (the .kunitconfig files
# match ".*"): the base commit holds every file of the tarball.
[ "$BASE_ALL_FILES" = 0 ] ||
	git -C "$TREE" ls-files -z --others --ignored --exclude-standard | xargs -0r git -C "$TREE" add -f --
# Fixed dates make the base commit's hash depend on the sources alone, so the
# cover letter's base-commit line names the same commit on every machine.
GIT_AUTHOR_DATE="$BASE_DATE" GIT_COMMITTER_DATE="$BASE_DATE" git_tree commit -q -m "Linux $kver (Debian $BASE_PKG $ver)" \
	-m "Unpacked from Debian's $BASE_PKG package; the two Debian packaging lines of .gitignore dropped."
git_tree tag "$BASE_TAG"
echo "$ver" >"$BUILD/base-version"
say "base tree: ready at $(git -C "$TREE" rev-parse --short "$BASE_TAG") (Linux $kver, $ver)"
