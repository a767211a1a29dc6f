# tests/lib.sh: helpers for threadleak's integration tests (bash).
#
# Source it first thing:   . "$(dirname "$0")/../lib.sh"
#
# A test script exits 0 on pass, 1 on failure (first line of its output is
# the reason), 77 on skip.  Checks come in two strengths:
#   fail MSG     stop now: print MSG (and any recorded errors), exit 1
#   error MSG    record a mismatch and carry on; `finish` at the end exits 1
#                with every recorded mismatch, or 0 when there was none
#   skip MSG     exit 77 with a reason (the whole test was not run)
#   partial MSG  one part of the test was not run, and why; the test goes on
#   at_least N MIN WHAT   an error unless N >= MIN: a loop or a race that
#                must have happened at least MIN times to prove anything
#
# Verdicts: under tests/run.sh each of these also writes a line to
# $TL_VERDICT_FILE ("pass" from finish, "fail", "skip", "partial MSG").  The
# runner passes a test only when it exited 0 AND its last word was "pass"
# with no "fail" anywhere: a script that ends without `finish`, a `fail` in
# a subshell, or an exit status changed on the way out cannot pass.
#
# Cleanup: one EXIT trap, lib.sh's own.  A test never sets a trap (the
# runner refuses a test that does); it registers what must be undone with
#   at_exit 'SHELL COMMAND'   run at the exit, however it exits, last
#                             registered first, in a subshell; the exit
#                             status is the test's, whatever it does.
#
# Processes: start_target starts a testdata program in the background and
# waits for its "ready" line; every process it starts (and any pid given to
# register_pid) is killed BY PID with SIGKILL and reaped when the script
# exits, however it exits.  Nothing is ever killed by name.
#
# Environment:
#   THREADLEAK   the binary under test (default: ROOT/threadleak)
#   TESTDATA     the built testdata programs (default: ROOT/testdata)
#   TL_READY_TIMEOUT  seconds to wait for a target's "ready" (default 20)
#   TL_SNAP_TIMEOUT   seconds one snapshot may take (default 60)

set -u

TL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
THREADLEAK=${THREADLEAK:-$TL_ROOT/threadleak}
case $THREADLEAK in
/*) ;;
*/*) THREADLEAK=$PWD/${THREADLEAK#./} ;;
*) THREADLEAK=$(command -v "$THREADLEAK" || echo "$THREADLEAK") ;;
esac
TESTDATA=${TESTDATA:-$TL_ROOT/testdata}
TL_READY_TIMEOUT=${TL_READY_TIMEOUT:-20}
TL_SNAP_TIMEOUT=${TL_SNAP_TIMEOUT:-60}
TEST_NAME=$(basename "$0" .sh)

TL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-$TEST_NAME.XXXXXX") ||
	{ echo "$TEST_NAME: cannot make a temporary directory" >&2; exit 1; }
TL_PIDS=()
TL_ERRORS=()
TL_SEQ=0

# Starting a program is slow on small VMs (tens of ms): the helpers below
# poll with bash builtins only.  tl_sleep SECS sleeps without a fork, in
# read -t on a fifo that nobody writes.
if mkfifo "$TL_TMP/.sleep" 2>/dev/null && exec {TL_SLEEP_FD}<>"$TL_TMP/.sleep"; then
	tl_sleep() { read -r -t "$1" -u "$TL_SLEEP_FD" _ || :; }
else
	tl_sleep() { sleep "$1"; }
fi

# tl_now_us: microseconds since the epoch (bash 5 $EPOCHREALTIME).
tl_now_us()
{
	local t=$EPOCHREALTIME
	echo "${t/[.,]/}"
}

# ---- exit, cleanup, verdicts ----

