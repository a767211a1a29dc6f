#!/bin/bash
# bench/run.sh: threadleak snapshot against eu-stack and gdb on one live
# process with many blocked threads (bench/target), and the CPU that
# `threadleak top` uses watching such a process.  `make bench` runs it.
#
# Section "snapshot": for each size N it starts `bench/target N` once, waits
# for its "ready", and then runs each tool on that same process, one after the
# other, REPEAT times, measuring for every tool:
#   wall time      median over the runs, from date +%s%N around the run
#   peak RSS       the largest over the runs, GNU time's %M
#   disturbed      threads of the target (all but the 2 spinners and the
#                  benchmark's signal thread) whose run count, the 3rd field
#                  of /proc/PID/task/TID/schedstat, changed during one run;
#                  the largest over the runs
#   EINTR          epoll_wait calls in the target that returned EINTR during
#                  all of the tool's runs (the target counts them; SIGUSR1
#                  makes it write the count to a file)
#   exit           the tool's exit status; a run over the time limit counts
#                  as a timeout and is not repeated
# After every run it checks that no thread of the target is stopped (t/T); if
# one is, it says so loudly, sends SIGCONT and flags the row.
#
# Section "top": for each size N it starts `bench/target N idle` (no spinners,
# so every thread is blocked), waits for its "ready", and runs
# `threadleak top -b -n FRAMES -d 1 PID` on it REPEAT times, measuring:
#   wall, CPU      medians over the runs of the wall time (as above), of the
#                  user+sys CPU time (GNU time's %U + %S) and of CPU % =
#                  100 * CPU / wall, the share of one core that top used over
#                  the whole run, first capture included
#   first frame    medians of CPU and wall over REPEAT runs of `-n 1` (the
#                  first full capture and nothing more); from them, the CPU
#                  of one refresh: (CPU of FRAMES frames - CPU of 1 frame) /
#                  (FRAMES - 1)
#   peak RSS       as above, over all the runs
#   frames         the fewest frames a run printed (lines that begin with
#                  "threadleak top:"); fewer than FRAMES is a failure
#   disturbed      as above, across one whole run; the largest over the runs
#   EINTR, exit    as above; a non-zero exit is a failure
# and checks for stopped threads as above.  If `threadleak top --help` fails
# (no such subcommand) or a run fails, it says so loudly, puts the failure in
# the table, and exits 1 once the tables are written.
#
# Each section's table goes to stdout and, with the date, kernel, CPU and tool
# versions, into BENCHMARKS.md between its markers: <!-- bench:start --> and
# <!-- bench:end --> (snapshot), <!-- bench-top:start --> and
# <!-- bench-top:end --> (top).  A section not run leaves its part alone.
#
# Environment:
#   BENCH_SECTIONS    which sections run (default "snapshot top")
#   BENCH_SIZES       thread counts of "snapshot" (default "100 1000 10000")
#   BENCH_TOP_SIZES   thread counts of "top" (default "1000 10000")
#   BENCH_TOP_FRAMES  frames one top run prints, 1 s apart (default 10)
#   BENCH_REPEAT      runs per tool and size (default 3)
#   BENCH_TIMEOUT     seconds one run may take (default 300)
#   BENCH_SLOW_MS     a snapshot run slower than this is not repeated
#                     (default 30000), to keep `make bench` under ~15 minutes
#                     on 2 cores
#   BENCH_OUT         the file to update (default BENCHMARKS.md at the root)
#   BENCH_TOOLS       which rows of "snapshot" (default "threadleak
#                     threadleak-libunwind threadleak-stop eu-stack gdb")
#   THREADLEAK        the binary (default ./threadleak; copied before use, so
#                     a rebuild during the run does not change what is
#                     measured)
#
# Every process it starts is killed by pid when it exits, however it exits.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECTIONS=${BENCH_SECTIONS:-snapshot top}
SIZES=${BENCH_SIZES:-100 1000 10000}
TOP_SIZES=${BENCH_TOP_SIZES:-1000 10000}
TOP_FRAMES=${BENCH_TOP_FRAMES:-10}
REPEAT=${BENCH_REPEAT:-3}
LIMIT=${BENCH_TIMEOUT:-300}
SLOW_MS=${BENCH_SLOW_MS:-30000}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
TOOLS=${BENCH_TOOLS:-threadleak threadleak-libunwind threadleak-stop eu-stack gdb}
THREADLEAK=${THREADLEAK:-$ROOT/threadleak}
READY_TIMEOUT=150

