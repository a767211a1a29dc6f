#!/bin/bash
# bench/serve-many.sh: `threadleak serve` watching 100 processes, as an
# exporter on a host of services: what it costs, and whether pprof
# fetches delay a scrape.
#
# The processes: BENCH_SERVE_GO copies of testdata/go/leaky (-n 3
# -requests 3: about 50 goroutines each; default 10, 0 without a Go
# toolchain) and the rest (to BENCH_SERVE_PROCS, default 100) copies of
# bench/target 20 idle.  serve watches them all, --interval INTERVAL
# (default 15).  Once its first refresh is published:
#   1. quiet: a scrape of /metrics every second for PHASE seconds
#      (default 60);
#   2. in flight: the same, while a client fetches profiles back to back
#      (/debug/pprof/goroutine?pid=P at debug=0, 1 and 2 in turn, P going
#      round the processes, the Go ones first).
# For each phase: serve's CPU as a share of one core, the scrapes' wall
# time (curl's time_total: median, 90th percentile, largest), and for the
# second the profiles fetched and their median time; then serve's peak
# and final resident memory (RSS, which counts a file each session maps
# once per session, and PSS from smaps_rollup, which counts it once, and
# its anonymous part), the metrics' size, the first refresh's time.
#
# The table goes to stdout and into BENCHMARKS.md between
# <!-- bench-serve-many:start --> and <!-- bench-serve-many:end -->.
# Environment: BENCH_OUT, THREADLEAK, BENCH_SERVE_PROCS, BENCH_SERVE_GO,
# BENCH_SERVE_PHASE, BENCH_SERVE_INTERVAL.
set -u

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$BENCH_ROOT/BENCHMARKS.md}
. "$BENCH_ROOT/tests/lib.sh"
. "$BENCH_ROOT/tests/go-lib.sh"
TMP=$TL_TMP
START='<!-- bench-serve-many:start -->'
END='<!-- bench-serve-many:end -->'
PROCS=${BENCH_SERVE_PROCS:-100}
NGO=${BENCH_SERVE_GO:-10}
PHASE=${BENCH_SERVE_PHASE:-60}
INTERVAL=${BENCH_SERVE_INTERVAL:-15}
say() { printf 'bench: %s\n' "$*" >&2; }
. "$BENCH_ROOT/bench/lib.sh"
need_threadleak
for c in curl gcc; do
	command -v "$c" >/dev/null || { say "needs $c: make bench installs it"; exit 1; }
done
gcc -O2 -g -Wall -Wextra -pthread -o "$TMP/target" "$BENCH_ROOT/bench/target.c" || exit 1
HZ=$(getconf CLK_TCK)
GO=$(go_toolchains | tail -1)
if [ -z "$GO" ] && ((NGO > 0)); then
	say "no Go toolchain: the $PROCS processes are all C"
	NGO=0
fi
((NGO <= PROCS)) || NGO=$PROCS

# stats FILE: "median p90 max" (ms) of the seconds in FILE, one a line
stats()
{
	sort -n "$1" | awk '{ v[NR] = $1 * 1000 }
		END { if (!NR) { print "- - -"; exit }
		      printf "%.1f %.1f %.1f", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.999)], v[NR] }'
}

PIDS=()
if ((NGO > 0)); then
	build_leaky "$GO" stripped "$TMP/leaky" || { say "$LEAKY_ERROR"; exit 1; }
	for ((i = 0; i < NGO; i++)); do
		start_target_nowait "$TMP/leaky" -n 3 -requests 3
		PIDS+=("$TARGET_PID")
		OUTS+=("$TARGET_OUT")
	done
fi
for ((i = NGO; i < PROCS; i++)); do
	start_target_nowait "$TMP/target" 20 idle
	PIDS+=("$TARGET_PID")
	OUTS+=("$TARGET_OUT")
done
deadline=$((SECONDS + 600))
for o in "${OUTS[@]}"; do
	until grep -q '^ready' "$o"; do
		((SECONDS < deadline)) || { say "not every process got ready in 600 s"; exit 1; }
		tl_sleep 0.1
	done
done
say "$PROCS processes ready ($NGO Go)"

