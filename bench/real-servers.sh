#!/bin/bash
# bench/real-servers.sh: Debian's stripped servers as users run them
# (memcached, redis-server, nginx with a thread pool, MariaDB, PostgreSQL),
# started on loopback by tests/servers-lib.sh, each idle.  `make bench`
# runs it last.  For each: threads, stacks whole, frames equal to gdb's
# (tests/gdb-compare.py: where both name a frame), and the wall time of
# threadleak snapshot (median of 5), gdb -batch 'thread apply all bt' and
# eu-stack (median of 3 each) on the same process, with the threads each
# stopped.  PostgreSQL is its postmaster and the processes it forks, one
# run of each tool per process, times summed.
#
# The table goes to stdout and into BENCHMARKS.md between
# <!-- bench-servers:start --> and <!-- bench-servers:end -->.
# Environment: BENCH_OUT, THREADLEAK.
set -u

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$BENCH_ROOT/BENCHMARKS.md}
. "$BENCH_ROOT/tests/lib.sh"
. "$BENCH_ROOT/tests/servers-lib.sh"
TMP=$TL_TMP
START='<!-- bench-servers:start -->'
END='<!-- bench-servers:end -->'
say() { printf 'bench: %s\n' "$*" >&2; }
. "$BENCH_ROOT/bench/lib.sh"
need_threadleak
for c in gdb eu-stack jq python3; do
	command -v "$c" >/dev/null || { say "needs $c: make bench installs it"; exit 1; }
done

# wall_ms CMD...: the wall time of CMD in ms (its output dropped)
wall_ms()
{
	local t0
	t0=$(tl_now_us)
	"$@" >/dev/null 2>&1 </dev/null
	echo $((($(tl_now_us) - t0) / 1000))
}

# median_ms N CMD...: the median of N runs of wall_ms CMD
median_ms()
{
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		wall_ms "$@"
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

ROWS=()
for s in $SERVERS; do
	why=$(server_missing "$s")
	if [ -n "$why" ]; then
		say "$s: $why"
		ROWS+=("| $s | not run: $why | | | | | |")
		continue
	fi
	if ! start_named_server "$s"; then
		say "$s: $SERVER_ERROR"
		ROWS+=("| $s | did not start | | | | | |")
		continue
	fi
	threads=0 whole=0 named=0 equal=0 tl=0 gd=0 eu=0 stopped=0 rc_bad=0
	for p in "${SERVER_PROCS[@]}"; do
		TL_ERRORS=()
		check_process "$s" "$p" 1 >/dev/null
		((${#TL_ERRORS[@]})) && { say "$s: ${TL_ERRORS[0]}"; rc_bad=1; }
		cmp=$TL_TMP/$s-$p.cmp
		if [ -s "$cmp" ]; then
			read -r t w nb eq < <(jq -r '"\(.threads) \(.whole) \(.named_both) \(.equal)"' "$cmp")
			threads=$((threads + t)) whole=$((whole + w)) named=$((named + nb)) equal=$((equal + eq))
		fi
		"$THREADLEAK" snapshot "$p" >"$TMP/snap.txt" 2>/dev/null
		n=$(sed -n '2s/.*; \([0-9][0-9]*\) threads\{0,1\} stopped.*/\1/p' "$TMP/snap.txt")
		stopped=$((stopped + ${n:-0}))
		tl=$((tl + $(median_ms 5 "$THREADLEAK" snapshot "$p")))
		gd=$((gd + $(median_ms 3 gdb -p "$p" -batch -ex 'thread apply all bt')))
		eu=$((eu + $(median_ms 3 eu-stack -p "$p")))
	done
	kill_target "$SERVER_MAIN"
	procs=${#SERVER_PROCS[@]}
	what=$s
	((procs > 1)) && what="$s ($procs processes)"
	say "$what: $threads threads, $whole whole, $equal/$named frames equal to gdb's; snapshot ${tl} ms ($stopped stopped), gdb ${gd} ms, eu-stack ${eu} ms"
	ROWS+=("| $what | $threads | $whole | $equal of $named | ${tl} ms, $stopped stopped | ${gd} ms, all stopped | ${eu} ms, all stopped |")
done

TABLE="| program | threads | stacks whole | frames equal to gdb's (where both name one) | threadleak snapshot | gdb thread apply all bt | eu-stack |
|---|---:|---:|---:|---:|---:|---:|"
TABLE=$(table_rows "$TABLE" "${ROWS[@]}")
echo "$TABLE"
BLOCK="$START
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r), threadleak $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown); \`bench/real-servers.sh\` (Debian $(cat /etc/debian_version 2>/dev/null) packages, idle, started by tests/servers-lib.sh).

$TABLE
$END"
put_block "$START" "$END" "$BLOCK" "## Debian's stripped servers, against gdb and eu-stack

Distribution binaries without their debug packages (libc6-dbg installed, as \`make check\` does): threadleak's stacks frame for frame against gdb's on the same idle process, and the time each tool takes."
say "wrote $OUT"
