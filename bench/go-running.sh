#!/bin/bash
# bench/go-running.sh: how long threadleak holds the thread of a running
# goroutine.  testdata/go/busy -spin K (K goroutines in an endless loop,
# each on a thread of its own while GOMAXPROCS allows) is built with each
# Go toolchain here and snapshotted BENCH_REPEAT times (default 100); each
# snapshot says how many threads it stopped and for how long
# (threads_stopped, stop_ms_max, stop_ms_total: from PTRACE_SEIZE to the
# detach, the goroutine's and the thread's unwinds in between).  Prints,
# per toolchain and K, the median and the largest of the longest stop of
# each snapshot, the median total, and the median capture time.
#
#	bench/go-running.sh [K...]        (default: 1 2)
#
# Environment: BENCH_REPEAT, THREADLEAK (default ./threadleak).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPEAT=${BENCH_REPEAT:-100}
THREADLEAK=${THREADLEAK:-$ROOT/threadleak}
SPINS=("$@")
((${#SPINS[@]})) || SPINS=(1 2)
. "$ROOT/tests/lib.sh"
. "$ROOT/tests/go-lib.sh"

# median, max of numbers on stdin (one a line)
stats()
{
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f %.3f\n", m, v[NR] }'
}

printf '%-10s %5s %9s %14s %12s %14s %12s\n' go spin snapshots "stop max: med" "max" "total: med" "capture med"
for go in $(go_toolchains); do
	v=$(go_version "$go")
	bin=$TL_TMP/busy-$v
	(cd "$ROOT/testdata/go" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false "$go" build -o "$bin" ./busy) ||
		{ echo "bench: cannot build testdata/go/busy with $v" >&2; continue; }
	for k in "${SPINS[@]}"; do
		start_target "$bin" -spin "$k" -n 3
		pid=$TARGET_PID
		: >"$TL_TMP/rows"
		for i in $(seq "$REPEAT"); do
			"$THREADLEAK" snapshot --json "$pid" 2>/dev/null |
				jq -r '[.threads_stopped, .stop_ms_max, .stop_ms_total, .capture_ms] | @tsv' >>"$TL_TMP/rows"
		done
		assert_not_stopped "$pid" "$v -spin $k"
		kill_target "$pid"
		n=$(awk -F'\t' '$1 > 0' "$TL_TMP/rows" | wc -l)
		read -r mmed mmax < <(awk -F'\t' '$1 > 0 { print $2 }' "$TL_TMP/rows" | stats)
		read -r tmed _ < <(awk -F'\t' '$1 > 0 { print $3 }' "$TL_TMP/rows" | stats)
		read -r cmed _ < <(cut -f4 "$TL_TMP/rows" | stats)
		printf '%-10s %5s %9s %11s ms %9s ms %11s ms %9s ms\n' "$v" "$k" "$n/$REPEAT" "$mmed" "$mmax" "$tmed" "$cmed"
	done
done
finish >/dev/null
