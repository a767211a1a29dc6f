#!/bin/bash
# bench/python-phases.sh [N [PYTHON]]: where the time of one
# `threadleak snapshot` of a Python program with N blocked threads goes
# (default 1000, pyenv's newest 3.11).  Not run by `make bench`: its figures
# are in BENCHMARKS.md ("Python: where the time goes").
#
# It clones this repository's HEAD into a temporary directory, applies
# bench/python-phases.patch there (timers at the end of each phase of a
# snapshot, and sums of each per-thread step over all threads; the real
# threadleak has none) and builds that throwaway threadleak.  Then it
# starts bench/pythreads.py N and runs the instrumented snapshot on it
# RUNS times (text output to /dev/null), printing for each phase the median
# over the runs of its wall time, in ms: from the shell's clock before the
# exec to main (exec and dynamic loading) to the exit after the last free.
# The per-thread sums are wall time summed over every thread, across the
# parallel workers too (so they may add up to more than their phase).
# Last, with strace there, the system calls of one snapshot and of one
# with --no-python (strace -f -c).
#
# Environment: BENCH_PY_PHASE_RUNS (default 7).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-1000}
PY=${2:-$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.11.*/bin/python3 2>/dev/null | sort -V | tail -n 1)}
RUNS=${BENCH_PY_PHASE_RUNS:-7}
say() { printf 'phases: %s\n' "$*" >&2; }
[ -x "$PY" ] || { say "no Python to run (give one: $0 N PYTHON)"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-phases.XXXXXX") || exit 1
PID=
cleanup()
{
	[ -n "$PID" ] && { kill -KILL "$PID"; wait "$PID"; } 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

git clone -q "$ROOT" "$TMP/src" && cd "$TMP/src" &&
	git apply --3way "$ROOT/bench/python-phases.patch" ||
	{ say "bench/python-phases.patch does not apply to HEAD: refresh it"; exit 1; }
say "building the instrumented threadleak ($(git rev-parse --short HEAD) + bench/python-phases.patch)"
make -j2 threadleak >"$TMP/build.log" 2>&1 || { tail -n 20 "$TMP/build.log"; exit 1; }
TL=$TMP/src/threadleak

"$PY" "$ROOT/bench/pythreads.py" "$N" >"$TMP/py.out" 2>&1 </dev/null &
PID=$!
OUT=/dev/null . "$ROOT/bench/lib.sh"
wait_ready "$TMP/py.out" "$PID" || { say "pythreads.py not ready: $(head -c 300 "$TMP/py.out")"; exit 1; }
"$TL" snapshot "$PID" 2>/dev/null | head -n 2 >&2

# one run: "ms<TAB>phase" lines, marks as deltas, sums as they are
for ((r = 1; r <= RUNS; r++)); do
	t0=$(date +%s%N)
	"$TL" snapshot "$PID" >/dev/null 2>"$TMP/err"
	t1=$(date +%s%N)
	awk -v t0="$t0" -v t1="$t1" '
		/^mark / { t = $2; $1 = $2 = ""; sub(/^  /, "");
			   printf "%.3f\t%s\n", t - (prev ? prev : t0 / 1e6), $0; prev = t; next }
		/^acc / { v = $2; $1 = $2 = ""; sub(/^  /, ""); sums = sums sprintf("%.3f\t  (sum over threads) %s\n", v, $0); next }
		END { printf "%.3f\texit\n%.3f\tTOTAL (wall, exec to exit)\n%s", t1 / 1e6 - prev, (t1 - t0) / 1e6, sums }
	' "$TMP/err" >"$TMP/run.$r"
done
# the median of each line over the runs, in the first run's order
awk -F'\t' '
	FNR == 1 { run++ }
	{ if (run == 1) order[++n] = $2; v[$2, run] = $1 }
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]; m = 0
			for (r = 1; r <= run; r++) a[r] = v[k, r]
			for (x = 2; x <= run; x++)	# insertion sort
				for (y = x; y > 1 && a[y - 1] > a[y]; y--) { t = a[y]; a[y] = a[y - 1]; a[y - 1] = t }
			m = run % 2 ? a[(run + 1) / 2] : (a[run / 2] + a[run / 2 + 1]) / 2
			printf "| %s | %.1f |\n", k, m
		}
	}' "$TMP"/run.*
if command -v strace >/dev/null 2>&1; then
	for o in "" --no-python; do
		strace -f -c -o "$TMP/strace" "$TL" snapshot $o "$PID" >/dev/null 2>&1
		echo "system calls of one snapshot $o (strace -f -c; the 5 most called):"
		awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $(NF), $4 }' "$TMP/strace" |
			sort -k2,2nr | head -n 5 | awk '{ printf "  %s %s", $1, $2 } END { print "" }'
	done
fi
