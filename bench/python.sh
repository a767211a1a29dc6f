#!/bin/bash
# bench/python.sh: threadleak snapshot of a Python program beside py-spy
# dump, its anchor.  `make bench` runs it.
#
# For each CPython (pyenv's newest 3.11 and 3.13, Debian's /usr/bin/python3,
# and a copy of it that finds no debug file, as on a machine without
# python3-dbg: the files py-spy reads) and each size N (BENCH_PY_SIZES, default "7 1000") it
# starts `bench/pythreads.py N` once (N threads blocked in queue.get,
# Lock.acquire, Event.wait and time.sleep, two calls deep, and the main
# thread in Event.wait: N + 1 threads, all blocked), waits for its "ready",
# and on that process:
#   - checks each tool's output once, so that a failing command is not
#     timed as a fast one: threadleak's text says N + 1 threads (and with
#     its Python frames, N + 1 with Python frames); py-spy prints N + 1
#     "Thread" lines.  A tool that fails it is not timed; its row says why.
#     An interpreter whose Python frames threadleak does not read is left
#     out, with threadleak's note why.
#   - then runs the tools that passed, in turn, REPEAT rounds (each round
#     runs every tool once, so that the machine's load falls on all alike):
#       threadleak snapshot PID               its text report, to /dev/null
#       threadleak snapshot --no-python PID   the same, C frames only
#       py-spy dump --pid PID                 pauses the process
#       py-spy dump --native --pid PID        pauses it, native frames too
#       py-spy dump --nonblocking --pid PID   pauses nothing
#     measuring the wall time (date +%s%N around GNU time around the tool;
#     median, and the range, over the rounds) and the peak RSS (GNU time's
#     %M, the largest over the rounds), and after each run whether a thread
#     of the target was left stopped (t/T: said loudly, SIGCONT sent, the
#     row flagged).
# The table goes to stdout and into BENCHMARKS.md between
# <!-- bench-python:start --> and <!-- bench-python:end -->.  It times
# nothing against a limit: it only writes figures; it exits 1 when a
# threadleak command failed (its row says how), once the table is written.
#
# Environment:
#   BENCH_PY_SIZES    the thread counts (default "7 1000")
#   BENCH_PY_REPEAT   rounds per interpreter and size (default 7)
#   BENCH_PYTHONS     the interpreters (default: pyenv's 3.11 and 3.13,
#                     /usr/bin/python3)
#   BENCH_PYSPY       py-spy (default: the one scripts/deps.sh bench
#                     installs, in ~/.cache/threadleak-bench/py-spy, else
#                     one on PATH)
#   BENCH_OUT, THREADLEAK as in bench/run.sh
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${BENCH_PY_SIZES:-7 1000}
REPEAT=${BENCH_PY_REPEAT:-7}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
THREADLEAK=${THREADLEAK:-$ROOT/threadleak}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/threadleak-bench
PYSPY=${BENCH_PYSPY:-$CACHE/py-spy/bin/py-spy}
[ -x "$PYSPY" ] || PYSPY=$(command -v py-spy || true)
PYENV=${PYENV_ROOT:-$HOME/.pyenv}
LIMIT=120	# seconds one run may take
START='<!-- bench-python:start -->'
END='<!-- bench-python:end -->'
say() { printf 'bench: %s\n' "$*" >&2; }
. "$ROOT/bench/lib.sh"
[ -x "$THREADLEAK" ] || { say "no $THREADLEAK: run make first"; exit 1; }
[ -x /usr/bin/time ] || { say "needs GNU time in /usr/bin/time (scripts/deps.sh bench)"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-bench-py.XXXXXX") || exit 1
PID=
cleanup()
{
	if [ -n "$PID" ]; then
		kill -CONT "$PID"
		kill -KILL "$PID"
		wait "$PID"
	fi 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
# a copy: a rebuild during the run does not change what is measured
cp "$THREADLEAK" "$TMP/threadleak" || exit 1
TL=$TMP/threadleak

# the interpreters: "LABEL<tab>PATH" a line
pythons()
{
	local v p
	if [ -n "${BENCH_PYTHONS:-}" ]; then
		for p in $BENCH_PYTHONS; do
			printf '%s\t%s\n' "$("$p" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '?')" "$p"
		done
		return
	fi
	for v in 3.11 3.13; do
		p=$(ls -d "$PYENV/versions/$v".*/bin/python3 2>/dev/null | sort -V | tail -n 1)
		if [ -n "$p" ]; then
			printf '%s (pyenv)\t%s\n' "$(basename "$(dirname "$(dirname "$p")")")" "$p"
		else
			say "no pyenv CPython $v in $PYENV/versions: its rows are left out"
		fi
	done
	[ -x /usr/bin/python3 ] || return
	v=$(/usr/bin/python3 -c 'import platform; print(platform.python_version())')
	printf '%s (Debian)\t%s\n' "$v" /usr/bin/python3
	# The same interpreter as a user has it without python3-dbg: a copy
	# whose build id is another (random) one and without its debug link
	# finds no debug file, as there, so both tools read the same files
	# (py-spy never reads debug files).
	p=$TMP/nodebug/$(basename "$(readlink -f /usr/bin/python3)")
	mkdir -p "$TMP/nodebug" &&
		objcopy --remove-section .gnu_debuglink "$(readlink -f /usr/bin/python3)" "$p" 2>"$TMP/objcopy.err" &&
		python3 - "$p" 2>>"$TMP/objcopy.err" <<-'EOF' &&
			import os, subprocess, sys
			out = subprocess.run(["readelf", "-n", sys.argv[1]], capture_output=True, text=True).stdout
			bid = bytes.fromhex([l.split()[-1] for l in out.splitlines() if "Build ID" in l][0])
			data = open(sys.argv[1], "rb").read()
			assert data.count(bid) == 1, "the build id is not in the file once"
			open(sys.argv[1], "wb").write(data.replace(bid, os.urandom(len(bid))))
		EOF
		printf '%s (Debian, no debug file)\t%s\n' "$v" "$p" ||
		say "no copy of /usr/bin/python3 with another build id: $(head -c 200 "$TMP/objcopy.err")"
}

TOOLS="tl tl-nopy spy spy-native spy-nonblocking"
# tool_cmd TOOL: sets CMD
tool_cmd()
{
	case $1 in
	tl) CMD=("$TL" snapshot --color never "$PID") ;;
	tl-nopy) CMD=("$TL" snapshot --color never --no-python "$PID") ;;
	spy) CMD=("$PYSPY" dump --pid "$PID") ;;
	spy-native) CMD=("$PYSPY" dump --native --pid "$PID") ;;
	spy-nonblocking) CMD=("$PYSPY" dump --nonblocking --pid "$PID") ;;
	esac
}
tool_label()
{
	case $1 in
	tl) echo 'threadleak snapshot' ;;
	tl-nopy) echo 'threadleak snapshot --no-python' ;;
	spy) echo 'py-spy dump' ;;
	spy-native) echo 'py-spy dump --native' ;;
	spy-nonblocking) echo 'py-spy dump --nonblocking' ;;
	esac
}
tool_stops()
{
	case $1 in
	tl | tl-nopy) echo "$STOPPED" ;;
	spy | spy-native) echo 'all (pauses the process)' ;;
	spy-nonblocking) echo 'none' ;;
	esac
}

