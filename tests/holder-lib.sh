# tests/holder-lib.sh: helpers for the tests that hold a thread of the
# target in state D (bash), on top of tests/lib.sh: testdata/holder --once
# keeps its thread "holder" in a vfork (a killable wait no ptrace stop
# reaches, so threadleak waits for it up to its --timeout) until the test
# writes one byte into its FIFO; then the thread prints "released 1" and
# blocks in pause() for good, and its stack unwinds whole (held_in_vfork,
# vfork_holder).  Beside it: NSLEEP threads in nanosleep (sleep_worker) and
# the main thread in sigwaitinfo.
#
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/../holder-lib.sh"
#
#	need_testdata holder
#	start_holder 3          # sets HOLDER_PID, HOLDER_TID, HOLDER_WORKERS ...
#	"$THREADLEAK" snapshot --timeout 600 "$HOLDER_PID" >... &
#	tl=$!; register_pid "$tl"
#	wait_seized "$tl" || error ...       # threadleak traces the holder
#	release_holder; wait_gone "$tl"      # RC: its exit status, or "hung"
#	wait_released || error ...           # ran on, blocked again
#	no_tracer "at the end"
#
# The helpers that check something return 1 (or record an error) and name
# what they saw; start_holder and wait_released fail the test if the
# target misbehaves.

# start_holder NSLEEP: start testdata/holder --once with NSLEEP sleepers on
# a new FIFO.  Sets HOLDER_PID, HOLDER_TID (the thread held in D),
# HOLDER_OUT (its stdout), HOLDER_FIFO, and HOLDER_WORKERS (an array: the
# sleepers' tids, from /proc: every thread but the main one and the holder).
start_holder()
{
	local t
	HOLDER_FIFO=$TL_TMP/holder.fifo
	mkfifo "$HOLDER_FIFO" || fail "cannot make a FIFO in $TL_TMP"
	start_target "$TESTDATA/holder" --once "$HOLDER_FIFO" "$1"
	HOLDER_PID=$TARGET_PID
	HOLDER_OUT=$TARGET_OUT
	HOLDER_TID=
	read -r _ HOLDER_TID < <(grep '^holder ' "$HOLDER_OUT")
	[ -n "$HOLDER_TID" ] || fail "testdata/holder printed no holder line: $(head -c 200 "$HOLDER_OUT")"
	[ "$(proc_state "$HOLDER_PID" "$HOLDER_TID")" = D ] ||
		fail "the holder $HOLDER_TID is not in state D: $(proc_state "$HOLDER_PID" "$HOLDER_TID")"
	HOLDER_WORKERS=()
	for t in $(task_tids "$HOLDER_PID"); do
		[ "$t" = "$HOLDER_PID" ] || [ "$t" = "$HOLDER_TID" ] || HOLDER_WORKERS+=("$t")
	done
	at_least "${#HOLDER_WORKERS[@]}" "$1" "sleepers testdata/holder started"
}

# tracer_of TID: the TracerPid of thread TID of the holder's process
tracer_of()
{
	awk '/^TracerPid:/ { print $2 }' "/proc/$HOLDER_PID/task/$1/status" 2>/dev/null
}

# wait_seized TL: wait (60 s at most, while TL lives) until threadleak TL
# traces the holder; 1 if it never did
wait_seized()
{
	local deadline=$((SECONDS + 60))
	until [ "$(tracer_of "$HOLDER_TID")" = "$1" ]; do
		proc_alive "$1" && ((SECONDS < deadline)) || return 1
		tl_sleep 0.02
	done
	return 0
}

# wait_gone PID: wait (60 s at most) for our child PID to end; sets RC to
# its exit status, or to "hung" (then it was killed) and returns 1
wait_gone()
{
	local deadline=$((SECONDS + 60))
	while proc_alive "$1" && ((SECONDS < deadline)); do
		tl_sleep 0.02
	done
	if proc_alive "$1"; then
		tl_kill_child "$1"
		unregister_pid "$1"
		wait "$1" 2>/dev/null
		RC=hung
		return 1
	fi
	unregister_pid "$1"
	wait "$1"
	RC=$?
	return 0
}

# no_tracer WHAT: no thread of the holder's process is traced or stopped
no_tracer()
{
	local t tr
	for t in $(task_tids "$HOLDER_PID"); do
		tr=$(tracer_of "$t")
		[ "${tr:-0}" = 0 ] || error "$1: thread $t still traced by $tr"
	done
	assert_not_stopped "$HOLDER_PID" "$1"
}

# release_holder: let the held vfork end (its child reads one byte)
release_holder()
{
	printf x >"$HOLDER_FIFO" || fail "cannot write to $HOLDER_FIFO"
}

# wait_released: after release_holder, the holder says so ("released 1")
# within 60 s (else the test fails), then it and the main thread block
# (state S, not stopped) within 30 s (else an error)
wait_released()
{
	local deadline=$((SECONDS + 60))
	until grep -qx "released 1" "$HOLDER_OUT"; do
		((SECONDS < deadline)) || fail "testdata/holder never said the holder was released"
		tl_sleep 0.02
	done
	wait_blocked "$HOLDER_PID" "$HOLDER_TID" 30 ||
		error "the released holder never blocked again (state $(proc_state "$HOLDER_PID" "$HOLDER_TID"))"
	wait_blocked "$HOLDER_PID" "$HOLDER_PID" 30 ||
		error "the holder's main thread is not blocked (state $(proc_state "$HOLDER_PID" "$HOLDER_PID"))"
}

# elapsed_ge START_US SECONDS LABEL: an error unless at least SECONDS
# passed since START_US (tl_now_us)
elapsed_ge()
{
	local us=$(($(tl_now_us) - $1)) min
	min=$(awk -v s="$2" 'BEGIN { printf "%d", s * 1000000 }')
	((us >= min)) || error "$3: ended after $((us / 1000)) ms, before its ${2}s timeout"
}