START=$'<!-- bench:start -->'
END=$'<!-- bench:end -->'
TOP_START=$'<!-- bench-top:start -->'
TOP_END=$'<!-- bench-top:end -->'
TOP_BUDGET=10	# the CPU % of one core top may use (at 10,000 idle threads)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
loud()
{
	printf '\nbench: !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
	printf 'bench: !!! %s\n' "$@" >&2
	printf 'bench: !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-bench.XXXXXX") ||
	die "cannot make a temporary directory"
TARGET_PID=
TOOL_PID=
EFILE=$WORK/eintr

# is_child PID: PID is still an unreaped child of this shell (so the pid
# cannot have been reused by someone else's process).
is_child()
{
	local line f
	[ -n "$1" ] || return 1
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	line=${line##*) }
	read -r -a f <<<"$line"
	[ "${f[1]}" = "$$" ]
}

stop_tool()
{
	local t _
	[ -n "$TOOL_PID" ] || return 0
	if is_child "$TOOL_PID"; then
		# TOOL_PID is GNU time; its child is timeout(1), which leads its
		# own process group (the tool's), passes TERM on to the tool
		# and waits for it, sending KILL 5 s later.
		t=$(cat "/proc/$TOOL_PID/task/$TOOL_PID/children" 2>/dev/null)
		for _ in $t; do
			kill -TERM "$_"
		done
		for ((_ = 0; _ < 40; _++)); do
			[ "$(awk '{ print $3 }' "/proc/$TOOL_PID/stat")" = Z ] && break
			sleep 0.2
		done
		for _ in $t; do
			kill -KILL -- "-$_"
		done
		kill -KILL "$TOOL_PID"
		wait "$TOOL_PID"
	fi
	TOOL_PID=
} 2>/dev/null

stop_target()
{
	[ -n "$TARGET_PID" ] || return 0
	if is_child "$TARGET_PID"; then
		kill -CONT "$TARGET_PID"
		kill -KILL "$TARGET_PID"
		wait "$TARGET_PID"
	fi
	TARGET_PID=
} 2>/dev/null

cleanup()
{
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_tool
	stop_target
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- prerequisites, build ----

# section NAME: NAME is one of the sections to run
section() { [[ " $SECTIONS " == *" $1 "* ]]; }

for s in $SECTIONS; do
	case $s in
	snapshot | top) ;;
	*) die "unknown section '$s' in BENCH_SECTIONS (snapshot, top)" ;;
	esac
done
[[ $TOP_FRAMES =~ ^[1-9][0-9]*$ ]] || die "BENCH_TOP_FRAMES must be a number above 0"

needs="gcc timeout awk"
section snapshot && needs="$needs eu-stack gdb"
for c in $needs; do
	command -v "$c" >/dev/null 2>&1 ||
		die "needs $c (scripts/deps.sh bench installs it)"
done
[ -x /usr/bin/time ] || die "needs GNU time in /usr/bin/time (scripts/deps.sh bench)"
[ -x "$THREADLEAK" ] || die "no $THREADLEAK: run make first"
cp "$THREADLEAK" "$WORK/threadleak" || die "cannot copy $THREADLEAK"
TL_VERSION=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
TL=$WORK/threadleak

gcc -O2 -g -Wall -Wextra -pthread -o "$ROOT/bench/target" "$ROOT/bench/target.c" ||
	die "cannot build bench/target"
gcc -O2 -Wall -Wextra -o "$ROOT/bench/scan-floor" "$ROOT/bench/scan-floor.c" ||
	die "cannot build bench/scan-floor"

# ---- the target ----

SKIP=		# tids left out of the disturbed count: spinners, signal thread

# start_target N [idle]: starts bench/target, waits for its "ready", sets SKIP.
start_target()
{
	local n=$1 line waited=0 t f
	: >"$WORK/target.out"
	BENCH_EINTR_FILE=$EFILE "$ROOT/bench/target" "$@" \
		>"$WORK/target.out" 2>"$WORK/target.err" </dev/null &
	TARGET_PID=$!
	while :; do
		line=$(head -n1 "$WORK/target.out")
		case $line in ready*) break ;; esac
		if ! is_child "$TARGET_PID"; then
			say "target $n died before it was ready: $(cat "$WORK/target.err")"
			TARGET_PID=
			return 1
		fi
		if ((waited >= READY_TIMEOUT * 10)); then
			say "target $n not ready after $READY_TIMEOUT s"
			stop_target
			return 1
		fi
		sleep 0.1
		((waited++))
	done
	# "ready spin TID TID signal TID", or "ready spin - - signal TID" (idle)
	read -r -a f <<<"$line"
	if [[ ${#f[@]} != 6 || ${f[1]} != spin || ${f[4]} != signal ||
	      ! ${f[5]} =~ ^[0-9]+$ ]]; then
		say "target $n: cannot parse its ready line: $line"
		stop_target
		return 1
	fi
	SKIP=
	for t in "${f[2]}" "${f[3]}" "${f[5]}"; do
		[[ $t =~ ^[0-9]+$ ]] && SKIP="$SKIP $t"
	done
	say "$(cat "$WORK/target.err") (pid $TARGET_PID)"
}

# sched_snap FILE: "TID runcount" of every counted thread.
sched_snap()
{
	awk -v skip="$SKIP" '
		BEGIN { n = split(skip, s, " "); for (i = 1; i <= n; i++) sk[s[i]] = 1 }
		{ split(FILENAME, p, "/"); if (!(p[5] in sk)) print p[5], $3 }
	' "/proc/$TARGET_PID/task/"*/schedstat >"$1" 2>/dev/null
}

# settle FILE: wait (up to 5 s) until no counted thread runs for 100 ms, and
# leave that snapshot in FILE.
settle()
{
	local i
	sched_snap "$1"
	for ((i = 0; i < 50; i++)); do
		sleep 0.1
		sched_snap "$WORK/settle"
		cmp -s "$1" "$WORK/settle" && return 0
		mv "$WORK/settle" "$1"
	done
	say "target threads still running after 5 s; counting from now"
}

# disturbed BEFORE AFTER: prints "changed counted"
disturbed()
{
	awk 'NR == FNR { b[$1] = $2; next }
		($1 in b) { n++; if (b[$1] != $2) d++ }
		END { print d + 0, n + 0 }' "$1" "$2"
}

# stopped_count: threads of the target in state t or T now
stopped_count()
{
	awk '{ s = $0; sub(/.*\) /, "", s); if (s ~ /^[tT]/) n++ } END { print n + 0 }' \
		"/proc/$TARGET_PID/task/"*/stat 2>/dev/null
}

# check_stopped WHO WHEN: after a run, if a thread of the target is stopped
# (t/T), says so loudly, sends SIGCONT, notes it and returns 1.
check_stopped()
{
	local st
	st=$(stopped_count)
	if ((st == 0)); then
		sleep 0.1
		st=$(stopped_count)
	fi
	((st == 0)) && return 0
	loud "$1 left $st of the target's threads STOPPED (state t/T)" \
		"sending SIGCONT to $TARGET_PID"
	kill -CONT "$TARGET_PID"
	note "$1 left $st threads stopped ($2); SIGCONT sent"
	return 1
}

# read_eintr: the target's EINTR count so far, or "?"
read_eintr()
{
	local i
	rm -f "$EFILE"
	kill -USR1 "$TARGET_PID" 2>/dev/null || { echo "?"; return; }
	for ((i = 0; i < 250; i++)); do
		[ -s "$EFILE" ] && { cat "$EFILE"; return; }
		sleep 0.02
	done
	echo "?"
}

# ---- the tools ----

tool_cmd()	# tool pid: sets CMD
{
	case $1 in
	threadleak) CMD=("$TL" snapshot --json "$2") ;;
	threadleak-libunwind) CMD=("$TL" snapshot --json --unwinder=libunwind "$2") ;;
	threadleak-stop) CMD=("$TL" snapshot --json --stop "$2") ;;
	eu-stack) CMD=(eu-stack -p "$2") ;;
	gdb) CMD=(gdb -p "$2" -batch -nx -ex 'set pagination off' -ex 'thread apply all bt') ;;
	*) die "unknown tool $1" ;;
	esac
}

