# Shared settings and helpers for the harness scripts. Source it; do not run it.
# shellcheck shell=bash

HARNESS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HARNESS/.." && pwd)
BUILD_ROOT=${PP_BUILD:-$TOP/build}

# The bases, each with its own kernel tree and build folders. PP_BASE picks one:
#   7.3   Debian's linux-source-7.3 from trixie-backports, which these machines'
#         apt sources do not list: fetched through a private apt configuration
#         under build/v7.3/apt. Series: patches/net (fixes), then
#         patches/net-next (features), applied in that order on one branch.
#   6.12  Debian's linux-source-6.12 from bookworm-security, with the earlier
#         15-patch series kept in legacy-6.12/ until the 7.3 series replaces it.
PP_BASE=${PP_BASE:-7.3}
case "$PP_BASE" in
7.3)
	BASE_PKG=linux-source-7.3
	BASE_PIN=7.3.4-1~bpo13+1
	BASE_APT_SOURCE="deb http://deb.debian.org/debian trixie-backports main"
	BUILD=$BUILD_ROOT/v7.3
	SERIES_ROOT=$TOP
	SERIES_DIRS="patches/net patches/net-next"
	SERIES_RFC="patches/net-next"	# posted as "[RFC PATCH net-next ...]"
	BASE_ALL_FILES=1
	BASE_KCONFIG=$HARNESS/kconfig/v7.3
	BASE_VM=1			# the QEMU selftest VM (testvm.sh)
	BASE_SELFTESTS=$HARNESS/selftests-7.3.list
	# kunit.py builds its own kernels for these; on x86_64 it runs the
	# suites on the VM's debug kernel (kunit.py exec), which has them.
	BASE_KUNIT_ARCHS="um i386"
	BASE_KUNIT_VM_KERNEL=1
	BASE_CONTROLS=$HARNESS/controls-7.3.list
	BASE_BISECT_TESTS=1		# the per-patch kernels boot and run the suites
	;;
6.12)
	BASE_PKG=linux-source-6.12
	BASE_PIN=6.12.117-1~deb12u1
	BASE_APT_SOURCE=
	BUILD=$BUILD_ROOT
	SERIES_ROOT=$TOP/legacy-6.12
	SERIES_DIRS="patches"
	BASE_ALL_FILES=0	# its base commit, as the 6.12 cover letter names it
	BASE_KCONFIG=$HARNESS/kconfig
	BASE_VM=1
	BASE_SELFTESTS=$HARNESS/selftests-6.12.list
	BASE_KUNIT_ARCHS="um i386 x86_64"
	BASE_KUNIT_VM_KERNEL=0
	BASE_CONTROLS=
	BASE_BISECT_TESTS=0
	;;
*)
	echo "PP_BASE=$PP_BASE: unknown base (7.3 or 6.12)" >&2
	exit 1
	;;
esac
export PP_BASE
TREE=$BUILD/linux            # the kernel git tree (base commit + series)
LOGS=$BUILD/logs
mkdir -p "$BUILD" "$LOGS"
BASE_TAG=base
BASE_DATE="2026-01-01T00:00:00Z"

# The one identity every patch of the series carries (author and Signed-off-by).
# Whoever submits the series upstream re-signs it as themselves.
SERIES_NAME="page_pool inflight series"
SERIES_EMAIL="pp-inflight@example.org"
SERIES_BRANCH=${PP_SERIES_BRANCH:-series}
# The branch the builds and tests run on: the head of both series. With
# PP_NET_NEXT=0 (7.3), the net series' head: every series folder is still
# applied and checked statically (git am, copies, checkpatch), but the
# per-patch builds, warnings, pahole, KUnit runs and controls stop there.
if [ "$PP_BASE" = 7.3 ] && [ "${PP_NET_NEXT:-1}" = 0 ]; then
	TEST_BRANCH=$SERIES_BRANCH-net
else
	TEST_BRANCH=$SERIES_BRANCH
fi

# Files the series add are mirrored under $SERIES_ROOT in these top-level folders.
MIRROR_DIRS="net include io_uring tools/testing/selftests Documentation"
# The 6.12 series' benchmark: a kselftest folder with an out-of-tree module.
BENCH_DIR=tools/testing/selftests/net/page_pool_bench

