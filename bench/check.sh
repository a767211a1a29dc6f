#!/bin/bash
# bench/check.sh: what `threadleak check -- CMD` costs a program that
# creates many short-lived threads.  `make bench` runs it after run.sh.
#
# The program is testdata/checkme churn N: N threads in its life, four at a
# time, each adding up a thousand numbers and joined: threads as short as
# they come, so this is the worst case for check (every thread creation is
# a clone3 call that waits for check to record where it was made).  For
# each N it runs the program natively, under bench/notify-floor (the same
# notifications answered at once with no work: the kernel's round trip
# alone, the floor of this design) and under check, one after the other,
# BENCH_REPEAT times (default 11), and reports the median wall times and
# the ratios.  The ratio judged is the median of each round's own ratio
# (check / native of the same round): this VM's speed drifts by several
# times over seconds, and a round's runs are seconds apart.  The table
# goes to stdout and into BENCHMARKS.md between <!-- bench-check:start -->
# and <!-- bench-check:end -->.
#
# Then the programs of other runtimes, whose own threads check ignores and
# whose exits it therefore lets go on at once: `go test` of a package that
# leaks nothing (testdata/go/sum, with every Go toolchain here), `java
# Hello.java` and a Python script, each natively and under check, the
# same way; that table goes between <!-- bench-check-runtimes:start -->
# and <!-- bench-check-runtimes:end -->.
#
# Environment: BENCH_CHECK_SIZES (default "10000"), BENCH_REPEAT,
# BENCH_OUT (default BENCHMARKS.md), THREADLEAK (default ./threadleak).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${BENCH_CHECK_SIZES:-10000}
REPEAT=${BENCH_REPEAT:-11}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
THREADLEAK=${THREADLEAK:-$ROOT/threadleak}
PROG=$ROOT/testdata/checkme
START='<!-- bench-check:start -->'
END='<!-- bench-check:end -->'

