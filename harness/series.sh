#!/usr/bin/env bash
# The series: patches/ <-> the "series" branch of build/linux.
#
#   series.sh apply    check out a fresh "series" branch at the base and git am patches/
#   series.sh export   turn base..series back into patches/ (cover letter text kept)
#                      and refresh the repo's copies of the files the series adds
#   series.sh check    the repo's copies equal what the applied series adds
#   series.sh git ARGS git in build/linux as the series identity (commit -s, rebase -i, ...)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

added_files() {
	# Files the series adds under the mirrored folders, as paths in the tree.
	# shellcheck disable=SC2086
	series_files "$SERIES_BRANCH" A $MIRROR_DIRS
}

# Whether the series adds FILE as an executable (git mode 100755).
executable() { [ "$(git -C "$TREE" ls-tree "$SERIES_BRANCH" -- "$1" | cut -d' ' -f1)" = 100755 ]; }

# What the applied branch depends on: the patches, not the cover letter's text.
patches_sum() {
	find "$TOP/patches" -name '[0-9]*.patch' ! -name '0000-cover-letter.patch' | sort |
		xargs -r cat | sha256sum | cut -d' ' -f1
}

cmd_apply() {
	local stamp=$BUILD/applied.sum sum head p n=0
	[ -d "$TREE/.git" ] || die "no base tree: run harness/base.sh first"
	sum=$(patches_sum)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum $(git -C "$TREE" rev-parse -q --verify $SERIES_BRANCH)" ] &&
	   [ -z "$(git -C "$TREE" status --porcelain)" ]; then
		say "series: already applied ($(git -C "$TREE" rev-list --count "$BASE_TAG..$SERIES_BRANCH") patches)"
		return
	fi
	if [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ]; then
		die "build/linux has uncommitted changes; commit and export them, or 'git -C build/linux stash', before applying"
	fi
	head=$(git -C "$TREE" rev-parse -q --verify "$SERIES_BRANCH" || true)
	if [ -n "$head" ] && [ "$head" != "$(git -C "$TREE" rev-parse "$BASE_TAG")" ]; then
		git -C "$TREE" update-ref "refs/backup/$SERIES_BRANCH-$(date +%Y%m%d-%H%M%S)" "$head"
	fi
	git -C "$TREE" am --abort >/dev/null 2>&1 || true
	git -C "$TREE" checkout -q -B "$SERIES_BRANCH" "$BASE_TAG"
	for p in "$TOP"/patches/[0-9]*.patch; do
		[ -e "$p" ] || continue
		case "$p" in */0000-cover-letter.patch) continue ;; esac
		n=$((n + 1))
		if ! out=$(git_tree am --keep-cr "$p" 2>&1); then
			git -C "$TREE" am --abort >/dev/null 2>&1 || true
			printf '%s\n' "$out" >&2
			die "patch $(basename "$p") does not apply to the base ($(cat "$BUILD/base-version")); git am said the above"
		fi
	done
	say "series: applied $n patches on $(cat "$BUILD/base-version")"
	echo "$sum $(git -C "$TREE" rev-parse $SERIES_BRANCH)" >"$stamp"
}

cmd_export() {
	local out=$BUILD/export d f
	[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
		die "build/linux has uncommitted changes: commit them to the series branch first"
	rm -rf "$out"
	git_tree format-patch -q --cover-letter --zero-commit --no-signature \
		--base="$BASE_TAG" -o "$out" "$BASE_TAG..$SERIES_BRANCH"
	python3 "$HARNESS/cover_letter.py" "$out/0000-cover-letter.patch" \
		"$TOP/patches/0000-cover-letter.patch" "$(cat "$BUILD/base-version")"
	rm -rf "$TOP/patches"
	mv "$out" "$TOP/patches"
	# The mirrored copies: exactly the files the series adds.
	for d in $MIRROR_DIRS; do
		[ -d "$TOP/$d" ] && git -C "$TOP" ls-files -z --others --cached -- "$d" | (cd "$TOP" && xargs -0r rm -f)
	done
	added_files | while read -r f; do
		mkdir -p "$TOP/$(dirname "$f")"
		git -C "$TREE" show "$SERIES_BRANCH:$f" >"$TOP/$f"
		if executable "$f"; then chmod +x "$TOP/$f"; else chmod -x "$TOP/$f"; fi
	done
	for d in $MIRROR_DIRS; do
		[ -d "$TOP/$d" ] && find "$TOP/$d" -type d -empty -delete
	done
	echo "$(patches_sum) $(git -C "$TREE" rev-parse $SERIES_BRANCH)" >"$BUILD/applied.sum"
	say "series: exported $(ls "$TOP"/patches/[0-9]*.patch | wc -l) files to patches/ and $(added_files | wc -l) added files"
}

cmd_check() {
	local f bad=0 want have
	want=$(added_files | sort)
	# shellcheck disable=SC2086
	have=$(cd "$TOP" && git ls-files --cached --others --exclude-standard -- $MIRROR_DIRS | sort)
	while read -r f; do
		[ -n "$f" ] || continue
		if [ ! -f "$TOP/$f" ]; then
			echo "missing copy: $f (the series adds it; run harness/series.sh export)"
			bad=1
		elif ! git -C "$TREE" show "$SERIES_BRANCH:$f" | cmp -s - "$TOP/$f"; then
			echo "differs: $f (the copy and the patches disagree)"
			git -C "$TREE" show "$SERIES_BRANCH:$f" | diff -u --label "patches:$f" - --label "copy:$f" "$TOP/$f" | head -20
			bad=1
		elif [ "$(executable "$f" && echo x)" != "$([ -x "$TOP/$f" ] && echo x)" ]; then
			echo "mode differs: $f (executable in only one of the copy and the series)"
			bad=1
		fi
	done <<<"$want"
	while read -r f; do
		[ -n "$f" ] || continue
		grep -qxF "$f" <<<"$want" || { echo "extra file: $f (the series does not add it)"; bad=1; }
	done <<<"$have"
	# One identity: each patch's author and its sign-offs (the header, above "---").
	local me="$SERIES_NAME <$SERIES_EMAIL>" p
	local sobs
	for p in "$TOP"/patches/[0-9]*.patch; do
		grep -qxF "From: $me" "$p" || { echo "$(basename "$p"): author is not $me"; bad=1; }
		case "$p" in */0000-cover-letter.patch) continue ;; esac
		sobs=$(sed '/^---$/q' "$p" | grep '^Signed-off-by: ' | sort -u || true)
		[ "$sobs" = "Signed-off-by: $me" ] ||
			{ echo "$(basename "$p"): sign-offs are not exactly $me: ${sobs:-none}"; bad=1; }
	done
	[ "$bad" = 0 ] && echo "copies of the $(wc -l <<<"$want") added files match patches/; every patch is by $me"
	return "$bad"
}

case "${1:-}" in
apply) cmd_apply ;;
export) cmd_export ;;
check) cmd_check ;;
git) shift; git_tree "$@" ;;
*) die "usage: $0 apply|export|check|git ARGS" ;;
esac
