#!/bin/bash
# bench/goroutines.sh: reading 100,000 parked goroutines from outside.
# `make bench` runs it after check.sh.
#
# testdata/go/leaky -many N parks N goroutines (plus its leaks); its
# ticker goroutine records the largest gap between its 10 ms ticks, so a
# stop-the-world pause of the target shows.  For each Go toolchain here,
# one run of each, in turn:
#   - threadleak snapshot (its text): wall time, peak RSS, threads stopped, and
#     the largest gap the target saw while it ran;
#   - the program's own goroutine dump at debug=2 over net/http/pprof
#     (curl): wall time, and the largest gap (it stops the world);
#   - dlv attach listing the goroutines (the Delve scripts/deps.sh bench
#     builds for bench/million.sh, else a dlv on PATH; its Go version check
#     off, so that older Go programs are tried too): wall time and the gap;
#   - threadleak top -b -n 11 -d 1: its CPU share of a core, all told
#     and for the refreshes after the first (top -n 11 less top -n 1).
# The table goes to stdout and into BENCHMARKS.md between
# <!-- bench-goroutines:start --> and <!-- bench-goroutines:end -->.
#
# Environment: BENCH_GOROUTINES (default 100000), BENCH_OUT, THREADLEAK.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_GOROUTINES:-100000}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
THREADLEAK=${THREADLEAK:-$ROOT/threadleak}
# Delve: BENCH_DLV, else the one bench/million.sh --install-dlv builds
# (Debian 12's is too old for Go 1.26), else one on PATH, else none
DLV=${BENCH_DLV:-$(ls "${XDG_CACHE_HOME:-$HOME/.cache}"/threadleak-bench/dlv-*/dlv 2>/dev/null | sort -V | tail -n 1)}
[ -n "$DLV" ] || DLV=$(command -v dlv || true)
START='<!-- bench-goroutines:start -->'
END='<!-- bench-goroutines:end -->'
say() { printf 'bench: %s\n' "$*" >&2; }
. "$ROOT/bench/lib.sh"
[ -x "$THREADLEAK" ] || { say "no $THREADLEAK: run make first"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-bench-go.XXXXXX") || exit 1
PID=
cleanup() { [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# gap: the target's largest tick gap since the last call, in ms
gap()
{
	local before
	before=$(grep -c '^maxgap' "$TMP/out")
	kill -USR2 "$PID"
	for _ in $(seq 200); do
		(($(grep -c '^maxgap' "$TMP/out") > before)) && break
		sleep 0.01
	done
	grep '^maxgap' "$TMP/out" | tail -1 | awk '{ printf "%.0f", $2 / 1e6 }'
}

ROWS=()
declare -A seen
for g in /usr/lib/go-*/bin/go /usr/local/go/bin/go "$(command -v go 2>/dev/null)"; do
	[ -x "$g" ] || continue
	v=$(GOTOOLCHAIN=local "$g" env GOVERSION 2>/dev/null) || continue
	[ -n "${seen[$v]:-}" ] && continue
	seen[$v]=1
	bin=$TMP/leaky-$v
	(cd "$ROOT/testdata/go" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false "$g" build -o "$bin" ./leaky) ||
		{ say "$v: cannot build testdata/go/leaky"; continue; }
	"$bin" -n 3 -many "$N" -pprof 127.0.0.1:0 >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for _ in $(seq 600); do grep -q '^ready' "$TMP/out" && break; sleep 0.1; done
	grep -q '^ready' "$TMP/out" || { say "$v: leaky not ready"; kill -KILL "$PID"; PID=; continue; }
	addr=$(sed -n 's/^pprof //p' "$TMP/out")
	gap >/dev/null
	# threadleak
	/usr/bin/time -f '%e %M' -o "$TMP/time" "$THREADLEAK" snapshot "$PID" >"$TMP/snap.txt" 2>/dev/null
	read -r tl_s tl_kb <"$TMP/time"
	tl_gap=$(gap)
	count=$(sed -n '1s/.*, \([0-9]*\) goroutines .*/\1/p' "$TMP/snap.txt")
	stopped=$(grep -q '; no thread stopped$' "$TMP/snap.txt" && echo 0 || sed -n '2s/.*; \([0-9]*\) thread.*/\1/p' "$TMP/snap.txt")
	# pprof debug=2 over HTTP
	t0=$(now_ms)
	curl -s -o "$TMP/dump2" "http://$addr/debug/pprof/goroutine?debug=2"
	pp_ms=$(($(now_ms) - t0))
	pp_gap=$(gap)
	# dlv
	dlv_ms=- dlv_gap=-
	if [ -n "$DLV" ]; then
		t0=$(now_ms)
		# quit, then "n" to its "kill the process?": detach, never kill
		timeout 120 "$DLV" attach "$PID" --check-go-version=false \
			--allow-non-terminal-interactive=true \
			<<<$'goroutines -group userloc\nquit\nn' >"$TMP/dlv" 2>&1
		if grep -q 'Goroutine [0-9]* - ' "$TMP/dlv"; then
			dlv_ms=$(($(now_ms) - t0))
			dlv_gap=$(gap)
		else
			dlv_ms="fails: $(grep -m1 -io 'version of Go.*\|could not.*' "$TMP/dlv" | cut -c1-60)"
		fi
	fi
	# top -b -d 1: its CPU over 11 samples, all told; and once running,
	# what the 10 refreshes after the first cost (11 samples less 1)
	/usr/bin/time -f '%U %S %e' -o "$TMP/top1" "$THREADLEAK" top -b -n 1 -d 1 "$PID" >/dev/null 2>&1
	/usr/bin/time -f '%U %S %e' -o "$TMP/top11" "$THREADLEAK" top -b -n 11 -d 1 "$PID" >/dev/null 2>&1
	read -r u1 s1 e1 <"$TMP/top1"
	read -r u11 s11 e11 <"$TMP/top11"
	top_pct=$(awk -v u="$u11" -v s="$s11" -v e="$e11" 'BEGIN { printf "%.1f", (u + s) / e * 100 }')
	top_run=$(awk -v a="$u1" -v b="$s1" -v c="$e1" -v u="$u11" -v s="$s11" -v e="$e11" \
		'BEGIN { printf "%.1f", (u + s - a - b) / (e - c) * 100 }')
	kill -KILL "$PID"
	wait "$PID" 2>/dev/null
	PID=
	say "$v: $count goroutines: threadleak ${tl_s}s ${tl_kb}KB gap ${tl_gap}ms; pprof ${pp_ms}ms gap ${pp_gap}ms; dlv $dlv_ms gap $dlv_gap; top ${top_pct}% (refreshes ${top_run}%)"
	ROWS+=("| $v | $count | ${tl_s} s, $((tl_kb / 1024)) MiB, $stopped stopped | ${tl_gap} ms | ${pp_ms} ms | ${pp_gap} ms | $dlv_ms | $dlv_gap | ${top_pct}% (refreshes: ${top_run}%) |")
done

TABLE="| Go | goroutines | threadleak snapshot | target's longest tick gap | pprof debug=2 dump | its gap | dlv goroutines ms | its gap | top -b -d 1 -n 11, % of a core |
|---|---:|---|---:|---:|---:|---|---:|---:|"
TABLE=$(table_rows "$TABLE" "${ROWS[@]}")
echo "$TABLE"
BLOCK="$START
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r), threadleak $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown); \`bench/goroutines.sh\` (one run of each; the gap is the largest between the target's 10 ms ticks, so about 10 ms means no pause).

$TABLE
$END"
put_block "$START" "$END" "$BLOCK" "## Goroutines: a Go program with $N parked goroutines

threadleak reads them from the process's memory, stopping nothing; the program's own dump over net/http/pprof and delve stop the world."
say "wrote $OUT"
