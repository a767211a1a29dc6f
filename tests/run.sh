#!/bin/bash
# tests/run.sh: run threadleak's tests.  Builds nothing: `make check` (or
# whatever calls this) builds ./threadleak, testdata/* and tests/unit/test_*
# first.
#
#	tests/run.sh [FILTER]
#
# Runs every executable tests/unit/test_* and every tests/integration/*.sh
# whose name contains FILTER, each under a timeout, and prints one line per
# test: PASS name (with the parts it did not run, "partial: ...", below),
# FAIL name (its output indented below), SKIP name (with its reason).  Ends
# with "N passed, N failed, N skipped, N partial (N not allowed)" and exits
# 0 only when none failed and every skip and partial is allowed.
#
# A unit test passes by exiting 0 (77: skip).  An integration test passes
# only when it exits 0 AND its verdict file (tests/lib.sh: finish, fail,
# skip, partial) ends in "pass" with no "fail": an exit status changed on
# the way out, or a script that never reached `finish`, fails.  A test that
# sets a trap is refused unrun: cleanup is lib.sh's at_exit, which a test
# cannot replace by accident.  A test with the line "# tl: once" near its
# top runs with the first binary only (it does not use the one under test);
# one with "# tl: timeout SECONDS" gets that timeout when it is longer.
#
# Skips and partials are held against tests/skips.allow (lines "TEST |
# REASON-GLOB | why it is allowed"): one not listed fails the run, so a new
# skip is seen the day it appears.  TL_ALLOW_SKIPS=1 lists them without
# failing (a developer's machine without some runtime).
#
# Environment: THREADLEAK (binary under test, default ./threadleak);
# THREADLEAK_VARIANTS (several binaries, space-separated, e.g. "./threadleak
# build/asan/threadleak": the integration tests run once per binary, named
# "integration/NAME [BINARY]" after the first); TL_UNIT_DIR (where the
# unit tests' executables are, default tests/unit: make coverage's are in
# build/cov/unit); TL_TEST_TIMEOUT (seconds per
# test, default 300); THREADLEAK_CACHE_DIR (default: a directory of this
# run's, removed at the end).

set -u

# A sanitizer report must fail a test even where exit 1 (a partial
# snapshot) is accepted: make the sanitizers exit with 99 instead of 1.
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=99:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=99}
# a library's own leaks, each with its reason (tests/lsan.supp)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
filter=${1:-}
timeout_s=${TL_TEST_TIMEOUT:-300}

# abspath P: P made absolute against the caller's directory
abspath()
{
	case $1 in
	/*) echo "$1" ;;
	*/*) echo "$PWD/${1#./}" ;;
	*) command -v "$1" || echo "$PWD/$1" ;;
	esac
}

variants=()
for v in ${THREADLEAK_VARIANTS:-}; do
	variants+=("$v")