# series_branch DIR: the branch whose head ends the series in DIR (the last
# series ends at SERIES_BRANCH; the ones before it at "series-NAME").
series_branch() {
	local last=${SERIES_DIRS##* }
	if [ "$1" = "$last" ]; then echo "$SERIES_BRANCH"; else echo "$SERIES_BRANCH-${1##*/}"; fi
}

# series_patches [DIR]: the patch files of one series folder (or of all, in the
# order they apply), cover letters left out.
series_patches() {
	local d p
	for d in ${1:-$SERIES_DIRS}; do
		for p in "$SERIES_ROOT/$d"/[0-9]*.patch; do
			case "$p" in *'/[0-9]*.patch'|*/0000-cover-letter.patch) continue ;; esac
			echo "$p"
		done
	done
}

# The compiler of every kernel and module build: gcc through ccache (deps.sh
# installs it) by way of kcc, which keeps assembler sources out of the cache;
# plain gcc without ccache.
KCC="$HARNESS/kcc gcc"
command -v ccache >/dev/null || KCC=gcc
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/pp-series-ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-15G}
# Hash paths relative to the checkout, so that another clone (CI's) of the
# project reuses what this one compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$TOP} CCACHE_NOHASHDIR=true
# ccache's depend mode: a miss compiles once, without the preprocessor pass
# the default mode adds (here 40 objects: 21.6 s, as without ccache, against
# 31.5-33 s in the default mode); a hit needs the same sources and headers.
export CCACHE_DEPEND=${CCACHE_DEPEND:-1}
JOBS=${JOBS:-$(nproc)}

T0=${T0:-$(date +%s)}
export T0

elapsed() { local s=$(( $(date +%s) - T0 )); printf '%02d:%02d' $((s / 60)) $((s % 60)); }
say() { printf '[%s] %s\n' "$(elapsed)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(elapsed)" "$*" >&2; exit 1; }

# stage NAME CMD...: run a step with its output in $LOGS/NAME.log, report time and result.
# On failure the log's tail is shown so the reason is on screen, not only in a file.
stage() {
	local name=$1 log="$LOGS/$1.log" s rc=0
	shift
	s=$(date +%s)
	say "$PP_BASE $name: start (log: ${log#"$TOP"/})"
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$log" >&2
		say "$PP_BASE $name: FAILED after $(( $(date +%s) - s ))s (rc=$rc, full log: $log)"
		return "$rc"
	fi
	say "$PP_BASE $name: ok in $(( $(date +%s) - s ))s"
}

# series_files REV FILTER PATH...: the files base..REV adds (FILTER A) or adds
# and changes (AM) below PATHs, e.g. series_files series A '*.kunitconfig'.
series_files() {
	local rev=$1 filter=$2
	shift 2
	git -C "$TREE" diff --name-only --diff-filter="$filter" "$BASE_TAG" "$rev" -- "$@"
}

# kunit_py SRC ARGS...: SRC's own kunit.py. 7.3's asks QEMU for "-accel kvm"
# first; where /dev/kvm opens but guests hang (these machines), it is hidden
# so that QEMU falls back to TCG.
kunit_py() {
	local src=$1 hide=()
	shift
	if [ -e /dev/kvm ] && [ "$PP_BASE" != 6.12 ]; then
		hide=(unshare -m sh -c 'mount --bind /dev/null /dev/kvm && exec "$@"' sh)
	fi
	(cd "$src" && "${hide[@]}" python3 tools/testing/kunit/kunit.py "$@")
}
# How every kunit.py run boots its kernel: cases marked slow (KUNIT_CASE_SLOW:
# dev_addr_lists' benchmark, 85 s of the x86_64 run under KASAN) are reported
# as skipped, as kunit.py offers; the raw console goes to console.py.
KUNIT_RUN=(--timeout=900 --raw_output=all --filter "speed>slow" --filter_action=skip)

