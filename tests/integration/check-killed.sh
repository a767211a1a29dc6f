#!/bin/bash
# check-killed: `threadleak check` killed (SIGKILL) while its command runs
# must not leave the command hung.  Without the guardian (src/check/guardian.c)
# the command's exit_group would fail with ENOSYS once nobody answers the
# filter, and a process returning from main with a thread left would stay
# for ever, its leader a zombie.  Each run is under testdata/reaper, a
# subreaper that logs how every process it reaps ended (the command and
# the guardian come to it when check dies).
#   - a normal run: the leak is reported, check reaps its guardian;
#   - check killed while checkme hold (a worker blocked for ever) runs:
#     the guardian says so in one line, the command goes on, and once told
#     to return it exits 0 with its output complete; the guardian ends;
#   - check killed while it holds the command's exit (a long --grace): the
#     guardian answers the held call, and the command exits 0.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata checkme reaper

# Once check is gone, its command and guardian are not this shell's
# children: lib.sh's cleanup cannot kill them, so this does (by pid,
# while each still is what it was).
CMD_PID= GUARD_PID=
kill_left()
{
	local comm
	[ -n "$CMD_PID" ] && { read -r comm <"/proc/$CMD_PID/comm"; } 2>/dev/null &&
		[ "$comm" = checkme ] && kill -KILL "$CMD_PID" 2>/dev/null
	[ -n "$GUARD_PID" ] && { read -r comm <"/proc/$GUARD_PID/comm"; } 2>/dev/null &&
		[ "$comm" = tl-guardian ] && kill -KILL "$GUARD_PID" 2>/dev/null
	return 0
}
at_exit kill_left

# child_named PID COMM: the child of PID whose comm is COMM.
child_named()
{
	local c comm
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		{ read -r comm <"/proc/$c/comm"; } 2>/dev/null && [ "$comm" = "$2" ] &&
			echo "$c" && return 0
	done
	return 1
}

found_children()	# sets CMD_PID and GUARD_PID from check's children
{
	CMD_PID=$(child_named "$TL_PID" checkme) &&
		GUARD_PID=$(child_named "$TL_PID" tl-guardian)
}

# start_held N [CHECK-ARG...]: reaper LOG threadleak check ARG... --
# checkme hold, its stdin a fifo held open on fd 7; once it is ready, sets
# REAPER_PID, TL_PID, CMD_PID, GUARD_PID, OUT and LOG.
start_held()
{
	local n=$1 fifo=$TL_TMP/in$1
	shift
	OUT=$TL_TMP/held$n
	LOG=$TL_TMP/reaper$n.log
	mkfifo "$fifo" || fail "cannot make a fifo"
	"$TESTDATA/reaper" "$LOG" "$THREADLEAK" check "$@" -- "$TESTDATA/checkme" hold \
		<"$fifo" >"$OUT" 2>"$OUT.err" &
	REAPER_PID=$!
	register_pid "$REAPER_PID"
	exec 7>"$fifo"
	wait_for 60 has_line "$OUT" ready || fail "run $n: checkme hold not ready: $(head -c 300 "$OUT.err")"
	TL_PID=$(awk '/^start /{ print $2 }' "$LOG")
	[ -n "$TL_PID" ] || fail "run $n: the reaper logged no start"
	wait_for 60 found_children ||
		fail "run $n: check $TL_PID has no checkme and tl-guardian children: $(cat /proc/"$TL_PID"/task/*/children)"
}

# end_reaper N: waits (60 s at most: a hang guard) for the reaper, so for
# everything that came to it.
end_reaper()
{
	if ! wait_for 60 eval '! proc_alive "$REAPER_PID"'; then
		error "run $1: not everything ended: $(grep -E '^(State|Threads)' "/proc/$CMD_PID/status" 2>/dev/null | tr '\n' ' ')"
		kill_left
	fi
	unregister_pid "$REAPER_PID"
	wait "$REAPER_PID" 2>/dev/null
}

logged()	# logged N PID HOW: the reaper reaped PID, ended HOW
{
	grep -qx "reaped $2 $3" "$LOG" ||
		error "run $1: pid $2 did not end with '$3': $(tr '\n' ' ' <"$LOG")"
}

# ---- a normal run: the leak is reported, the guardian reaped ----
start_held 1
echo go >&7
exec 7>&-
end_reaper 1
logged 1 "$TL_PID" "exit 1"
grep -q "reaped $GUARD_PID " "$LOG" && error "run 1: the guardian was left to the reaper"
[ -e "/proc/$GUARD_PID" ] && error "run 1: the guardian $GUARD_PID is left"
grep -q '^threadleak: 1 leaked thread in 1 process$' "$OUT.err" ||
	error "run 1: no leak report: $(head -c 300 "$OUT.err")"
grep -q 'runs on, unchecked' "$OUT.err" && error "run 1: the guardian spoke"

# ---- check killed while the command runs ----
start_held 2
kill -KILL "$TL_PID"
wait_for 60 grep -q 'runs on, unchecked' "$OUT.err" ||
	error "run 2: the guardian said nothing: $(head -c 300 "$OUT.err")"
proc_alive "$CMD_PID" || error "run 2: the command died with check"
echo go >&7
exec 7>&-
end_reaper 2
logged 2 "$TL_PID" "signal 9"
logged 2 "$CMD_PID" "exit 0"
logged 2 "$GUARD_PID" "exit 0"
has_line "$OUT" "done hold" || error "run 2: the command's output is cut: $(cat "$OUT")"

# ---- check killed while it holds the command's exit ----
in_exit_group()
{
	local nr
	read -r nr _ <"/proc/$CMD_PID/syscall" 2>/dev/null && [ "$nr" = 231 ]
}
# (the grace, 600 s, outlasts any wait here: check is killed during it,
# before any report)
start_held 3 --grace 600
echo go >&7
exec 7>&-
wait_for 60 in_exit_group || error "run 3: the command's exit was not held"
kill -KILL "$TL_PID"
end_reaper 3
logged 3 "$CMD_PID" "exit 0"
logged 3 "$GUARD_PID" "exit 0"
grep -q 'runs on, unchecked' "$OUT.err" || error "run 3: the guardian said nothing: $(head -c 300 "$OUT.err")"
grep -q 'leaked thread' "$OUT.err" && error "run 3: a report, though check was killed during the grace: $(head -c 300 "$OUT.err")"
has_line "$OUT" "done hold" || error "run 3: the command's output is cut: $(cat "$OUT")"

finish
