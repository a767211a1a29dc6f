#!/bin/bash
# bench/serve.sh: what `threadleak serve` costs as a Prometheus exporter
# watching a process of N idle threads (bench/target N idle), refreshed
# and scraped every INTERVAL seconds (15, Prometheus's default) for
# SECONDS, beside procps top run the same way over the same window:
# `top -b -d INTERVAL` (every process of the machine, as an admin leaves
# it running) and `top -H -b -d INTERVAL -p PID` (the target's threads).
#
# For serve: CPU share of one core over the whole window (first capture
# included) and over the steady part (after the first scrape got
# metrics), peak RSS (VmHWM), the capture time the metrics report, the
# median wall time of a scrape (curl's time_total) and the size of the
# metrics; and that no thread of the target was left stopped.  For the
# top runs: their CPU share, from GNU time.
#
# The table goes to stdout and into BENCHMARKS.md between
# <!-- bench-serve:start --> and <!-- bench-serve:end -->.
# Environment: BENCH_OUT, THREADLEAK, BENCH_SERVE_SIZES (default "10000"),
# BENCH_SERVE_SECONDS (default 120), BENCH_SERVE_INTERVAL (default 15).
set -u

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$BENCH_ROOT/BENCHMARKS.md}
. "$BENCH_ROOT/tests/lib.sh"
TMP=$TL_TMP
START='<!-- bench-serve:start -->'
END='<!-- bench-serve:end -->'
SIZES=${BENCH_SERVE_SIZES:-10000}
SECS=${BENCH_SERVE_SECONDS:-120}
INTERVAL=${BENCH_SERVE_INTERVAL:-15}
say() { printf 'bench: %s\n' "$*" >&2; }
. "$BENCH_ROOT/bench/lib.sh"
need_threadleak
for c in curl top gcc; do
	command -v "$c" >/dev/null || { say "needs $c: make bench installs it"; exit 1; }
done
[ -x /usr/bin/time ] || { say "needs /usr/bin/time: make bench installs it"; exit 1; }
gcc -O2 -g -Wall -Wextra -pthread -o "$TMP/target" "$BENCH_ROOT/bench/target.c" || exit 1
HZ=$(getconf CLK_TCK)


ROWS=()
for n in $SIZES; do
	# its ready line has more words than start_target waits for
	start_target_nowait "$TMP/target" "$n" idle
	T=$TARGET_PID
	deadline=$((SECONDS + 300))
	until grep -q '^ready' "$TARGET_OUT"; do
		proc_alive "$T" && ((SECONDS < deadline)) || { say "bench/target $n idle: not ready"; exit 1; }
		tl_sleep 0.1
	done
	frames=$((SECS / INTERVAL + 1))
	# the anchors, over the same window
	/usr/bin/time -f '%U %S %e' -o "$TMP/top-all.time" top -b -d "$INTERVAL" -n "$frames" >/dev/null 2>&1 &
	TOPALL=$!
	register_pid "$TOPALL"
	/usr/bin/time -f '%U %S %e' -o "$TMP/top-h.time" top -H -b -d "$INTERVAL" -n "$frames" -p "$T" >/dev/null 2>&1 &
	TOPH=$!
	register_pid "$TOPH"

	t0=$(date +%s%N)
	# until the first refresh is published
	bench_serve --listen 127.0.0.1:0 --interval "$INTERVAL" "$T"
	t1=$(date +%s%N)
	c1=$(ticks_of "$S")
	first_s=$(awk -v ns="$((t1 - t0))" 'BEGIN { printf "%.2f", ns / 1e9 }')
	scrapes=()
	end=$((SECONDS + SECS))
	while ((SECONDS < end)); do
		scrapes+=("$(curl -s -o "$TMP/m" -w '%{time_total}' "http://$addr/metrics")")
		sleep "$INTERVAL"
	done
	t2=$(date +%s%N)
	c2=$(ticks_of "$S")
	hwm=$(awk '/^VmHWM/{printf "%.0f", $2 / 1024}' "/proc/$S/status")
	steady=$(pct $((c2 - c1)) $((t2 - t1)))
	whole=$(pct "$c2" $((t2 - t0)))
	capture=$(awk -F'} ' '/^threadleak_capture_seconds/{printf "%.0f", $2 * 1000}' "$TMP/m")
	threads=$(awk -F'} ' '/^threadleak_threads/{print $2}' "$TMP/m")
	size=$(wc -c <"$TMP/m")
	scrape_ms=$(printf '%s\n' "${scrapes[@]}" | sort -n | awk '{v[NR] = $1} END { printf "%.1f", v[int((NR + 1) / 2)] * 1000 }')
	stopped=$(stopped_threads "$T" | wc -w)
	kill_target "$S"
	wait "$TOPALL" "$TOPH" 2>/dev/null
	unregister_pid "$TOPALL"
	unregister_pid "$TOPH"
	topall=$(awk '{ printf "%.2f", 100 * ($1 + $2) / $3 }' "$TMP/top-all.time")
	toph=$(awk '{ printf "%.2f", 100 * ($1 + $2) / $3 }' "$TMP/top-h.time")
	kill_target "$T"
	say "$n threads: serve ${steady}% steady, ${whole}% with the first capture (${first_s} s), RSS ${hwm} MiB, capture ${capture} ms, scrape ${scrape_ms} ms (${#scrapes[@]}), ${size} bytes; top -b ${topall}%, top -H -p ${toph}%; stopped ${stopped}"
	ROWS+=("| $threads | ${#scrapes[@]} every ${INTERVAL} s | ${steady}% | ${whole}% (first capture ${first_s} s) | ${capture} ms | ${scrape_ms} ms, ${size} bytes | ${hwm} MiB | ${topall}% | ${toph}% | ${stopped} |")
done

TABLE="| threads | scrapes | serve CPU, steady | serve CPU, whole run | last capture | scrape (median), size | serve peak RSS | procps top -b -d ${INTERVAL} | procps top -H -b -d ${INTERVAL} -p PID | threads left stopped |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
TABLE=$(table_rows "$TABLE" "${ROWS[@]}")
echo "$TABLE"
BLOCK="$START
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r), threadleak $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown); \`bench/serve.sh\`, ${SECS} s (CPU as a share of one core).

$TABLE
$END"
put_block "$START" "$END" "$BLOCK" "## serve: the Prometheus exporter's cost

\`threadleak serve --interval ${INTERVAL}\` watching \`bench/target N idle\`, scraped by curl every ${INTERVAL} s, beside procps top at the same interval over the same window."
say "wrote $OUT"