# kunit_exec SRC OUT LOG NAME: boot the x86_64 kernel built from SRC in OUT
# (kunit.py exec, 2 CPUs), its console to LOG; prints console.py's verdicts
# (cases named "NAME: kunit suite.case") and returns its exit code.
kunit_exec() {
	kunit_py "$1" exec --arch=x86_64 --build_dir="$2" --qemu_args "-smp 2" "${KUNIT_RUN[@]}" \
		>"$3" 2>&1 || true
	python3 "$HARNESS/console.py" "$1" "$3" --name "$4"
}

# The test VM's selftests (BASE_SELFTESTS), whose lines are "PATH [DRIVER]
# [ARG...]": sets SELFTESTS to the PATH@DRIVER words vm.sh takes and
# SELFTEST_ARGS to the guest's "KSELFTEST_<NAME>_ARGS=..." words, through
# which the kselftest runner (runner.sh) passes a test its arguments.
read_selftests() {
	local t nic args n
	SELFTESTS=() SELFTEST_ARGS=()
	while read -r t nic args; do
		case "$t" in ''|'#'*) continue ;; esac
		# No DRIVER: the first word is an option or a NAME=VALUE argument.
		case "$nic" in -*|*=*) args="$nic${args:+ $args}" nic= ;; esac
		SELFTESTS+=("$t${nic:+@$nic}")
		[ -n "$args" ] || continue
		n=$(basename "$t")
		n=${n//[^[:alnum:]_]/_}
		SELFTEST_ARGS+=("KSELFTEST_${n^^}_ARGS=\"$args\"")
	done <"$BASE_SELFTESTS"
}

# vm_selftests NAME KERNEL SELFTEST...: vm.sh with the list's arguments.
vm_selftests() {
	read_selftests
	PP_VM_APPEND="${PP_VM_APPEND:+$PP_VM_APPEND }${SELFTEST_ARGS[*]}" "$HARNESS/vm.sh" "$@"
}

# Outputs of a run kept for a rerun with the same inputs: KEY is a hash of
# them. PP_RERUN=1 runs everything again.
#   kept_get NAME KEY PATH...: put back the PATHs kept as NAME-KEY (0 if kept)
#   kept_put NAME KEY PATH...: keep them (files or folders)
KEPT=$BUILD/kept
kept_get() {
	local f=$KEPT/$1-$2.tar
	shift 2
	[ "${PP_RERUN:-0}" != 1 ] && [ -f "$f" ] || return 1
	rm -rf "$@"
	tar -xPf "$f"
}
kept_put() {
	local name=$1 key=$2
	shift 2
	mkdir -p "$KEPT"
	rm -f "$KEPT/$name"-*.tar
	tar -cf "$KEPT/$name-$key.tar" -P "$@"
}

git_tree() { git -C "$TREE" -c user.name="$SERIES_NAME" -c user.email="$SERIES_EMAIL" "$@"; }

# Results of tests and checks, one "PASS name" / "FAIL name" / "SKIP name" line
# each, shared by the bases; each name starts with its base ("7.3 ...").
RESULTS=${PP_RESULTS:-$BUILD_ROOT/results.txt}
export PP_RESULTS=$RESULTS

# Verdicts name their base; the top-level scripts' own checks clear it.
RESULT_PREFIX="$PP_BASE "

# result PASS|FAIL|SKIP NAME: keep one verdict.
result() { echo "$1 $RESULT_PREFIX$2" >>"$RESULTS"; }

# check NAME CMD...: run a check like stage(), then keep its verdicts. A check
# prints its own PASS/FAIL lines (one per case); one that printed none counts
# as a single case named NAME, passed or failed by its exit code.
check() {
	local name=$1 rc=0 log="$LOGS/$1.log"
	stage "$@" || rc=$?
	if grep -qE '^(PASS|FAIL) ' "$log"; then
		grep -E '^(PASS|FAIL|SKIP) ' "$log" | sed -E "s/^(PASS|FAIL|SKIP) /\1 $RESULT_PREFIX/" >>"$RESULTS"
		if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$log"; then
			result FAIL "$name: exit code $rc"
		fi
	elif [ "$rc" -eq 0 ]; then
		result PASS "$name"
	else
		result FAIL "$name"
	fi
	return 0
}