# stopped_count: threads of the target in state t or T now
stopped_count()
{
	awk '{ s = $0; sub(/.*\) /, "", s); if (s ~ /^[tT]/) n++ } END { print n + 0 }' \
		"/proc/$PID/task/"*/stat 2>/dev/null
}

# sane TOOL N: runs TOOL once; 0 when its output shows the N + 1 threads,
# else prints why not (2: threadleak read no Python frames).  threadleak's
# own "no thread stopped" (or how many) goes to $TMP/stopped.
sane()
{
	local out=$TMP/sane.out want=$(($2 + 1)) head got py why_not
	tool_cmd "$1"
	timeout -k 5 "$LIMIT" "${CMD[@]}" >"$out" 2>"$TMP/sane.err" </dev/null ||
		{ echo "exit $?: $(head -n 2 "$TMP/sane.err" | tr '\n' ' ' | cut -c1-120)"; return 1; }
	case $1 in
	tl | tl-nopy)
		head=$(head -n 1 "$out")
		got=$(sed -n '1s/.* \([0-9][0-9]*\) threads\( —.*\)\{0,1\}$/\1/p' "$out")
		[ "$got" = "$want" ] || { echo "says '$head', not $want threads"; return 1; }
		if [ "$1" = tl ]; then
			py=$(sed -n '1s/.* \([0-9][0-9]*\) with Python frames,.*/\1/p' "$out")
			[ "$py" = "$want" ] || {
				why_not=$(grep -m1 '^Python frames not read' "$out" | cut -c1-240)
				echo "${why_not:-${py:-no} of $want threads with Python frames}"
				return 2
			}
		fi
		# "no thread stopped", or "K threads stopped (...)"
		[ "$1" = tl ] && sed -n '2s/.*; //p' "$out" |
			sed 's/^no thread stopped$/none/' >"$TMP/stopped"
		;;
	*)
		got=$(grep -c '^Thread [0-9]' "$out")
		[ "$got" = "$want" ] || { echo "shows $got threads, not $want: $(head -n 2 "$TMP/sane.err" | tr '\n' ' ' | cut -c1-120)"; return 1; }
		;;
	esac
	return 0
}

