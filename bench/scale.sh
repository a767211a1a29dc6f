#!/bin/bash
# bench/scale.sh: `threadleak snapshot` against the kernel's floor and
# eu-stack, and `threadleak diff` of two snapshots, at 10,000, 30,000 and
# 50,000 threads (bench/target N: blocked threads of four kinds and two
# spinners).  `make bench` runs it.
#
# For each size, on one process:
#   snapshot   threadleak snapshot -q -o FILE (the JSON written, not
#              printed): median wall time of REPEAT runs, peak RSS
#   floor      bench/snapshot-floor PID: every thread's schedstat, stat,
#              syscall and sched opened, read and closed, on every CPU:
#              the files a stop-free snapshot reports and cannot do
#              without; median of REPEAT runs
#   floor -v   bench/snapshot-floor -v PID: the same, and what checks a
#              stop-free capture besides: schedstat read again after
#              one page of the thread's stack is read
#   eu-stack   eu-stack -p PID, once (it stops every thread)
#   diff       threadleak diff of two of those snapshots: median wall time
#              of REPEAT runs, peak RSS
# and per thread: snapshot µs/thread, to show the cost growing no faster
# than the threads.  More than 32,768 threads needs kernel.pid_max and
# vm.max_map_count raised: as root the script raises them for the run and
# puts them back; otherwise those sizes are skipped, said in the table.
#
# The table goes to stdout and into BENCHMARKS.md between
# <!-- bench-scale:start --> and <!-- bench-scale:end -->.
# Environment: BENCH_OUT, THREADLEAK, BENCH_SCALE_SIZES (default
# "10000 30000 50000"), BENCH_REPEAT (default 5).
set -u

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$BENCH_ROOT/BENCHMARKS.md}
. "$BENCH_ROOT/tests/lib.sh"
TMP=$TL_TMP
START='<!-- bench-scale:start -->'
END='<!-- bench-scale:end -->'
SIZES=${BENCH_SCALE_SIZES:-10000 30000 50000}
REPEAT=${BENCH_REPEAT:-5}
say() { printf 'bench: %s\n' "$*" >&2; }
. "$BENCH_ROOT/bench/lib.sh"
need_threadleak
command -v eu-stack >/dev/null || { say "needs eu-stack: make bench installs it"; exit 1; }
[ -x /usr/bin/time ] || { say "needs /usr/bin/time: make bench installs it"; exit 1; }
gcc -O2 -g -Wall -Wextra -pthread -o "$TMP/target" "$BENCH_ROOT/bench/target.c" || exit 1
gcc -O2 -Wall -Wextra -pthread -o "$TMP/floor" "$BENCH_ROOT/bench/snapshot-floor.c" || exit 1

PID_MAX=$(cat /proc/sys/kernel/pid_max)
MAP_MAX=$(cat /proc/sys/vm/max_map_count)
restore_limits()
{
	[ "$(cat /proc/sys/kernel/pid_max)" = "$PID_MAX" ] || echo "$PID_MAX" >/proc/sys/kernel/pid_max
	[ "$(cat /proc/sys/vm/max_map_count)" = "$MAP_MAX" ] || echo "$MAP_MAX" >/proc/sys/vm/max_map_count
}
trap 'restore_limits; tl_cleanup' EXIT

# room_for N: the kernel lets one process have N threads (raised as root)
room_for()
{
	local n=$1
	((n + 1000 < PID_MAX && 2 * n + 1000 < MAP_MAX)) && return 0
	[ "$(id -u)" = 0 ] || return 1
	((n + 1000 >= PID_MAX)) && echo $((4 * n)) >/proc/sys/kernel/pid_max
	((2 * n + 1000 >= MAP_MAX)) && echo $((4 * n)) >/proc/sys/vm/max_map_count
	return 0
}

