#!/usr/bin/env bash
# The series of one base (PP_BASE, see lib.sh) <-> branches of its kernel tree.
# A base's series folders (SERIES_DIRS) apply in order on one branch: for 7.3,
# patches/net (the fixes, ending at branch "series-net") and then
# patches/net-next (ending at branch "series").
#
#   series.sh apply    check out a fresh "series" branch at the base and git am
#                      every series folder in turn
#   series.sh export   turn each series' commits back into its folder (cover
#                      letter text kept) and refresh the repo's copies of the
#                      files the series add
#   series.sh check    the repo's copies equal what the applied series add
#   series.sh git ARGS git in the tree as the series identity (commit -s, ...)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

added_files() {
	# Files the series add under the mirrored folders, as paths in the tree.
	# shellcheck disable=SC2086
	series_files "$SERIES_BRANCH" A $MIRROR_DIRS
}

# Whether the series add FILE as an executable (git mode 100755).
executable() { [ "$(git -C "$TREE" ls-tree "$SERIES_BRANCH" -- "$1" | cut -d' ' -f1)" = 100755 ]; }

# What the applied branch depends on: the patches, not the cover letters' text.
patches_sum() { series_patches | xargs -r cat | sha256sum | cut -d' ' -f1; }

# The netdev subject prefix of a series folder: [PATCH net], [PATCH net-next].
subject_prefix() {
	local rfc=
	case " ${SERIES_RFC:-} " in *" $1 "*) rfc="RFC " ;; esac
	case "${1##*/}" in
	patches) echo "${rfc}PATCH" ;;
	*) echo "${rfc}PATCH ${1##*/}" ;;
	esac
}

cmd_apply() {
	local stamp=$BUILD/applied.sum sum head d p n=0 out
	[ -d "$TREE/.git" ] || die "no base tree: run harness/base.sh first"
	sum=$(patches_sum)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum $(git -C "$TREE" rev-parse -q --verify $SERIES_BRANCH)" ] &&
	   [ "$(git -C "$TREE" rev-parse HEAD)" = "$(git -C "$TREE" rev-parse "$TEST_BRANCH")" ] &&
	   [ -z "$(git -C "$TREE" status --porcelain)" ]; then
		say "series: already applied ($(git -C "$TREE" rev-list --count "$BASE_TAG..$SERIES_BRANCH") patches)"
		return
	fi
	if [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ]; then
		die "${TREE#"$TOP"/} has uncommitted changes; commit and export them, or 'git -C ${TREE#"$TOP"/} stash', before applying"
	fi
	head=$(git -C "$TREE" rev-parse -q --verify "$SERIES_BRANCH" || true)
	if [ -n "$head" ] && [ "$head" != "$(git -C "$TREE" rev-parse "$BASE_TAG")" ]; then
		git -C "$TREE" update-ref "refs/backup/$SERIES_BRANCH-$(date +%Y%m%d-%H%M%S)" "$head"
	fi
	git -C "$TREE" am --abort >/dev/null 2>&1 || true
	git -C "$TREE" checkout -q -B "$SERIES_BRANCH" "$BASE_TAG"
	for d in $SERIES_DIRS; do
		for p in $(series_patches "$d"); do
			n=$((n + 1))
			if ! out=$(git_tree am --keep-cr "$p" 2>&1); then
				git -C "$TREE" am --abort >/dev/null 2>&1 || true
				printf '%s\n' "$out" >&2
				die "patch ${p#"$SERIES_ROOT"/} does not apply ($(cat "$BUILD/base-version"), after $((n - 1)) patches); git am said the above"
			fi
		done
		[ "$(series_branch "$d")" = "$SERIES_BRANCH" ] || git -C "$TREE" branch -f "$(series_branch "$d")" HEAD
	done
	say "series: applied $n patches ($SERIES_DIRS) on $(cat "$BUILD/base-version")"
	echo "$sum $(git -C "$TREE" rev-parse $SERIES_BRANCH)" >"$stamp"
}