done
((${#variants[@]})) || variants=("${THREADLEAK:-$root/threadleak}")
binaries=()
for v in "${variants[@]}"; do
	binaries+=("$(abspath "$v")")
done

cd "$root" || exit 2

# tests[i] is a test file, names[i] its name, bins[i] its THREADLEAK
tests=() names=() bins=()
for t in "${TL_UNIT_DIR:-tests/unit}"/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case $t in *.c | *.h | *.o | *.d | *.sh | *.gc??) continue ;; esac
	tests+=("$t") names+=("unit/${t##*/}") bins+=("${binaries[0]}")
done
for i in "${!binaries[@]}"; do
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		name=${t#tests/}
		name=${name%.sh}
		if ((i > 0)); then
			head -n 40 "$t" | grep -qx '# tl: once' && continue
			name+=" [${variants[i]}]"
		fi
		tests+=("$t") names+=("$name") bins+=("${binaries[i]}")
	done
done

# allowed_skip NAME REASON: tests/skips.allow lists it
allow_names=() allow_globs=()
while IFS='|' read -r a_name a_glob _; do
	a_name=$(echo $a_name) a_glob=${a_glob# } a_glob=${a_glob% }
	case $a_name in '' | '#'*) continue ;; esac
	allow_names+=("$a_name") allow_globs+=("$a_glob")
done < <(cat tests/skips.allow 2>/dev/null)
allowed_skip()
{
	local k
	for k in "${!allow_names[@]}"; do
		# shellcheck disable=SC2053
		[[ ${1%% \[*} == ${allow_names[k]} && $2 == ${allow_globs[k]} ]] && return 0
	done
	return 1
}

log=$(mktemp "${TMPDIR:-/tmp}/threadleak-run.XXXXXX") || exit 2
# The debug-file cache (src/stacks/debugcache.h) of this run only, shared by its
# tests: nothing is written to the caller's home.
cache=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-cache.XXXXXX") || exit 2
export THREADLEAK_CACHE_DIR=${THREADLEAK_CACHE_DIR:-$cache}
verdict=$log.verdict
trap 'rm -f "$log" "$verdict"; rm -rf "$cache"' EXIT

passed=0 failed=0 skipped=0 partials=0 matched=0
unallowed=()

# held NAME REASON: count a skip or partial against tests/skips.allow
held()
{
	allowed_skip "$1" "$2" && return 0
	unallowed+=("$1: $2")
	echo "    (not in tests/skips.allow)"
}
for i in "${!tests[@]}"; do
	t=${tests[i]} name=${names[i]}
	case $name in *"$filter"*) ;; *) continue ;; esac
	matched=$((matched + 1))

	verdict_word= why=
	: >"$verdict"
	t_timeout=$timeout_s
	case $t in
	*.sh)
		cmd=(bash "$t")
		# "# tl: timeout SECONDS" near its top: a longer timeout
		n=$(head -n 40 "$t" | sed -n 's/^# tl: timeout \([0-9][0-9]*\)$/\1/p' | head -n 1)
		[ -n "$n" ] && ((n > t_timeout)) && t_timeout=$n
		if grep -nE '^[^#]*(^|[;&|({[:space:]])trap([[:space:]]|$)' "$t" >"$log"; then
			why="sets a trap (use at_exit from tests/lib.sh): $(head -n 1 "$log")"
		fi
		;;
	*) cmd=("./$t") ;;
	esac
	if [ -n "$why" ]; then
		rc=1
		: >"$log"
	else
		THREADLEAK=${bins[i]} TL_VERDICT_FILE=$verdict \
			timeout -k 10 "$t_timeout" "${cmd[@]}" >"$log" 2>&1 </dev/null
		rc=$?
		if [[ $t == *.sh ]]; then
			grep -qx fail "$verdict" && verdict_word=fail ||
				verdict_word=$(grep -vE '^partial( |$)' "$verdict" | tail -n 1 | cut -d' ' -f1)
			if ((rc == 0)) && [ "$verdict_word" != pass ]; then
				rc=1
				why="exited 0 but its verdict is '${verdict_word:-none}': it never reached finish, or its exit status was changed on the way out"
			elif ((rc == 77)) && [ "$verdict_word" != skip ]; then
				rc=1
				why="exited 77 without calling skip"
			fi
		fi
	fi
	case $rc in
	0)
		echo "PASS $name"
		passed=$((passed + 1))
		while read -r _ reason; do
			echo "    partial: $reason"
			partials=$((partials + 1))
			held "$name" "$reason"
		done < <(grep -E '^partial( |$)' "$verdict")
		;;
	77)
		echo "SKIP $name"
		sed 's/^/    /' "$log"
		skipped=$((skipped + 1))
		held "$name" "$(sed -n 's/^skip //p' "$verdict" | head -n 1)"
		;;
	*)
		echo "FAIL $name"
		if ((rc == 124)); then
			echo "    (timed out after ${t_timeout}s)"
		elif ((rc > 128)); then
			echo "    (killed by signal $((rc - 128)))"
		fi
		[ -n "$why" ] && echo "    ($why)"
		sed 's/^/    /' "$log"
		failed=$((failed + 1))
		;;
	esac
done

if ((matched == 0)); then
	echo "no tests match '$filter'" >&2
fi
if ((${#unallowed[@]})); then
	echo "skipped or partial, and not in tests/skips.allow:"
	printf '    %s\n' "${unallowed[@]}"
	[ "${TL_ALLOW_SKIPS:-0}" = 1 ] && echo "    (TL_ALLOW_SKIPS=1: not failing the run for them)"
fi
bad=${#unallowed[@]}
[ "${TL_ALLOW_SKIPS:-0}" = 1 ] && bad=0
echo "$passed passed, $failed failed, $skipped skipped, $partials partial ($bad not allowed)"
((failed == 0 && bad == 0))
