#!/bin/bash
# bench/run.sh: threadleak snapshot against eu-stack and gdb on one live
# process with many blocked threads (bench/target).  `make bench` runs it.
#
# For each size N it starts `bench/target N` once, waits for its "ready", and
# then runs each tool on that same process, one after the other, REPEAT times,
# measuring for every tool:
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
# The table goes to stdout and, with the date, kernel, CPU and tool versions,
# into BENCHMARKS.md between <!-- bench:start --> and <!-- bench:end -->.
#
# Environment:
#   BENCH_SIZES    thread counts (default "100 1000 10000")
#   BENCH_REPEAT   runs per tool and size (default 3)
#   BENCH_TIMEOUT  seconds one run may take (default 300)
#   BENCH_SLOW_MS  a run slower than this is not repeated (default 30000),
#                  to keep `make bench` under ~15 minutes on 2 cores
#   BENCH_OUT      the file to update (default BENCHMARKS.md at the root)
#   BENCH_TOOLS    which rows (default "threadleak threadleak-libunwind
#                  threadleak-stop eu-stack gdb")
#   THREADLEAK     the binary (default ./threadleak; copied before use, so a
#                  rebuild during the run does not change what is measured)
#
# Every process it starts is killed by pid when it exits, however it exits.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${BENCH_SIZES:-100 1000 10000}
REPEAT=${BENCH_REPEAT:-3}
LIMIT=${BENCH_TIMEOUT:-300}
SLOW_MS=${BENCH_SLOW_MS:-30000}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
TOOLS=${BENCH_TOOLS:-threadleak threadleak-libunwind threadleak-stop eu-stack gdb}
THREADLEAK=${THREADLEAK:-$ROOT/threadleak}
READY_TIMEOUT=150

START=$'<!-- bench:start -->'
END=$'<!-- bench:end -->'

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

for c in gcc eu-stack gdb timeout awk; do
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

# ---- the target ----

SKIP=		# tids left out of the disturbed count: spinners, signal thread

start_target()
{
	local n=$1 line waited=0
	: >"$WORK/target.out"
	BENCH_EINTR_FILE=$EFILE "$ROOT/bench/target" "$n" \
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
	# "ready spin TID TID signal TID"
	read -r -a f <<<"$line"
	SKIP="${f[2]} ${f[3]} ${f[5]}"
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
	local n=$1 tool=$2 r rc t0 t1 ms rss d c e0 e1 st wall
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

		st=$(stopped_count)
		if ((st == 0)); then
			sleep 0.1
			st=$(stopped_count)
		fi
		if ((st > 0)); then
			loud "$(tool_label "$tool") left $st of the target's threads STOPPED (state t/T)" \
				"sending SIGCONT to $TARGET_PID"
			kill -CONT "$TARGET_PID"
			left_stopped=1
			note "$(tool_label "$tool") at $n threads left $st threads stopped (run $r, exit $rc); SIGCONT sent"
		fi
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

# ---- run ----

say "threadleak $TL_VERSION, sizes: $SIZES, $REPEAT runs each, limit $LIMIT s"
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

# ---- report ----

TABLE=$WORK/table.md
{
	echo '| threads | tool | wall ms (median) | peak RSS MiB | disturbed/blocked | EINTR | exit |'
	echo '|---:|---|---:|---:|---:|---:|---|'
	printf '%s\n' "${ROWS[@]}"
} >"$TABLE"

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
BLOCK=$WORK/block.md
{
	echo "$START"
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/run.sh\` in ${ELAPSED} s"
	echo "(sizes: $SIZES; $REPEAT runs per tool; limit $LIMIT s a run)."
	echo
	echo "- kernel: $(uname -r)"
	echo "- CPU: ${cpu:-unknown} × $(nproc)"
	echo "- load average (1, 5, 15 min) before: $LOAD0; after: $LOAD1"
	echo "- threadleak: $TL_VERSION (the tree when the run began)"
	echo "- eu-stack: $(eu-stack --version 2>&1 | head -n1)"
	echo "- gdb: $(gdb --version 2>&1 | head -n1)"
	echo
	cat "$TABLE"
	if ((${#NOTES[@]})); then
		echo
		echo "Notes from this run:"
		echo
		printf -- '- %s\n' "${NOTES[@]}"
	fi
	echo "$END"
} >"$BLOCK"

if [ ! -f "$OUT" ]; then
	cat >"$OUT" <<'EOF'
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

EOF
fi
if ! grep -qF "$START" "$OUT" || ! grep -qF "$END" "$OUT"; then
	printf '%s\n%s\n' "$START" "$END" >>"$OUT"
fi
awk -v start="$START" -v end="$END" -v block="$BLOCK" '
	$0 == start { while ((getline l < block) > 0) print l; skip = 1; next }
	$0 == end { skip = 0; next }
	!skip { print }
' "$OUT" >"$WORK/out.md" && cat "$WORK/out.md" >"$OUT"

echo
cat "$TABLE"
if ((${#NOTES[@]})); then
	echo
	printf 'note: %s\n' "${NOTES[@]}"
fi
say "wrote $OUT (${ELAPSED} s)"