cmd_export() {
	local out d f from=$BASE_TAG to
	[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
		die "${TREE#"$TOP"/} has uncommitted changes: commit them to the series branch first"
	for d in $SERIES_DIRS; do
		to=$(series_branch "$d")
		out=$BUILD/export/$d
		rm -rf "$out"
		if [ "$(git -C "$TREE" rev-list --count "$from..$to")" = 0 ]; then
			rm -rf "${SERIES_ROOT:?}/$d"
			from=$to
			continue
		fi
		git_tree format-patch -q --cover-letter --zero-commit --no-signature \
			--subject-prefix="$(subject_prefix "$d")" \
			--base="$BASE_TAG" -o "$out" "$from..$to"
		python3 "$HARNESS/cover_letter.py" "$out/0000-cover-letter.patch" \
			"$SERIES_ROOT/$d/0000-cover-letter.patch" "$BASE_PKG $(cat "$BUILD/base-version")"
		rm -rf "${SERIES_ROOT:?}/$d"
		mkdir -p "$(dirname "$SERIES_ROOT/$d")"
		mv "$out" "$SERIES_ROOT/$d"
		from=$to
	done
	# The mirrored copies: exactly the files the series add.
	for d in $MIRROR_DIRS; do
		[ -d "$SERIES_ROOT/$d" ] && git -C "$SERIES_ROOT" ls-files -z --others --cached -- "$d" |
			(cd "$SERIES_ROOT" && xargs -0r rm -f)
	done
	added_files | while read -r f; do
		mkdir -p "$SERIES_ROOT/$(dirname "$f")"
		git -C "$TREE" show "$SERIES_BRANCH:$f" >"$SERIES_ROOT/$f"
		if executable "$f"; then chmod +x "$SERIES_ROOT/$f"; else chmod -x "$SERIES_ROOT/$f"; fi
	done
	for d in $MIRROR_DIRS; do
		[ -d "$SERIES_ROOT/$d" ] && find "$SERIES_ROOT/$d" -type d -empty -delete
	done
	echo "$(patches_sum) $(git -C "$TREE" rev-parse $SERIES_BRANCH)" >"$BUILD/applied.sum"
	say "series: exported $(series_patches | wc -l) patches to $SERIES_DIRS and $(added_files | wc -l) added files"
}

cmd_check() {
	local f bad=0 want have
	want=$(added_files | sort)
	# shellcheck disable=SC2086
	have=$(cd "$SERIES_ROOT" && git ls-files --cached --others --exclude-standard -- $MIRROR_DIRS | sort)
	while read -r f; do
		[ -n "$f" ] || continue
		if [ ! -f "$SERIES_ROOT/$f" ]; then
			echo "missing copy: $f (the series add it; run harness/series.sh export)"
			bad=1
		elif ! git -C "$TREE" show "$SERIES_BRANCH:$f" | cmp -s - "$SERIES_ROOT/$f"; then
			echo "differs: $f (the copy and the patches disagree)"
			git -C "$TREE" show "$SERIES_BRANCH:$f" | diff -u --label "patches:$f" - --label "copy:$f" "$SERIES_ROOT/$f" | head -20
			bad=1
		elif [ "$(executable "$f" && echo x)" != "$([ -x "$SERIES_ROOT/$f" ] && echo x)" ]; then
			echo "mode differs: $f (executable in only one of the copy and the series)"
			bad=1
		fi
	done <<<"$want"
	while read -r f; do
		[ -n "$f" ] || continue
		grep -qxF "$f" <<<"$want" || { echo "extra file: $f (the series do not add it)"; bad=1; }
	done <<<"$have"
	# One identity: each patch's author and its sign-offs (the header, above "---").
	local me="$SERIES_NAME <$SERIES_EMAIL>" p d sobs
	for d in $SERIES_DIRS; do
		for p in "$SERIES_ROOT/$d"/[0-9]*.patch; do
			[ -e "$p" ] || continue
			grep -qxF "From: $me" "$p" || { echo "${p#"$SERIES_ROOT"/}: author is not $me"; bad=1; }
			case "$p" in */0000-cover-letter.patch) continue ;; esac
			sobs=$(sed '/^---$/q' "$p" | grep '^Signed-off-by: ' | sort -u || true)
			[ "$sobs" = "Signed-off-by: $me" ] ||
				{ echo "${p#"$SERIES_ROOT"/}: sign-offs are not exactly $me: ${sobs:-none}"; bad=1; }
		done
	done
	[ "$bad" = 0 ] && echo "copies of the $(grep -c . <<<"$want") added files match $SERIES_DIRS; every patch is by $me"
	return "$bad"
}

case "${1:-}" in
apply) cmd_apply ;;
export) cmd_export ;;
check) cmd_check ;;
git) shift; git_tree "$@" ;;
*) die "usage: $0 apply|export|check|git ARGS" ;;
esac
