#!/usr/bin/env bash
# sparse (C=2) with W=1, and kernel-doc -Wall, on what the series touches,
# compared with the base so that only warnings the series adds count.
# The base side is built once in its own worktree (build/base-wt) and cached.
# Run after checks/bisect.sh, which leaves the series head built in build/bisect-wt.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
export LC_ALL=C		# one collation for sort and comm

profile=bisect-x86_64
head_src=$BUILD/bisect-wt head_out=$BUILD/kbuild-$profile
base_src=$BUILD/base-wt base_out=$BUILD/kbuild-$profile-base
[ -d "$head_src" ] || die "run checks/bisect.sh first"
if [ ! -e "$base_src/.git" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$base_src" "$BASE_TAG"
fi
git -C "$head_src" checkout -q --detach "$TEST_BRANCH"

touched() { series_files "$TEST_BRANCH" AM "$@" ':!tools' ':!Documentation'; }

# The kernel's own test of the checker. 7.3 needs a sparse that knows
# __typeof_unqual__, which Debian 12's 0.6.4 does not: then the one
# harness/sparse.sh builds. Without a usable sparse, W=1 alone, and one SKIP
# line that says why.
checker=C=2 sparse=sparse
valid() { [ ! -x "$head_src/scripts/checker-valid.sh" ] ||
	  [ "$("$head_src/scripts/checker-valid.sh" "$1" -m64 2>/dev/null)" = 1 ]; }
if ! valid sparse; then
	system="$(sparse --version 2>&1 | head -n 1)"
	if sparse=$("$HARNESS/sparse.sh") && valid "$sparse"; then
		echo "sparse: $system fails this tree's scripts/checker-valid.sh; using $sparse"
	else
		checker=C=0
		echo "SKIP sparse: $system fails this tree's scripts/checker-valid.sh, and so does ${sparse:-no other}; W=1 only"
	fi
fi

# Warnings of one build of OBJ in SRC/OUT, without the tree's path and line
# numbers, so that the same warning in both trees, or in moved code, compares
# equal. Fails unless both the compiler and sparse ran on it.
warnings_of() {
	local src=$1 out=$2 obj=$3 log
	log=$(mktemp)
	rm -f "$out/$obj"
	make -C "$src" O="$out" ARCH=x86_64 CC="$KCC" "$checker" CHECK="$sparse" W=1 -j"$JOBS" "$obj" >"$log" 2>&1 || true
	{
		# CHECK names the source with (6.12) or without (7.3) the tree's path.
		if ! grep -qE "^  CC( \[M\])? +$obj\$" "$log" ||
		   { [ "$checker" = C=2 ] && ! grep -qE "^  CHECK +(.*/)?${obj%.o}\.c\$" "$log"; }; then
			echo "error: the compiler or sparse did not run on $obj: $(tail -n 3 "$log" | tr '\n' ' ')"
		fi
		grep -E '(warning|error):' "$log" |
			sed -E -e "s#($src|\.\./[a-z-]+)/##" -e 's/:[0-9]+(:[0-9]+)?:/:/' || true
	} | sort
	rm -f "$log"
}

# Make the base output folder ready for single-object builds.
if [ ! -f "$base_out/.config" ] || ! cmp -s "$head_out/.config" "$base_out/.config.from"; then
	mkdir -p "$base_out"
	cp "$head_out/.config" "$base_out/.config"
	cp "$head_out/.config" "$base_out/.config.from"
	make -C "$base_src" O="$base_out" ARCH=x86_64 CC="$KCC" -s olddefconfig
	make -C "$base_src" O="$base_out" ARCH=x86_64 CC="$KCC" -j"$JOBS" -s prepare
fi

# verdict NAME OLD NEW: fail NAME, showing them, if NEW has lines OLD has not.
fail=0
verdict() {
	local added
	added=$(comm -13 <(echo "$2") <(echo "$3") | sed '/^$/d')
	if [ -n "$added" ]; then
		echo "FAIL $1"
		echo "$added" | sed 's/^/  /'
		fail=1
	else
		echo "PASS $1"
	fi
}

# The head's warnings of an object are kept for a rerun of the same tree,
# config, checker and script (the base's are kept below, per object).
head_key=$({ git -C "$TREE" rev-parse "$TEST_BRANCH^{tree}"; cat "$0" "$head_out/.config"
	     echo "$checker $sparse $KCC"; gcc --version | head -n 1; } | sha256sum | cut -c1-12)
for f in $(touched '*.c'); do
	obj=${f%.c}.o
	kept=$head_out/.warn-head-$(echo "$obj" | tr / _)-$head_key
	if [ -f "$kept" ]; then
		new=$(cat "$kept")
	else
		new=$(warnings_of "$head_src" "$head_out" "$obj")
		# Not a run where the compiler or sparse did not run.
		grep -q '^error: ' <<<"$new" || printf '%s\n' "$new" >"$kept"
	fi
	old=
	if [ -f "$base_src/$f" ]; then
		cache=$base_out/.warn-$(echo "$obj" | tr / _)-$checker-$({ cat "$0"; echo "$sparse"; } | sha256sum | cut -c1-12)
		[ -f "$cache" ] || warnings_of "$base_src" "$base_out" "$obj" >"$cache"
		old=$(cat "$cache")
	fi
	if [ "$checker" = C=2 ]; then
		verdict "sparse and W=1 add no warning: $obj" "$old" "$new"
	else
		verdict "W=1 adds no warning: $obj" "$old" "$new"
	fi
done

for f in $(touched '*.c' '*.h'); do
	# "FILE:LINE: warning" (6.12) or "Warning: FILE:LINE text" (7.3).
	new=$("$head_src/scripts/kernel-doc" -none -Wall "$head_src/$f" 2>&1 |
		sed -E -e "s#$head_src/##" -e 's/:[0-9]+(:| )/\1/' | sort)
	old=
	[ -f "$base_src/$f" ] && old=$("$base_src/scripts/kernel-doc" -none -Wall "$base_src/$f" 2>&1 |
		sed -E -e "s#$base_src/##" -e 's/:[0-9]+(:| )/\1/' | sort)
	verdict "kernel-doc -Wall adds no warning: $f" "$old" "$new"
done
exit "$fail"