# signal_child SIG PID: send SIG to PID, but only while it is still a child
# of this shell: once bash has reaped it, the pid may belong to someone else.
signal_child()
{
	local line f
	{ read -r line <"/proc/$2/stat"; } 2>/dev/null || return 1
	line=${line##*) }
	read -r -a f <<<"$line"
	[ "${f[1]}" = "$$" ] || return 1
	kill -"$1" "$2" 2>/dev/null
}

tl_kill_child()
{
	signal_child KILL "$1"
	return 0
}

TL_AT_EXIT=()

# at_exit CMD: run the shell command CMD at the exit (see the top).
at_exit()
{
	TL_AT_EXIT=("$1" "${TL_AT_EXIT[@]}")
}

# tl_verdict WORD [MSG]: one line for the runner (see the top).
tl_verdict()
{
	[ -n "${TL_VERDICT_FILE:-}" ] || return 0
	printf '%s\n' "$*" | tr -d '\r' >>"$TL_VERDICT_FILE"
}

tl_cleanup()
{
	local rc=$? p h
	trap - EXIT INT TERM HUP
	for h in "${TL_AT_EXIT[@]}"; do
		( eval "$h" ) </dev/null
	done
	{
		for p in "${TL_PIDS[@]}"; do
			tl_kill_child "$p"
		done
		for p in "${TL_PIDS[@]}"; do
			wait "$p"
		done
	} 2>/dev/null	# also silences bash's "Killed" job notices
	rm -rf "$TL_TMP"
	exit "$rc"
}
trap tl_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

tl_print_errors()
{
	local e
	for e in "${TL_ERRORS[@]}"; do
		printf '  %s\n' "$e"
	done
}

# fail MSG: the test fails now; MSG is the first line of its output.
fail()
{
	if ((${#TL_ERRORS[@]})); then
		echo "$TEST_NAME: $* (and ${#TL_ERRORS[@]} earlier mismatches)"
		tl_print_errors
	else
		echo "$TEST_NAME: $*"
	fi
	tl_verdict fail
	exit 1
}

# error MSG: record a mismatch, keep going.
error()
{
	TL_ERRORS+=("$*")
}

# note MSG: an informational line (shown by the runner only on fail/skip).
note()
{
	echo "note: $*"
}

# skip MSG: the whole test cannot run here; MSG says why.  The runner
# holds every skip against tests/skips.allow.
skip()
{
	echo "$TEST_NAME: skipped: $*"
	tl_verdict skip "$*"
	exit 77
}

# partial MSG: a part of the test was not run here; MSG says which and
# why.  The runner prints it under PASS and holds it against
# tests/skips.allow, as a skip.
partial()
{
	echo "partial: $*"
	tl_verdict partial "$*"
}

# at_least N MIN WHAT: record an error unless N >= MIN.  For loops and
# races: WHAT is what must have happened ("rounds where the target died
# during the capture"), so a run where it never did cannot pass.
at_least()
{
	if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < $2)); then
		error "$3: ${1:-none} (at least $2 needed: otherwise this checks nothing)"
		return 1
	fi
	return 0
}

# finish: exit 1 listing every recorded mismatch, or 0.
finish()
{
	if ((${#TL_ERRORS[@]})); then
		echo "$TEST_NAME: ${#TL_ERRORS[@]} mismatches, first: ${TL_ERRORS[0]}"
		tl_print_errors
		tl_verdict fail
		exit 1
	fi
	tl_verdict pass
	exit 0
}

# ---- prerequisites ----

need_cmd()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

need_threadleak()
{
	[ -x "$THREADLEAK" ] || fail "no threadleak binary at $THREADLEAK (build it, or set THREADLEAK)"
}

need_testdata()
{
	local t
	for t in "$@"; do
		[ -x "$TESTDATA/$t" ] || fail "missing $TESTDATA/$t (the Makefile builds it)"
	done
}

need_root()
{
	[ "$(id -u)" = 0 ] || skip "needs root: $*"
}

# ---- processes ----

# register_pid PID: kill (SIGKILL) and reap this child of ours on exit.
register_pid()
{
	TL_PIDS+=("$1")
}

# unregister_pid PID: forget it (call before reaping it with wait).
unregister_pid()
{
	local p keep=()
	for p in "${TL_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	TL_PIDS=("${keep[@]}")
}

# proc_alive PID: true while PID exists and is not a zombie.
proc_alive()
{
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	line=${line##*) }
	line=${line%% *}
	[ "$line" != Z ] && [ "$line" != X ]
}

# proc_state PID TID: print the state letter of thread TID of PID.
proc_state()
{
	local line
	{ read -r line <"/proc/$1/task/$2/stat"; } 2>/dev/null || return 1
	line=${line##*) }
	printf '%s\n' "${line%% *}"
}

# start_target CMD [ARG...]: run CMD in the background (stdin /dev/null,
# stdout to $TARGET_OUT, stderr to $TARGET_ERR), wait for a line "ready",
# set TARGET_PID.  Call it directly, not in $(...): it sets variables.
start_target()
{
	local deadline pid
	TL_SEQ=$((TL_SEQ + 1))
	TARGET_OUT=$TL_TMP/target$TL_SEQ.out
	TARGET_ERR=$TL_TMP/target$TL_SEQ.err
	"$@" >"$TARGET_OUT" 2>"$TARGET_ERR" </dev/null &
	pid=$!
	TL_PIDS+=("$pid")
	TARGET_PID=$pid
	deadline=$((SECONDS + TL_READY_TIMEOUT))
	until has_line "$TARGET_OUT" ready; do
		if ! proc_alive "$pid"; then
			# it may have said "ready" just before it exited
			has_line "$TARGET_OUT" ready && break
			unregister_pid "$pid"
			wait "$pid" 2>/dev/null
			fail "target '$*' exited (status $?) before it was ready: $(head -c 300 "$TARGET_ERR")"
		fi
		((SECONDS < deadline)) ||
			fail "target '$*' not ready after ${TL_READY_TIMEOUT}s: $(head -c 300 "$TARGET_ERR")"
		tl_sleep 0.01
	done
}

# has_line FILE LINE: FILE has a line that is exactly LINE (builtins only).
has_line()
{
	local l
	[ -r "$1" ] || return 1
	while IFS= read -r l || [ -n "$l" ]; do
		[ "$l" = "$2" ] && return 0
	done <"$1"
	return 1
}

# start_target_nowait CMD [ARG...]: like start_target without waiting.
start_target_nowait()
{
	TL_SEQ=$((TL_SEQ + 1))
	TARGET_OUT=$TL_TMP/target$TL_SEQ.out
	TARGET_ERR=$TL_TMP/target$TL_SEQ.err
	"$@" >"$TARGET_OUT" 2>"$TARGET_ERR" </dev/null &
	TARGET_PID=$!
	TL_PIDS+=("$TARGET_PID")
}

# kill_target PID: SIGKILL a process this script started, and reap it.
kill_target()
{
	unregister_pid "$1"
	{ tl_kill_child "$1"; wait "$1"; } 2>/dev/null
	return 0
}

# task_tids PID: the tids of PID, one a line, sorted numerically.
task_tids()
{
	local d
	for d in /proc/"$1"/task/[0-9]*; do
		[ -e "$d" ] && echo "${d##*/}"
	done | sort -n
}

# stopped_threads PID: print "TID:STATE" for every thread in state t or T.
stopped_threads()
{
	local files=(/proc/"$1"/task/[0-9]*/stat) f line s tid
	[ -e "${files[0]}" ] || return 0
	if ((${#files[@]} > 200)); then
		# one cat for all: faster than a bash loop over thousands
		cat "${files[@]}" 2>/dev/null |
			sed -n 's/^\([0-9][0-9]*\) .*) \([tT]\) .*$/\1:\2/p'
		return 0
	fi
	for f in "${files[@]}"; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		s=${line##*) }
		s=${s%% *}
		if [ "$s" = t ] || [ "$s" = T ]; then
			tid=${f%/stat}
			printf '%s:%s\n' "${tid##*/}" "$s"
		fi
	done
}

# assert_not_stopped PID [WHAT]: record an error when a thread of PID is
# left in t/T (traced or stopped).  Returns 1 then.
assert_not_stopped()
{
	local st
	st=$(stopped_threads "$1")
	if [ -n "$st" ]; then
		error "${2:+$2: }target $1 left stopped: $(echo "$st" | head -5 | tr '\n' ' ')($(echo "$st" | wc -l) threads)"
		return 1
	fi
	return 0
}

# wait_not_stopped PID SECONDS: wait until no thread of PID is in t/T.
# Returns 1 (and prints them) when some still are after SECONDS.
wait_not_stopped()
{
	local deadline st
	deadline=$(($(tl_now_us) + $2 * 1000000))
	while :; do
		st=$(stopped_threads "$1")
		[ -z "$st" ] && return 0
		if (($(tl_now_us) >= deadline)); then
			echo "$st" | head -5 | tr '\n' ' '
			echo "($(echo "$st" | wc -l) threads)"
			return 1
		fi
		tl_sleep 0.05
	done
}

# wait_for SECONDS CMD...: run CMD every 10 ms until it succeeds; returns 1
# after SECONDS (a hang guard: what is waited for takes milliseconds).
wait_for()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		tl_sleep 0.01
	done
}

# wait_blocked PID TID [SECONDS]: wait until thread TID sleeps (state S)
# on two looks in a row; returns 1 if it does not within SECONDS (10).
wait_blocked()
{
	local deadline=$((SECONDS + ${3:-10})) good=0 line
	while ((SECONDS < deadline)); do
		{ read -r line <"/proc/$1/task/$2/stat"; } 2>/dev/null || return 1
		line=${line##*) }
		if [ "${line%% *}" = S ]; then
			good=$((good + 1))
			((good >= 2)) && return 0
		else
			good=0
		fi
		tl_sleep 0.01
	done
	return 1
}

# cpu_ticks PID: utime+stime of the whole process, in clock ticks.
cpu_ticks()
{
	local line f
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return 1; }
	line=${line##*) }
	read -r -a f <<<"$line"
	echo $((f[11] + f[12]))
}

# ---- running threadleak ----

# run_tl OUT ARG...: run threadleak with ARGs under a timeout, stdout to
# OUT, stderr to OUT.err; sets TL_RC.  124 means it hung.
run_tl()
{
	local out=$1
	shift
	timeout -k 5 "$TL_SNAP_TIMEOUT" "$THREADLEAK" "$@" >"$out" 2>"$out.err" </dev/null
	TL_RC=$?
	return 0
}

# snapshot_json PID OUT [ARG...]: threadleak snapshot --json ARG... PID.
snapshot_json()
{
	local pid=$1 out=$2
	shift 2
	run_tl "$out" snapshot --json "$@" "$pid"
}

# rss_of OUT CMD...: CMD (stdout to OUT, stderr to OUT.err) under a hang
# guard of TL_RSS_TIMEOUT seconds (default TL_SNAP_TIMEOUT); sets TL_RC and
# RSS_KB, its peak resident memory in KB (0 when not measured), as the
# kernel reports it to wait4(2), read by testdata/maxrss.
rss_of()
{
	local out=$1
	shift
	rm -f "$out.rss"
	"$TESTDATA/maxrss" "$out.rss" timeout -k 5 "${TL_RSS_TIMEOUT:-$TL_SNAP_TIMEOUT}" \
		"$@" >"$out" 2>"$out.err" </dev/null
	TL_RC=$?
	RSS_KB=$(tail -n 1 "$out.rss" 2>/dev/null)
	case $RSS_KB in '' | *[!0-9]*) RSS_KB=0 ;; esac
}

# check_rss_measure: fails unless rss_of measures dd's 64 MiB buffer as
# that (65536 KB, give or take dd itself): the measure measures.
check_rss_measure()
{
	rss_of "$TL_TMP/dd" dd if=/dev/zero of=/dev/null bs=64M count=1
	((TL_RC == 0)) || fail "dd under maxrss: $(describe_rc $TL_RC): $(first_line "$TL_TMP/dd.err")"
	((RSS_KB >= 65536 && RSS_KB <= 65536 + 32768)) ||
		fail "maxrss measured dd's 64 MiB buffer as ${RSS_KB} KB: not a measure of peak memory"
}

# describe_rc RC: a few words on an exit status.
describe_rc()
{
	case $1 in
	124) echo "hung (killed after ${TL_SNAP_TIMEOUT}s)" ;;
	12[5-7]) echo "could not run (status $1)" ;;
	*) if (($1 >= 128)); then
		echo "crashed (signal $(($1 - 128)))"
	   else
		echo "exit $1"
	   fi ;;
	esac
}

# first_line FILE: the first line of FILE, for messages.
first_line()
{
	head -n 1 "$1" 2>/dev/null | cut -c 1-300
}

# ---- reading JSON snapshots (jq) ----

# snap_valid FILE [PID]: the document is a threadleak snapshot (of PID).
snap_valid()
{
	jq -e --argjson pid "${2:-0}" '
		.format == "threadleak-snapshot" and (.threads | type) == "array" and
		(.version == 1 or (.version == 2 and (.stacks | type) == "array" and
			(.templates | type) == "array" and (.goroutines | type) == "array")) and
		($pid == 0 or .pid == $pid)' "$1" >/dev/null 2>&1
}

# snap_tids FILE: the tids in a snapshot, sorted numerically.
snap_tids()
{
	jq -r '.threads[].tid' "$1" | sort -n
}

# snap_table FILE: one line per thread, tab-separated:
#   tid  state  kind  owner  func1,func2,...   (innermost first)
# A frame without a function shows as "?".
snap_table()
{
	jq -r '.threads[] | [
		(.tid | tostring),
		(.state // "?"),
		(.wait.kind // "null"),
		((.wait.owner // 0) | tostring),
		([.frames[]? | (.function // "?")] | join(","))
	] | @tsv' "$1"
}

# seconds_since START_US [SLACK_S]: seconds (decimal) from START_US (a
# tl_now_us value) to now, plus SLACK_S (integer, default 1).
seconds_since()
{
	local us=$(($(tl_now_us) - $1 + ${2:-1} * 1000000))
	printf '%d.%06d\n' $((us / 1000000)) $((us % 1000000))
}

# check_blocked_sec LABEL FILE MAX: every numeric blocked_sec (of threads
# not in R) lies in [0, MAX]: nothing waited longer than the target lived.
check_blocked_sec()
{
	local label=$1 tid sec
	while read -r tid sec; do
		error "$label: thread $tid: blocked_sec $sec, but the target is only ${3}s old"
	done < <(jq -r --argjson max "$3" '.threads[] |
		select(.state != "R" and (.wait.blocked_sec | type) == "number") |
		select(.wait.blocked_sec < 0 or .wait.blocked_sec > $max) |
		"\(.tid) \(.wait.blocked_sec)"' "$2")
}

# snap_frames FILE: one line per thread: tid state TAB pc:function|...
snap_frames()
{
	jq -r '.threads[] | [
		(.tid | tostring),
		(.state // "?"),
		([.frames[]? | "\(.pc):\(.function // "?")"] | join("|"))
	] | @tsv' "$1"
}

# has_function LIST NAME: NAME is in the comma-separated LIST of function
# names, exactly or as a compiler clone (NAME.constprop.0, NAME.isra.0, ...).
has_function()
{
	local f fs
	IFS=, read -r -a fs <<<"$1"
	for f in "${fs[@]}"; do
		[ "$f" = "$2" ] && return 0
		case $f in "$2".*) return 0 ;; esac
	done
	return 1
}