# timed_ms OUTVAR RSSVAR CMD...: one run; wall ms and peak RSS KiB
timed()
{
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$TMP/rss" timeout -k 5 600 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	T_RC=$?
	t1=$(date +%s%N)
	T_MS=$(((t1 - t0) / 1000000))
	T_RSS=$(tail -n1 "$TMP/rss" 2>/dev/null)
	[[ $T_RSS =~ ^[0-9]+$ ]] || T_RSS=0
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
maxof() { printf '%s\n' "$@" | sort -n | tail -1; }

ROWS=()
for n in $SIZES; do
	if ! room_for "$n"; then
		ROWS+=("| $n | skipped: kernel.pid_max or vm.max_map_count too low, and not root | | | | | | | | | |")
		continue
	fi
	start_target_nowait "$TMP/target" "$n"
	T=$TARGET_PID
	deadline=$((SECONDS + 600))
	until grep -q '^ready' "$TARGET_OUT"; do
		proc_alive "$T" && ((SECONDS < deadline)) || { say "bench/target $n: not ready: $(head -c 300 "$TARGET_ERR")"; exit 1; }
		tl_sleep 0.2
	done
	threads=$(ls "/proc/$T/task" | wc -l)
	snaps=() srss=() floors=() vfloors=() diffs=() drss=()
	for ((r = 1; r <= REPEAT; r++)); do
		timed "$THREADLEAK" snapshot -q -o "$TMP/s$((r % 2)).snap" "$T"
		((T_RC == 0 || T_RC == 1)) || say "snapshot run $r: exit $T_RC: $(head -c 200 "$TMP/err")"
		snaps+=("$T_MS") srss+=("$T_RSS")
		# the floors' wall time, as the snapshot's: the same wrapper,
		# the program's start and end included
		timed "$TMP/floor" "$T"
		floors+=("$T_MS")
		timed "$TMP/floor" -v "$T"
		vfloors+=("$T_MS")
	done
	stopped=$(stopped_threads "$T" | wc -w)
	for ((r = 1; r <= REPEAT; r++)); do
		timed "$THREADLEAK" diff "$TMP/s0.snap" "$TMP/s1.snap"
		((T_RC == 0 || T_RC == 1)) || say "diff run $r: exit $T_RC: $(head -c 200 "$TMP/err")"
		diffs+=("$T_MS") drss+=("$T_RSS")
	done
	timed eu-stack -p "$T"
	eu=$T_MS
	kill_target "$T"
	snap=$(median "${snaps[@]}") floor=$(median "${floors[@]}") diff=$(median "${diffs[@]}")
	vfloor=$(median "${vfloors[@]}")
	vratio=$(awk -v a="$snap" -v b="$vfloor" 'BEGIN { printf "%.2f", a / b }')
	srss_mib=$(( $(maxof "${srss[@]}") / 1024 )) drss_mib=$(( $(maxof "${drss[@]}") / 1024 ))
	size_mib=$(awk -v b="$(stat -c %s "$TMP/s0.snap")" 'BEGIN { printf "%.1f", b / 1048576 }')
	ratio=$(awk -v a="$snap" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')
	eu_ratio=$(awk -v a="$eu" -v b="$snap" 'BEGIN { printf "%.0f", a / b }')
	per=$(awk -v a="$snap" -v n="$threads" 'BEGIN { printf "%.1f", 1000 * a / n }')
	say "$threads threads: snapshot $snap ms ($per µs/thread, $srss_mib MiB), floor $floor ms (×$ratio), with validation $vfloor ms (×$vratio), eu-stack $eu ms (${eu_ratio}×), diff $diff ms $drss_mib MiB of ${size_mib} MiB files; stopped $stopped"
	ROWS+=("| $threads | $snap ms | $per µs | $floor ms | ×$ratio | $vfloor ms | ×$vratio | $eu ms | ${eu_ratio}× | $srss_mib MiB | $diff ms, $drss_mib MiB (files ${size_mib} MiB) |")
done
restore_limits

TABLE="| threads | threadleak snapshot | per thread | floor (4 files a thread) | snapshot / floor | floor -v (and the stack page, schedstat again) | snapshot / floor -v | eu-stack | eu-stack / snapshot | snapshot peak RSS | diff of two snapshots |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
TABLE=$(table_rows "$TABLE" "${ROWS[@]}")
echo "$TABLE"
BLOCK="$START
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r), threadleak $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown); \`bench/scale.sh\`, medians of $REPEAT runs (eu-stack: one).

$TABLE
$END"
put_block "$START" "$END" "$BLOCK" "## Snapshot and diff against the kernel's floor, 10,000 to 50,000 threads

\`bench/snapshot-floor\` opens, reads and closes every thread's schedstat, stat, syscall and sched on every CPU and does nothing else: the least a stop-free snapshot that reports what threadleak reports can make the kernel do.  With \`-v\` it also reads one page of each thread's stack at its sp and schedstat again, as a stop-free capture must to know the page is of one moment.  All are wall times of the whole command, through the same wrapper (\`timeout\`, \`/usr/bin/time\`), start and exit included.  The snapshot is written to a file (\`-q -o\`), as for a later diff."
say "wrote $OUT"