summary() {
	local pass fail skip
	pass=$(grep -c '^PASS ' "$RESULTS" || true)
	fail=$(grep -c '^FAIL ' "$RESULTS" || true)
	skip=$(grep -c '^SKIP ' "$RESULTS" || true)
	# One row per group of results: the part of a name before its first ':'.
	awk '{ st = $1; sub(/^[A-Z]+ /, ""); g = $0; sub(/:.*/, "", g);
	       if (!(g in c)) order[++k] = g; c[g]; n[st, g]++ }
	     END { printf "%-48s %7s %7s %7s\n", "", "passed", "failed", "skipped";
	           for (i = 1; i <= k; i++) { g = order[i];
	               printf "%-48s %7d %7d %7d\n", g, n["PASS", g], n["FAIL", g], n["SKIP", g] } }' "$RESULTS"
	if [ "$fail" -gt 0 ]; then
		echo "failed:"
		grep '^FAIL ' "$RESULTS" | sed 's/^/  /'
	fi
	echo "total time $(elapsed); results in ${RESULTS#"$TOP"/}, logs in ${LOGS#"$TOP"/}/"
	echo "$pass passed, $fail failed$([ "$skip" -eq 0 ] || echo ", $skip skipped")"
	[ "$fail" -eq 0 ]
}

# run_bases main|tests: the top-level jobs' frame. Fresh results, the
# packages, then run-base.sh in that mode on each base of PP_BASES in turn
# (7.3 unless set).
run_bases() {
	local base
	: >"$RESULTS"
	RESULT_PREFIX=
	stage deps "$HARNESS/deps.sh"
	for base in ${PP_BASES:-7.3}; do
		# A base's stages that stop on an error they did not record still fail.
		PP_BASE=$base "$HARNESS/run-base.sh" "$1" ||
			echo "FAIL $base: run-base.sh ran to the end (exit $?)" >>"$RESULTS"
	done
}

# module_build DIR KDIR LOG [MAKE-ARG...]: build the out-of-tree module whose
# Makefile is in DIR against the kernel build KDIR, make's output in LOG. An
# error or a compiler warning fails it, with the end of LOG shown.
module_build() {
	local dir=$1 kdir=$2 log=$3
	shift 3
	if make -C "$dir" KDIR="$kdir" CC="$KCC" "$@" >"$log" 2>&1 && ! grep -q 'warning:' "$log"; then
		return 0
	fi
	sed 's/^/  | /' "$log" | tail -n 30 >&2
	return 1
}

# apt_setup DIR [SOURCE-LINE]: set apt_opts for apt-get and apt-cache. With a
# sources.list line, a private configuration in DIR that lists only it (the
# machine's /etc/apt is never touched); without, the machine's own sources.
apt_setup() {
	apt_opts=()
	apt_where=${2:-"the machine's apt sources"}
	[ -n "${2:-}" ] || return 0
	mkdir -p "$1/lists/partial" "$1/cache/archives/partial"
	echo "$2" >"$1/sources.list"
	apt_opts=(-o "Dir::Etc::sourcelist=$1/sources.list" -o "Dir::Etc::sourceparts=-"
		  -o "Dir::State::Lists=$1/lists" -o "Dir::Cache=$1/cache")
}

# apt_pick PKG PIN WHAT-IF-NOT HOW-ELSE: print PIN if apt_setup's sources have
# that version of PKG (binary or source), else say so and print the newest
# one; die, naming HOW-ELSE, if they have none.
apt_pick() {
	local pkg=$1 pin=$2 avail newest
	if ! apt-cache "${apt_opts[@]}" madison "$pkg" 2>/dev/null | grep -q .; then
		say "looking up $pkg ($apt_where)"
		apt-get "${apt_opts[@]}" update -q >&2 || true
	fi
	avail=$(apt-cache "${apt_opts[@]}" madison "$pkg" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}')
	if [ -z "$avail" ]; then
		die "apt knows no $pkg package in $apt_where.
    Check the network and that suite, $4."
	fi
	if grep -qxF "$pin" <<<"$avail"; then
		echo "$pin"
		return
	fi
	newest=$(sort -V <<<"$avail" | tail -n 1)
	say "WARNING: pinned $pkg $pin is no longer in the archive."
	say "WARNING: falling back to the newest one, $newest; $3."
	echo "$newest"
}
