#!/bin/bash
# check-killed: `threadleak check` killed (SIGKILL) while its command runs
# must not leave the command hung.  Without the guardian (src/guardian.c)
# the command's exit_group would fail with ENOSYS once nobody answers the
# filter, and a process returning from main with a thread left would stay
# for ever, its leader a zombie.  Here:
#   - a normal run reaps its guardian: no process of it is left;
#   - checkme hold (a worker blocked for ever) under check, check killed:
#     the guardian says so in one line, the command goes on, and once told
#     to return it exits, every thread of it gone, its output complete.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata checkme

# Once check is gone its command is nobody's child here: lib.sh's cleanup
# cannot kill it, so this does (by pid, while it is still checkme).
CMD_PID=
kill_command()
{
	local comm
	[ -n "$CMD_PID" ] && read -r comm <"/proc/$CMD_PID/comm" 2>/dev/null &&
		[ "$comm" = checkme ] && kill -KILL "$CMD_PID" 2>/dev/null
	return 0
}
trap 'tl_rc=$?; kill_command; (exit $tl_rc); tl_cleanup' EXIT

# children PID: the pids of PID's children (every thread's list).
children()
{
	cat /proc/"$1"/task/*/children 2>/dev/null
}

# child_named PID COMM: the child of PID whose comm is COMM.
child_named()
{
	local c comm
	for c in $(children "$1"); do
		read -r comm <"/proc/$c/comm" 2>/dev/null && [ "$comm" = "$2" ] &&
			echo "$c" && return 0
	done
	return 1
}

# gone PID: no live thread of PID is left (gone, or a zombie alone).
gone()
{
	local n
	[ -d "/proc/$1" ] || return 0
	n=$(awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ -z "$n" ] || { ! proc_alive "$1" && ((n <= 1)); }
}

wait_until()	# wait_until SECS CMD...: poll CMD every 10 ms
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		tl_sleep 0.01
	done
}

# start_held: threadleak check -- checkme hold, its stdin a fifo held open
# on fd 7; sets TL_PID, CMD_PID, GUARD_PID.
start_held()
{
	local fifo=$TL_TMP/in$1
	OUT=$TL_TMP/held$1
	mkfifo "$fifo" || fail "cannot make a fifo"
	"$THREADLEAK" check -- "$TESTDATA/checkme" hold <"$fifo" >"$OUT" 2>"$OUT.err" &
	TL_PID=$!
	register_pid "$TL_PID"
	exec 7>"$fifo"
	wait_until 10 has_line "$OUT" ready || fail "checkme hold not ready: $(head -c 300 "$OUT.err")"
	CMD_PID=$(child_named "$TL_PID" checkme) || fail "no checkme child of check $TL_PID"
	GUARD_PID=$(child_named "$TL_PID" tl-guardian) ||
		fail "check $TL_PID has no guardian child: $(children "$TL_PID")"
}

# ---- a normal run: the leak is reported, the guardian reaped ----
start_held 1
echo go >&7
exec 7>&-
unregister_pid "$TL_PID"
wait "$TL_PID"
rc=$?
((rc == 1)) || error "normal run: exit $rc, expected 1 (a leak): $(head -c 300 "$OUT.err")"
grep -q '^threadleak: 1 leaked thread in 1 process$' "$OUT.err" ||
	error "normal run: no leak report: $(head -c 300 "$OUT.err")"
[ -e "/proc/$GUARD_PID" ] && error "normal run: the guardian $GUARD_PID is left"
grep -q 'runs on, unchecked' "$OUT.err" && error "normal run: the guardian spoke"

# ---- check killed: the command runs on and ends ----
start_held 2
unregister_pid "$TL_PID"
kill -KILL "$TL_PID"
wait "$TL_PID" 2>/dev/null
wait_until 10 grep -q 'runs on, unchecked' "$OUT.err" ||
	error "killed: the guardian said nothing: $(head -c 300 "$OUT.err")"
proc_alive "$CMD_PID" || error "killed: the command died with check"
echo go >&7
exec 7>&-
if ! wait_until 10 gone "$CMD_PID"; then
	error "killed: the command did not end: $(grep -E '^(State|Threads)' "/proc/$CMD_PID/status" | tr '\n' ' ')"
fi
has_line "$OUT" "done hold" || error "killed: the command's output is cut: $(cat "$OUT")"
wait_until 10 gone "$GUARD_PID" || error "killed: the guardian $GUARD_PID did not end"

finish
