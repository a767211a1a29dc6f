#!/bin/bash
# tests/run.sh: run threadleak's tests.  Builds nothing: `make check` (or
# whatever calls this) builds ./threadleak, testdata/* and tests/unit/test_*
# first.
#
#	tests/run.sh [FILTER]
#
# Runs every executable tests/unit/test_* and every tests/integration/*.sh
# whose name contains FILTER, each under a timeout, and prints one line per
# test: PASS name, FAIL name (its output indented below), SKIP name (with its
# reason).  Ends with "N passed, N failed" (", N skipped" when some were) and
# exits 0 only when none failed.  A test exits 0 pass, 77 skip, else fail.
#
# Environment: THREADLEAK (binary under test, default ./threadleak);
# THREADLEAK_VARIANTS (several binaries, space-separated, e.g. "./threadleak
# build/asan/threadleak": the integration tests run once per binary, named
# "integration/NAME [BINARY]" after the first); TL_TEST_TIMEOUT (seconds per
# test, default 300); THREADLEAK_CACHE_DIR (default: a directory of this
# run's, removed at the end).

set -u

# A sanitizer report must fail a test even where exit 1 (a partial
# snapshot) is accepted: make the sanitizers exit with 99 instead of 1.
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=99:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=99}

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
for t in tests/unit/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case $t in *.c | *.h | *.o | *.d | *.sh) continue ;; esac
	tests+=("$t") names+=("${t#tests/}") bins+=("${binaries[0]}")
done
for i in "${!binaries[@]}"; do
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		name=${t#tests/}
		name=${name%.sh}
		((i > 0)) && name+=" [${variants[i]}]"
		tests+=("$t") names+=("$name") bins+=("${binaries[i]}")
	done
done

log=$(mktemp "${TMPDIR:-/tmp}/threadleak-run.XXXXXX") || exit 2
# The debug-file cache (src/debugcache.h) of this run only, shared by its
# tests: nothing is written to the caller's home.
cache=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-cache.XXXXXX") || exit 2
export THREADLEAK_CACHE_DIR=${THREADLEAK_CACHE_DIR:-$cache}
trap 'rm -f "$log"; rm -rf "$cache"' EXIT

passed=0 failed=0 skipped=0 matched=0
for i in "${!tests[@]}"; do
	t=${tests[i]} name=${names[i]}
	case $name in *"$filter"*) ;; *) continue ;; esac
	matched=$((matched + 1))

	case $t in
	*.sh) cmd=(bash "$t") ;;
	*) cmd=("./$t") ;;
	esac
	THREADLEAK=${bins[i]} timeout -k 10 "$timeout_s" "${cmd[@]}" \
		>"$log" 2>&1 </dev/null
	rc=$?
	case $rc in
	0)
		echo "PASS $name"
		passed=$((passed + 1))
		;;
	77)
		echo "SKIP $name"
		sed 's/^/    /' "$log"
		skipped=$((skipped + 1))
		;;
	*)
		echo "FAIL $name"
		if ((rc == 124)); then
			echo "    (timed out after ${timeout_s}s)"
		elif ((rc > 128)); then
			echo "    (killed by signal $((rc - 128)))"
		fi
		sed 's/^/    /' "$log"
		failed=$((failed + 1))
		;;
	esac
done

if ((matched == 0)); then
	echo "no tests match '$filter'" >&2
fi
summary="$passed passed, $failed failed"
((skipped)) && summary+=", $skipped skipped"
echo "$summary"
((failed == 0))