tool_label()
{
	case $1 in
	threadleak) echo 'threadleak snapshot --json' ;;
	threadleak-libunwind) echo 'threadleak snapshot --json --unwinder=libunwind' ;;
	threadleak-stop) echo 'threadleak snapshot --json --stop' ;;
	*) echo "$1" ;;
	esac
}

ROWS=()
NOTES=()

note() { NOTES+=("$*"); say "note: $*"; }

# median of the arguments (integers)
median()
{
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# measure N TOOL: runs TOOL on the target REPEAT times, appends a row.
measure()
{
	local n=$1 tool=$2 r rc t0 t1 ms rss d c e0 e1 wall
	local walls=() rcs=() rss_max=0 d_max=0 counted=0 timed_out=0 left_stopped=0 runs=0
	local errfile=$WORK/err.$tool.$n

	tool_cmd "$tool" "$TARGET_PID"
	e0=$(read_eintr)
	for ((r = 1; r <= REPEAT; r++)); do
		settle "$WORK/before"
		t0=$(date +%s%N)
		# time(1) outside: it returns only once timeout(1) has, and
		# timeout(1) only once the tool has exited.
		/usr/bin/time -f '%M' -o "$WORK/rss" timeout -k 5 "$LIMIT" \
			"${CMD[@]}" >/dev/null 2>"$errfile" </dev/null &
		TOOL_PID=$!
		wait "$TOOL_PID"
		rc=$?
		TOOL_PID=
		t1=$(date +%s%N)
		sched_snap "$WORK/after"
		ms=$(((t1 - t0) / 1000000))
		runs=$((runs + 1))

		check_stopped "$(tool_label "$tool") at $n threads" "run $r, exit $rc" ||
			left_stopped=1
		if ! kill -0 "$TARGET_PID" 2>/dev/null; then
			note "target died during $(tool_label "$tool") at $n threads"
			ROWS+=("| $n | $(tool_label "$tool") | target died | | | | $rc |")
			return 1
		fi

		read -r d c < <(disturbed "$WORK/before" "$WORK/after")
		((d > d_max)) && d_max=$d
		counted=$c
		rss=$(tail -n1 "$WORK/rss" 2>/dev/null)
		# after timeout -k's KILL, time(1) saw no rusage of the tool
		((rc != 137)) && [[ $rss =~ ^[0-9]+$ ]] && ((rss > rss_max)) && rss_max=$rss
		rcs+=("$rc")
		if ((rc == 124 || rc == 137)); then
			timed_out=1
			note "$(tool_label "$tool") at $n threads: no result after $LIMIT s"
			break
		fi
		walls+=("$ms")
		if ((rc != 0)) || [[ $tool == threadleak* && -s $errfile ]]; then
			note "$(tool_label "$tool") at $n threads, run $r: exit $rc: $(head -c 300 "$errfile" | head -n 3 | tr '\n' ' ')"
		fi
		say "$(printf '%6d threads  %-48s run %d: %7d ms  exit %d  disturbed %d/%d' \
			"$n" "$(tool_label "$tool")" "$r" "$ms" "$rc" "$d" "$c")"
		if ((ms > SLOW_MS && r < REPEAT)); then
			say "  slower than $SLOW_MS ms: not repeated"
			break
		fi
	done
	e1=$(read_eintr)

	if ((timed_out)); then
		if ((${#walls[@]})); then
			wall="timeout (>$LIMIT s; others $(median "${walls[@]}"))"
		else
			wall="timeout (>$LIMIT s)"
		fi
	else
		wall=$(median "${walls[@]}")
		((runs < REPEAT)) && wall="$wall ($runs run$( ((runs > 1)) && echo s))"
	fi
	local eintr="?"
	[[ $e0 =~ ^[0-9]+$ && $e1 =~ ^[0-9]+$ ]] && eintr=$((e1 - e0))
	local rss_mib=-
	((rss_max > 0)) && rss_mib=$(awk -v k="$rss_max" 'BEGIN { printf "%.1f", k / 1024 }')
	local ex
	ex=$(printf '%s\n' "${rcs[@]}" | sort -un | sed 's/^124$/124 (timeout)/; s/^137$/137 (killed at timeout)/' | paste -sd, -)
	((left_stopped)) && ex="$ex, LEFT STOPPED"
	ROWS+=("| $n | $(tool_label "$tool") | $wall | $rss_mib | $d_max/$counted | $eintr | $ex |")
}

# ---- the top section ----

TOP_ROWS=()
TOP_FAILED=0
TOP_LABEL="threadleak top -b -n $TOP_FRAMES -d 1"

# fmedian FORMAT NUMBER...: the median of decimal numbers, printed with the
# printf FORMAT; "-" when there are none.
fmedian()
{
	local fmt=$1
	shift
	(($#)) || { echo -; return; }
	printf '%s\n' "$@" | sort -g | awk -v fmt="$fmt" '{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf fmt "\n", m }'
}

# top_fail N TEXT: a row of the top table that says only TEXT.
top_fail()
{
	TOP_ROWS+=("| $1 | $2 | | | | | | | | | | | |")
	TOP_FAILED=1
}

# run_top N FRAMES R: one run of `threadleak top -b -n FRAMES -d 1` on the
# target.  Sets RUN_MS, RUN_CPU (user+sys seconds; empty if unknown),
# RUN_RSS (KiB; empty if unknown), RUN_FRAMES, RUN_D, RUN_C (disturbed,
# counted), RUN_RC and RUN_STOPPED.  Returns 1 if the target died.
run_top()
{
	local n=$1 frames=$2 r=$3 t0 t1 u s m
	local errfile=$WORK/err.top.$n

	settle "$WORK/before"
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S %M' -o "$WORK/time" timeout -k 5 "$LIMIT" \
		"$TL" top -b -n "$frames" -d 1 "$TARGET_PID" \
		>"$WORK/top.out" 2>"$errfile" </dev/null &
	TOOL_PID=$!
	wait "$TOOL_PID"
	RUN_RC=$?
	TOOL_PID=
	t1=$(date +%s%N)
	sched_snap "$WORK/after"
	RUN_MS=$(((t1 - t0) / 1000000))

	RUN_STOPPED=0
	check_stopped "$TOP_LABEL at $n threads" "-n $frames run $r, exit $RUN_RC" ||
		RUN_STOPPED=1
	if ! kill -0 "$TARGET_PID" 2>/dev/null; then
		note "target died during $TOP_LABEL at $n threads"
		return 1
	fi
	read -r RUN_D RUN_C < <(disturbed "$WORK/before" "$WORK/after")
	RUN_FRAMES=$(grep -c '^threadleak top:' "$WORK/top.out")
	RUN_CPU=
	RUN_RSS=
	read -r u s m < <(tail -n1 "$WORK/time" 2>/dev/null)
	# after timeout -k's KILL, time(1) saw no rusage of the tool
	if ((RUN_RC != 137)); then
		[[ $u =~ ^[0-9.]+$ && $s =~ ^[0-9.]+$ ]] &&
			RUN_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
		[[ $m =~ ^[0-9]+$ ]] && RUN_RSS=$m
	fi
	if ((RUN_RC != 0 || RUN_FRAMES < frames)); then
		note "$TOP_LABEL at $n threads, -n $frames run $r: exit $RUN_RC, $RUN_FRAMES of $frames frames: $(head -c 300 "$errfile" | head -n 3 | tr '\n' ' ')"
	elif [ -s "$errfile" ]; then
		note "$TOP_LABEL at $n threads, -n $frames run $r wrote to stderr: $(head -c 300 "$errfile" | head -n 3 | tr '\n' ' ')"
	fi
	say "$(printf '%6d threads  top -n %-3d run %d: %6d ms  CPU %5s s  exit %d  frames %d/%d  disturbed %d/%d' \
		"$n" "$frames" "$r" "$RUN_MS" "${RUN_CPU:-?}" "$RUN_RC" "$RUN_FRAMES" "$frames" "$RUN_D" "$RUN_C")"
	return 0
}

# anchor_pct CMD...: the share of one core (%) that CMD used over its run,
# measured as for top; "-" if it failed.
anchor_pct()
{
	local t0 t1 u s
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$WORK/time.anchor" timeout -k 5 "$LIMIT" "$@" \
		>/dev/null 2>"$WORK/err.anchor" </dev/null || { echo -; return; }
	t1=$(date +%s%N)
	read -r u s < <(tail -n1 "$WORK/time.anchor")
	awk -v u="$u" -v s="$s" -v ns="$((t1 - t0))" 'BEGIN { printf "%.1f", 100 * (u + s) * 1e9 / ns }'
}

# measure_anchors N: what a bare per-thread scan (bench/scan-floor) and
# procps top showing the target's threads (top -H -p) use over the same
# frames, REPEAT times each; sets ANCHOR_FLOOR and ANCHOR_PROCPS (medians).
measure_anchors()
{
	local n=$1 r floor=() procps=() p
	for ((r = 1; r <= REPEAT; r++)); do
		p=$(anchor_pct "$ROOT/bench/scan-floor" "$TARGET_PID" "$TOP_FRAMES")
		[[ $p != - ]] && floor+=("$p")
		p=$(anchor_pct top -H -b -n "$TOP_FRAMES" -d 1 -p "$TARGET_PID")
		[[ $p != - ]] && procps+=("$p")
		say "$(printf '%6d threads  anchors run %d: bare scan %s%%, procps top -H %s%%' "$n" "$r" "${floor[-1]:-?}" "${procps[-1]:-?}")"
	done
	ANCHOR_FLOOR=$(fmedian '%.1f' "${floor[@]}")
	ANCHOR_PROCPS=$(fmedian '%.1f' "${procps[@]}")
}

# measure_top N: runs top on the (idle) target REPEAT times with TOP_FRAMES
# frames, then REPEAT times with one, and appends a row to TOP_ROWS.
measure_top()
{
	local n=$1 r e0 e1 failed=0 timed_out=0 stopped=0 rss_max=0 d_max=0 counted=0
	local fmin=$TOP_FRAMES walls=() cpus=() pcts=() walls1=() cpus1=() rcs=()
	local wall cpu_s pct first refresh rss_mib ex eintr="?"

	e0=$(read_eintr)
	for ((r = 1; r <= REPEAT; r++)); do
		run_top "$n" "$TOP_FRAMES" "$r" || { top_fail "$n" "target died"; return 1; }
		((RUN_STOPPED)) && stopped=1
		rcs+=("$RUN_RC")
		((RUN_D > d_max)) && d_max=$RUN_D
		counted=$RUN_C
		[ -n "$RUN_RSS" ] && ((RUN_RSS > rss_max)) && rss_max=$RUN_RSS
		((RUN_FRAMES < fmin)) && fmin=$RUN_FRAMES
		if ((RUN_RC == 124 || RUN_RC == 137)); then
			timed_out=1
			note "$TOP_LABEL at $n threads: not done after $LIMIT s"
			break
		fi
		((RUN_RC != 0 || RUN_FRAMES < TOP_FRAMES)) && failed=1
		walls+=("$(awk -v ms="$RUN_MS" 'BEGIN { printf "%.2f", ms / 1000 }')")
		if [ -n "$RUN_CPU" ] && ((RUN_MS > 0)); then
			cpus+=("$RUN_CPU")
			pcts+=("$(awk -v c="$RUN_CPU" -v ms="$RUN_MS" 'BEGIN { printf "%.1f", 100 * c * 1000 / ms }')")
		fi
		# nothing printed: it does not work at all; once is enough
		((RUN_FRAMES == 0)) && break
	done

	# The first capture alone, for the cost of one refresh.
	if ((!failed && !timed_out)); then
		if ((TOP_FRAMES == 1)); then
			walls1=("${walls[@]}")
			cpus1=("${cpus[@]}")
		else
			for ((r = 1; r <= REPEAT; r++)); do
				run_top "$n" 1 "$r" || { top_fail "$n" "target died"; return 1; }
				((RUN_STOPPED)) && stopped=1
				((RUN_D > d_max)) && d_max=$RUN_D
				[ -n "$RUN_RSS" ] && ((RUN_RSS > rss_max)) && rss_max=$RUN_RSS
				((RUN_RC != 0 || RUN_FRAMES < 1)) && break
				walls1+=("$(awk -v ms="$RUN_MS" 'BEGIN { printf "%.2f", ms / 1000 }')")
				[ -n "$RUN_CPU" ] && cpus1+=("$RUN_CPU")
			done
		fi
	fi
	e1=$(read_eintr)

	wall=$(fmedian '%.2f' "${walls[@]}")
	cpu_s=$(fmedian '%.2f' "${cpus[@]}")
	pct=$(fmedian '%.1f' "${pcts[@]}")
	if ((!failed && !timed_out)) && [[ $pct != - ]] &&
		awk -v p="$pct" -v b="$TOP_BUDGET" 'BEGIN { exit !(p > b) }'; then
		note "$TOP_LABEL at $n threads: CPU $pct% of one core, over the budget of $TOP_BUDGET%"
		pct="$pct (> $TOP_BUDGET)"
	fi
	((timed_out)) && wall="timeout (>$LIMIT s)"
	first=-
	((${#cpus1[@]} && ${#walls1[@]})) &&
		first="$(fmedian '%.2f' "${cpus1[@]}") / $(fmedian '%.2f' "${walls1[@]}")"
	refresh=-
	if ((TOP_FRAMES > 1 && ${#cpus1[@]})) && [[ $cpu_s != - ]]; then
		refresh=$(awk -v a="$cpu_s" -v b="$(fmedian '%.3f' "${cpus1[@]}")" \
			-v f="$TOP_FRAMES" 'BEGIN { printf "%.0f", (a - b) * 1000 / (f - 1) }')
	fi
	rss_mib=-
	((rss_max > 0)) && rss_mib=$(awk -v k="$rss_max" 'BEGIN { printf "%.1f", k / 1024 }')
	[[ $e0 =~ ^[0-9]+$ && $e1 =~ ^[0-9]+$ ]] && eintr=$((e1 - e0))
	ex=$(printf '%s\n' "${rcs[@]}" | sort -un | sed 's/^124$/124 (timeout)/; s/^137$/137 (killed at timeout)/' | paste -sd, -)
	((stopped)) && ex="$ex, LEFT STOPPED"
	local frames="$fmin/$TOP_FRAMES"
	if ((failed || timed_out)); then
		TOP_FAILED=1
		frames="$frames FAILED"
		loud "$TOP_LABEL at $n threads FAILED: exit $ex, fewest frames $fmin of $TOP_FRAMES" \
			"$(head -c 300 "$WORK/err.top.$n" | head -n 2 | tr '\n' ' ')"
	fi
	measure_anchors "$n"
	TOP_ROWS+=("| $n | $wall | $cpu_s | $pct | $ANCHOR_FLOOR | $ANCHOR_PROCPS | $first | $refresh | $rss_mib | $frames | $d_max/$counted | $eintr | $ex |")
}

top_section()
{
	local n rc
	# Is there a top at all?  Started like the runs, so cleanup can stop it.
	/usr/bin/time -f '' -o /dev/null timeout -k 5 30 "$TL" top --help \
		>"$WORK/top.help" 2>&1 </dev/null &
	TOOL_PID=$!
	wait "$TOOL_PID"
	rc=$?
	TOOL_PID=
	if ((rc != 0)); then
		loud "threadleak $TL_VERSION: 'threadleak top --help' failed (exit $rc):" \
			"$(head -n 2 "$WORK/top.help")" \
			"no top subcommand? The top section measures nothing."
		note "'threadleak top --help' failed (exit $rc): $(head -n 1 "$WORK/top.help")"
		for n in $TOP_SIZES; do
			top_fail "$n" "no \`threadleak top\` (exit $rc)"
		done
		return 1
	fi
	for n in $TOP_SIZES; do
		start_target "$n" idle || { top_fail "$n" "target did not start"; continue; }
		measure_top "$n"
		stop_target
	done
}

# ---- run ----

START_TIME=$(date +%s)
say "threadleak $TL_VERSION, sections: $SECTIONS, $REPEAT runs each, limit $LIMIT s"
if section snapshot; then
	say "snapshot: sizes $SIZES; tools $TOOLS"
	BEGAN=$(date +%s)
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	for n in $SIZES; do
		start_target "$n" || { ROWS+=("| $n | (target) | did not start | | | | |"); continue; }
		for tool in $TOOLS; do
			measure "$n" "$tool" || break
		done
		stop_target
	done
	ELAPSED=$(($(date +%s) - BEGAN))
	LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
	SNAP_NOTES=("${NOTES[@]}")
	NOTES=()
fi
if section top; then
	say "top: sizes $TOP_SIZES; $TOP_LABEL, idle target"
	TOP_BEGAN=$(date +%s)
	TOP_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	top_section
	TOP_ELAPSED=$(($(date +%s) - TOP_BEGAN))
	TOP_LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
	TOP_NOTES=("${NOTES[@]}")
	NOTES=()
fi

# ---- report ----

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

# machine LOAD0 LOAD1: the lines about the machine and the tree
machine()
{
	echo "- kernel: $(uname -r)"
	echo "- CPU: ${cpu:-unknown} × $(nproc)"
	echo "- load average (1, 5, 15 min) before: $1; after: $2"
	echo "- threadleak: $TL_VERSION (the tree when the run began)"
}

# notes NOTE...: the notes of a block, if any
notes()
{
	(($#)) || return 0
	echo
	echo "Notes from this run:"
	echo
	printf -- '- %s\n' "$@"
}

# put_block START END BLOCK: replaces what is between START and END in OUT
# with BLOCK (which includes the markers).
put_block()
{
	awk -v start="$1" -v end="$2" -v block="$3" '
		$0 == start { while ((getline l < block) > 0) print l; skip = 1; next }
		$0 == end { skip = 0; next }
		!skip { print }
	' "$OUT" >"$WORK/out.md" && cat "$WORK/out.md" >"$OUT"
}

# The text before the top section's markers in BENCHMARKS.md.
top_intro()
{
	cat <<'EOF_TOP'
## `threadleak top`

The second section runs `threadleak top -b -n 10 -d 1 PID` (ten frames, one
second apart, BENCH_TOP_FRAMES) on `bench/target N idle`: the same target but
without the two spinners, so every thread is blocked and the target itself
uses no CPU.  Three runs (BENCH_REPEAT) per size, on the same process, and
as many of `-n 1`, the first full capture alone.  threadleak's cache of
uncompressed debug files (THREADLEAK_CACHE_DIR, in its default place) is
used as a user's would be: made by the first run that needs libc's (once
per machine), mapped by the later ones.

Columns:

- **threads**: N; the target has N + 18 threads in all.
- **wall s**, **CPU s**: the run's elapsed time and the user+sys CPU it used
  (GNU time `%U` + `%S`), medians over the runs.
- **CPU %**: 100 × CPU / wall, the share of one core that top used over the
  whole run, first capture included; median over the runs.  The budget is
  10% at 10,000 threads; "(> 10)" marks a figure over it.
- **bare scan CPU %**, **procps top -H CPU %**: anchors over the same
  frames on the same target, measured the same way (medians of as many
  runs): `bench/scan-floor PID FRAMES`, which only preads every thread's
  kept schedstat once a frame (the least any refresh that looks at each
  thread can cost here), and procps `top -H -b -n FRAMES -d 1 -p PID`.
- **first frame CPU / wall s**: medians over the `-n 1` runs.
- **refresh CPU ms**: what one more frame costs: (CPU of the 10-frame run −
  CPU of the 1-frame run) / 9, from the medians.
- **peak RSS MiB**: the largest over all the runs.
- **frames**: the fewest frames (lines that begin with `threadleak top:`) a
  run printed, of those asked for; "FAILED" when a run printed fewer or
  exited non-zero (the benchmark then exits 1).
- **disturbed/blocked**, **EINTR**, **exit**: as above, over all the runs.
  top must disturb no blocked thread.

EOF_TOP
}

if section snapshot; then
	TABLE=$WORK/table.md
	{
		echo '| threads | tool | wall ms (median) | peak RSS MiB | disturbed/blocked | EINTR | exit |'
		echo '|---:|---|---:|---:|---:|---:|---|'
		printf '%s\n' "${ROWS[@]}"
	} >"$TABLE"

	BLOCK=$WORK/block.md
	{
		echo "$START"
		echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/run.sh\` in ${ELAPSED} s"
		echo "(sizes: $SIZES; $REPEAT runs per tool; limit $LIMIT s a run)."
		echo
		machine "$LOAD0" "$LOAD1"
		echo "- eu-stack: $(eu-stack --version 2>&1 | head -n1)"
		echo "- gdb: $(gdb --version 2>&1 | head -n1)"
		echo
		cat "$TABLE"
		notes "${SNAP_NOTES[@]}"
		echo "$END"
	} >"$BLOCK"
fi

if section top; then
	TOP_TABLE=$WORK/top-table.md
	{
		echo '| threads | wall s | CPU s | CPU % of one core | bare scan CPU % | procps top -H CPU % | first frame CPU / wall s | refresh CPU ms | peak RSS MiB | frames | disturbed/blocked | EINTR | exit |'
		echo '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|'
		printf '%s\n' "${TOP_ROWS[@]}"
	} >"$TOP_TABLE"

	TOP_BLOCK=$WORK/top-block.md
	{
		echo "$TOP_START"
		echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/run.sh\` in ${TOP_ELAPSED} s"
		echo "(\`$TOP_LABEL PID\` on \`bench/target N idle\`; sizes: $TOP_SIZES;"
		echo "$REPEAT runs, and $REPEAT of \`-n 1\`; limit $LIMIT s a run)."
		echo
		machine "$TOP_LOAD0" "$TOP_LOAD1"
		echo
		cat "$TOP_TABLE"
		notes "${TOP_NOTES[@]}"
		echo "$TOP_END"
	} >"$TOP_BLOCK"
fi

if [ ! -f "$OUT" ]; then
	{
		cat <<'EOF_SNAP'
# Benchmarks

`make bench` (bench/run.sh) starts `bench/target N`, a process with N leaked
threads: 45% blocked on one condition variable, 45% in `read` on pipes nobody
writes, the rest in a one-hour `nanosleep`, plus 16 threads in `epoll_wait`
that count every EINTR they get, 2 threads spinning in user code (at nice 19,
so they do not take the CPU from the tool measured), the main thread and a
signal thread.  It then runs each tool on that same live process, one after
the other, three times (BENCH_REPEAT), and replaces the section below.

Columns:

- **threads**: N, the leaked threads; the target has N + 20 threads in all.
- **tool**: the command run against the target's pid, output to /dev/null.
- **wall ms (median)**: elapsed time of one run, median over the runs
  (including ~1 ms to start `timeout` and GNU `time`); "(1 run)" when a run
  was so slow that it was not repeated, "timeout" when it passed the limit.
- **peak RSS MiB**: the tool's maximum resident memory (GNU time `%M`), the
  largest over the runs; "-" when the tool had to be killed.
- **disturbed/blocked**: of the target's blocked threads (all but the two
  spinners and the benchmark's own signal thread), how many ran at all during
  one run of the tool: their run count, the 3rd field of
  `/proc/PID/task/TID/schedstat`, changed.  The largest over the runs.
  A tool that stops a thread wakes it; threadleak aims at 0.
- **EINTR**: how many `epoll_wait` calls in the target returned EINTR during
  all of the tool's runs together: each is a spurious error the program sees
  because the tool stopped the thread.
- **exit**: the tool's exit status(es); "LEFT STOPPED" if a thread of the
  target was in state t/T after the tool had exited (the benchmark then sent
  SIGCONT).

EOF_SNAP
		printf '%s\n%s\n\n' "$START" "$END"
		top_intro
		printf '%s\n%s\n' "$TOP_START" "$TOP_END"
	} >"$OUT"
fi
if ! grep -qF "$START" "$OUT" || ! grep -qF "$END" "$OUT"; then
	printf '%s\n%s\n' "$START" "$END" >>"$OUT"
fi
if ! grep -qF "$TOP_START" "$OUT" || ! grep -qF "$TOP_END" "$OUT"; then
	{
		echo
		top_intro
		printf '%s\n%s\n' "$TOP_START" "$TOP_END"
	} >>"$OUT"
fi
section snapshot && put_block "$START" "$END" "$BLOCK"
section top && put_block "$TOP_START" "$TOP_END" "$TOP_BLOCK"

if section snapshot; then
	echo
	cat "$TABLE"
	((${#SNAP_NOTES[@]})) && printf 'note: %s\n' "${SNAP_NOTES[@]}"
fi
if section top; then
	echo
	echo "$TOP_LABEL PID, idle target:"
	cat "$TOP_TABLE"
	((${#TOP_NOTES[@]})) && printf 'note: %s\n' "${TOP_NOTES[@]}"
fi
say "wrote $OUT ($(($(date +%s) - START_TIME)) s)"
((TOP_FAILED)) && die "the top section FAILED: see its table and notes above"
exit 0