t0=$(date +%s%N)
bench_serve --listen 127.0.0.1:0 --interval "$INTERVAL" "${PIDS[@]}"
t1=$(date +%s%N)
first_s=$(awk -v ns="$((t1 - t0))" 'BEGIN { printf "%.2f", ns / 1e9 }')
up=$(grep -c '^threadleak_up{.*} 1$' "$TMP/m")
say "first refresh published after ${first_s} s: $up of $PROCS up"

# scrape_for SECONDS FILE: a scrape a second, each one's time in FILE
scrape_for()
{
	local end=$((SECONDS + $1))
	: >"$2"
	while ((SECONDS < end)); do
		curl -s -o "$TMP/m" -w '%{time_total}\n' "http://$addr/metrics" >>"$2"
		sleep 1
	done
}

c1=$(ticks_of "$S") n1=$(date +%s%N)
scrape_for "$PHASE" "$TMP/quiet"
c2=$(ticks_of "$S") n2=$(date +%s%N)
# profiles back to back, in the background, while scraping again
(
	i=0
	while :; do
		p=${PIDS[$((i % ${#PIDS[@]}))]}
		d=$((i % 3))
		curl -s -o /dev/null -w '%{time_total}\n' "http://$addr/debug/pprof/goroutine?pid=$p&debug=$d" >>"$TMP/fetches"
		i=$((i + 1))
	done
) &
F=$!
register_pid "$F"
scrape_for "$PHASE" "$TMP/busy"
kill "$F"
wait "$F" 2>/dev/null
unregister_pid "$F"
c3=$(ticks_of "$S") n3=$(date +%s%N)
hwm=$(awk '/^VmHWM/{printf "%.0f", $2 / 1024}' "/proc/$S/status")
rss=$(awk '/^VmRSS/{printf "%.0f", $2 / 1024}' "/proc/$S/status")
# RSS counts a file mapped by each session (libc's debug file, once per
# process watched) each time; PSS counts it once
pss=$(awk '/^Pss:/{printf "%.0f", $2 / 1024}' "/proc/$S/smaps_rollup")
anon=$(awk '/^Pss_Anon:/{printf "%.0f", $2 / 1024}' "/proc/$S/smaps_rollup")
size=$(wc -c <"$TMP/m")
read -r q50 q90 qmax <<<"$(stats "$TMP/quiet")"
read -r b50 b90 bmax <<<"$(stats "$TMP/busy")"
read -r f50 _ fmax <<<"$(stats "$TMP/fetches")"
nf=$(wc -l <"$TMP/fetches")
cpu_quiet=$(pct $((c2 - c1)) $((n2 - n1)))
cpu_busy=$(pct $((c3 - c2)) $((n3 - n2)))
stopped=0
for p in "${PIDS[@]}"; do
	stopped=$((stopped + $(stopped_threads "$p" | wc -w)))
done
kill_target "$S"
say "quiet: CPU ${cpu_quiet}%, scrape ${q50}/${q90}/${qmax} ms; profiles in flight: CPU ${cpu_busy}%, scrape ${b50}/${b90}/${bmax} ms, $nf profiles (median ${f50} ms); RSS peak ${hwm} MiB, now ${rss} MiB (PSS ${pss} MiB, ${anon} anonymous); metrics $size bytes; stopped $stopped"

TABLE="| phase ($PROCS processes, $NGO of them Go) | serve CPU | scrape ms: median, p90, max | profiles fetched | serve memory |
|---|---:|---:|---:|---:|
| first refresh | | published after ${first_s} s ($up up) | | |
| quiet, ${PHASE} s, a scrape a second | ${cpu_quiet}% | ${q50}, ${q90}, ${qmax} | | |
| profiles in flight, ${PHASE} s | ${cpu_busy}% | ${b50}, ${b90}, ${bmax} | $nf back to back, median ${f50} ms, largest ${fmax} ms | RSS peak ${hwm} MiB; after: RSS ${rss} MiB, PSS ${pss} MiB (${anon} MiB anonymous) |"
echo "$TABLE"
BLOCK="$START
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r), threadleak $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown); \`bench/serve-many.sh\` (serve --interval ${INTERVAL}; CPU as a share of one core; metrics ${size} bytes; threads left stopped: ${stopped}).

$TABLE
$END"
put_block "$START" "$END" "$BLOCK" "## serve: 100 processes, and pprof fetches beside the scrapes

\`threadleak serve\` watching ${PROCS} processes (Go programs and C ones), scraped every second, then scraped every second while a client fetches profiles back to back."
say "wrote $OUT"