median()
{
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

now_ns() { date +%s%N; }

ROWS=()
NOTES=()
FAILED=0	# a threadleak command failed: exit 1 once the table is written
note() { NOTES+=("$*"); say "note: $*"; }
LOAD0=$(cut -d' ' -f1 /proc/loadavg)

while IFS=$'\t' read -r label path; do
	for n in $SIZES; do
		"$path" "$ROOT/bench/pythreads.py" "$n" >"$TMP/py.out" 2>"$TMP/py.err" </dev/null &
		PID=$!
		if ! wait_ready "$TMP/py.out" "$PID"; then
			note "$label: bench/pythreads.py $n not ready: $(head -c 200 "$TMP/py.err" "$TMP/py.out" | tr '\n' ' ')"
			kill -KILL "$PID" 2>/dev/null
			wait "$PID" 2>/dev/null
			PID=
			continue
		fi
		say "$label: $n threads blocked (pid $PID)"
		ok=()
		declare -A why=()
		echo '?' >"$TMP/stopped"
		skip=0
		for t in $TOOLS; do
			if [[ $t == spy* && -z $PYSPY ]]; then
				why[$t]="no py-spy (scripts/deps.sh bench installs it)"
				continue
			fi
			w=$(sane "$t" "$n")
			rc=$?
			if ((rc == 2)); then
				note "$label: threadleak does not read its Python frames on this build, so it is left out: $w"
				skip=1
				break
			fi
			if ((rc == 0)); then
				ok+=("$t")
			else
				why[$t]="fails: $w"
				say "$(tool_label "$t") ${why[$t]}"
				[[ $t == tl* ]] && FAILED=1
			fi
		done
		STOPPED=$(cat "$TMP/stopped")
		if ((skip)); then
			kill -KILL "$PID" 2>/dev/null
			wait "$PID" 2>/dev/null
			PID=
			break
		fi
		declare -A walls=() rss=() flag=()
		for ((r = 1; r <= REPEAT; r++)); do
			for t in "${ok[@]}"; do
				tool_cmd "$t"
				t0=$(now_ns)
				/usr/bin/time -f '%M' -o "$TMP/rss" timeout -k 5 "$LIMIT" \
					"${CMD[@]}" >/dev/null 2>"$TMP/err" </dev/null
				rc=$?
				t1=$(now_ns)
				if ((rc != 0)); then
					flag[$t]="${flag[$t]:-} exit $rc in round $r"
					[[ $t == tl* ]] && FAILED=1
					note "$label, $n threads: $(tool_label "$t") exit $rc: $(head -n 2 "$TMP/err" | tr '\n' ' ' | cut -c1-120)"
					continue
				fi
				walls[$t]="${walls[$t]:-} $(((t1 - t0) / 1000))"
				k=$(tail -n 1 "$TMP/rss")
				[[ $k =~ ^[0-9]+$ ]] && ((k > ${rss[$t]:-0})) && rss[$t]=$k
				if (($(stopped_count) > 0)); then
					sleep 0.1
					if (($(stopped_count) > 0)); then
						say "!!! $(tool_label "$t") left threads of $PID STOPPED: SIGCONT sent"
						kill -CONT "$PID"
						flag[$t]="${flag[$t]:-} LEFT STOPPED"
						[[ $t == tl* ]] && FAILED=1
					fi
				fi
			done
		done
		for t in $TOOLS; do
			if [ -n "${why[$t]:-}" ]; then
				ROWS+=("| $label | $n | $(tool_label "$t") | ${why[$t]} | | |")
				continue
			fi
			[ -n "${walls[$t]:-}" ] || continue
			# microseconds to ms with one decimal
			read -r med lo hi < <(printf '%s\n' ${walls[$t]} | sort -n |
				awk '{ v[NR] = $1 } END {
					m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
					printf "%.1f %.1f %.1f\n", m / 1000, v[1] / 1000, v[NR] / 1000 }')
			cnt=$(printf '%s\n' ${walls[$t]} | wc -l)
			mib=$(awk -v k="${rss[$t]:-0}" 'BEGIN { printf "%.1f", k / 1024 }')
			ROWS+=("| $label | $n | $(tool_label "$t") | $med ($lo-$hi, $cnt runs)${flag[$t]:+ **${flag[$t]# }**} | $mib | $(tool_stops "$t") |")
			say "$(printf '%-18s %5d  %-34s %8s ms  %6s MiB' "$label" "$n" "$(tool_label "$t")" "$med" "$mib")"
		done
		unset walls rss flag why
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
		PID=
	done
done < <(pythons)

SPY_V=$([ -n "$PYSPY" ] && "$PYSPY" --version 2>/dev/null || echo 'no py-spy')
TABLE="| CPython | threads | command | wall ms, median (range) | peak RSS MiB | threads stopped |
|---|---:|---|---:|---:|---|"
TABLE=$(table_rows "$TABLE" "${ROWS[@]}")
echo "$TABLE"
NOTE_TEXT=
for m in "${NOTES[@]}"; do
	NOTE_TEXT="$NOTE_TEXT
- $m"
done
[ -n "$NOTE_TEXT" ] && NOTE_TEXT="$NOTE_TEXT
"
BLOCK="$START
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs (load $LOAD0 before), kernel $(uname -r), threadleak $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), $SPY_V; \`bench/python.sh\` ($REPEAT rounds, each running every command once on the same process, its output to /dev/null: threadleak's text report, py-spy's dump).
$NOTE_TEXT
$TABLE
$END"
put_block "$START" "$END" "$BLOCK" "## Python: a CPython program's threads beside py-spy dump

\`bench/pythreads.py N\`: N threads blocked in queue.get, Lock.acquire,
Event.wait and time.sleep, two calls deep, and the main thread in
Event.wait.  threadleak reads every thread's Python frames from the
process's memory, merged into its native stack, stopping no thread that is
blocked; \`py-spy dump\` pauses the process while it reads (ptrace), unless
\`--nonblocking\`; \`--native\` adds the native frames.  Debian's
python3 is stripped; on Debian 12 \`scripts/deps.sh bench\` installs
python3.11-dbg, from whose debug file threadleak reads its layouts and
names its C frames (file, line, inlined calls); py-spy --native names
them from symbol tables (libc's as addresses).  An interpreter whose Python frames
threadleak does not read is left out, with its note why.  Where the time
goes: the next section."
say "wrote $OUT"
((FAILED)) && { say "threadleak failed on a Python program: see the table"; exit 1; }
exit 0