say() { printf 'bench: %s\n' "$*" >&2; }
. "$ROOT/bench/lib.sh"
[ -x "$THREADLEAK" ] || { say "no $THREADLEAK: run make first"; exit 1; }
[ -x "$PROG" ] || make -C "$ROOT" -s testdata/checkme || exit 1
FLOOR=$ROOT/bench/notify-floor
gcc -O2 -Wall -Wextra -o "$FLOOR" "$ROOT/bench/notify-floor.c" || exit 1

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median()
{
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# run_once LABEL CMD...: wall ms of one run, which must exit 0
run_once()
{
	local t0 t1 rc
	t0=$(now_ms)
	timeout -k 5 300 "${@:2}" >/dev/null 2>"$TMP/err"
	rc=$?
	t1=$(now_ms)
	if ((rc != 0)); then
		say "$1: exit $rc: $(head -c 300 "$TMP/err")"
		echo FAIL
		return
	fi
	echo $((t1 - t0))
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-bench-check.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

# pmedian A B: the median of the rounds' ratios B/A (files of one number
# per round, "FAIL" where a run failed), to two decimals; "-" if none.
pmedian()
{
	paste "$1" "$2" | awk '$1 != "FAIL" && $2 != "FAIL" && $1 > 0 { print $2 / $1 }' |
		sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; else print "-" }'
}

ROWS=()
for n in $SIZES; do
	: >"$TMP/native"
	: >"$TMP/floor"
	: >"$TMP/check"
	for ((i = 1; i <= REPEAT; i++)); do
		a=$(run_once native "$PROG" churn "$n")
		f=$(run_once floor "$FLOOR" "$PROG" churn "$n")
		b=$(run_once check "$THREADLEAK" check -- "$PROG" churn "$n")
		say "$n threads  run $i: native ${a} ms, bare notifications ${f} ms, under check ${b} ms"
		echo "$a" >>"$TMP/native"
		echo "$f" >>"$TMP/floor"
		echo "$b" >>"$TMP/check"
	done
	na=$(grep -v FAIL "$TMP/native" | median)
	fl=$(grep -v FAIL "$TMP/floor" | median)
	ch=$(grep -v FAIL "$TMP/check" | median)
	rf=$(pmedian "$TMP/native" "$TMP/floor")
	ratio=$(pmedian "$TMP/native" "$TMP/check")
	mark=
	awk -v r="$ratio" 'BEGIN { exit !(r != "-" && r > 2) }' && mark=" (> 2)"
	ok="$(grep -cv FAIL "$TMP/native")/$(grep -cv FAIL "$TMP/floor")/$(grep -cv FAIL "$TMP/check")"
	ROWS+=("| $n | ${na:-failed} | ${fl:-failed} | ${ch:-failed} | $rf | ${ratio}${mark} | $ok |")
done

TABLE="| threads in its life | native ms | bare notifications ms | under check ms | bare / native | **check / native** | runs ok |
|---:|---:|---:|---:|---:|---:|---:|"
TABLE=$(table_rows "$TABLE" "${ROWS[@]}")
echo "$TABLE"

BLOCK="$START
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r), threadleak $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown); \`bench/check.sh\` ($REPEAT rounds of the three runs, interleaved; ms are medians; ratios are medians of each round's own ratio).

$TABLE
$END"
put_block "$START" "$END" "$BLOCK" "## threadleak check: overhead

The program, \`testdata/checkme churn N\`, creates N threads in its life, four
at a time, each adding up a thousand numbers and joined: the worst case
for check, which records where every thread was made while its creator
waits in clone3.  Wall time natively, under bench/notify-floor (the same
notifications answered at once: the kernel round trip alone) and under
\`threadleak check --\`."

# ---- other runtimes: go test, java, python ----
START='<!-- bench-check-runtimes:start -->'
END='<!-- bench-check-runtimes:end -->'
declare -A seen
WORK=()		# "label|dir|command..." (tab-separated words)
for g in /usr/lib/go-*/bin/go /usr/local/go/bin/go "$(command -v go 2>/dev/null)"; do
	[ -x "$g" ] || continue
	v=$("$g" env GOVERSION 2>/dev/null) || continue
	[ -n "${seen[$v]:-}" ] && continue
	seen[$v]=1
	# compiled once first: the rounds measure a warm build cache, as a
	# developer's second run does
	(cd "$ROOT/testdata/go" && GOTOOLCHAIN=local "$g" test -count=1 ./sum >/dev/null 2>&1)
	WORK+=("go test ($v)|$ROOT/testdata/go|env GOTOOLCHAIN=local $g test -count=1 ./sum")
done
command -v java >/dev/null && WORK+=("java Hello.java|$ROOT|java $ROOT/testdata/Hello.java")
command -v python3 >/dev/null && WORK+=("python3 pydaemon.py|$ROOT|python3 $ROOT/testdata/pydaemon.py")

ROWS=()
for w in "${WORK[@]}"; do
	IFS='|' read -r label dir cmd <<<"$w"
	read -r -a argv <<<"$cmd"
	: >"$TMP/native"
	: >"$TMP/check"
	for ((i = 1; i <= REPEAT; i++)); do
		a=$(cd "$dir" && run_once native "${argv[@]}")
		b=$(cd "$dir" && run_once check "$THREADLEAK" check -- "${argv[@]}")
		say "$label  run $i: native ${a} ms, under check ${b} ms"
		echo "$a" >>"$TMP/native"
		echo "$b" >>"$TMP/check"
	done
	na=$(grep -v FAIL "$TMP/native" | median)
	ch=$(grep -v FAIL "$TMP/check" | median)
	ratio=$(pmedian "$TMP/native" "$TMP/check")
	ok="$(grep -cv FAIL "$TMP/native")/$(grep -cv FAIL "$TMP/check")"
	ROWS+=("| $label | ${na:-failed} | ${ch:-failed} | $(( ${ch:-0} - ${na:-0} )) | $ratio | $ok |")
done
TABLE="| command | native ms | under check ms | difference ms | check / native | runs ok |
|---|---:|---:|---:|---:|---:|"
TABLE=$(table_rows "$TABLE" "${ROWS[@]}")
echo "$TABLE"
BLOCK="$START
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r), threadleak $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown); \`bench/check.sh\` ($REPEAT rounds of the two runs, interleaved; ms are medians; ratios are medians of each round's own ratio).

$TABLE
$END"
put_block "$START" "$END" "$BLOCK" "## threadleak check: Go, Java and Python

Programs whose runtimes keep threads of their own until the exit, natively
and under \`threadleak check --\`: \`go test\` of a package that leaks
nothing (\`testdata/go/sum\`; the go command, compile, link, vet and the
test binary all exit under check), \`java Hello.java\` (the source launcher
compiles in the JVM, which ends with a dozen threads alive) and a Python
script.  Check ignores the runtimes' own threads, and lets an exit whose
threads left are all ignored go on at once."
say "wrote $OUT"
