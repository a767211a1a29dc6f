#!/bin/bash
# signals: kill threadleak with SIGINT or SIGKILL at a random moment
# (0-50 ms in) while it captures a 2000-thread target, 20 times each.
# Within 2 s no thread of the target may be left in t/T, and the target
# keeps running.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata busy

ROUNDS=${TL_SIGNAL_ROUNDS:-20}
THREADS=${TL_SIGNAL_THREADS:-2000}

# a background job of a non-interactive shell starts with SIGINT ignored:
# give threadleak the default disposition, as it has from a terminal
if env --default-signal=INT true 2>/dev/null; then
	DEFSIG=(env --default-signal=INT)
else
	DEFSIG=()
	note "env --default-signal unsupported: threadleak starts with SIGINT ignored"
fi

start_target "$TESTDATA/busy" 1 "$THREADS"
ntasks=$(task_tids "$TARGET_PID" | wc -l)
((ntasks > THREADS)) || fail "the target has $ntasks threads, expected $((THREADS + 2))"

# exited_within PID SECONDS: wait for our child PID to exit (a zombie).
exited_within()
{
	local deadline=$((SECONDS + $2))
	while proc_alive "$1"; do
		((SECONDS <= deadline)) || return 1
		tl_sleep 0.01
	done
	return 0
}

interrupted=0
for sig in INT KILL; do
	for ((i = 0; i < ROUNDS; i++)); do
		printf -v delay '0.%03d' $((RANDOM % 51))
		# every other round stops all 2000 threads (--stop): the case
		# where a killed tracer holds the most
		mode=()
		((i % 2)) || mode=(--stop)
		label="SIG$sig after ${delay}s (round $i${mode:+ ${mode[*]}})"
		"${DEFSIG[@]}" "$THREADLEAK" snapshot --json "${mode[@]}" "$TARGET_PID" \
			>/dev/null 2>"$TL_TMP/tl.err" </dev/null &
		tl=$!
		register_pid "$tl"
		tl_sleep "$delay"
		{
			signal_child "$sig" "$tl"
			if ! exited_within "$tl" 20; then
				error "$label: threadleak still running 20 s after the signal"
				tl_kill_child "$tl"
			fi
			unregister_pid "$tl"
			wait "$tl"
			rc=$?
		} 2>/dev/null	# no "Killed" job notices
		((rc != 0)) && interrupted=$((interrupted + 1))
		# SIGINT must end it cleanly, not by a crash
		if [ "$sig" = INT ] && ((rc > 128)) && ((rc != 130)); then
			error "$label: threadleak ended with $(describe_rc $rc)"
		fi
		if ! st=$(wait_not_stopped "$TARGET_PID" 2); then
			error "$label: target threads still stopped 2 s later: $st"
			# do not let one failure cascade into every later round
			signal_child CONT "$TARGET_PID"
			wait_not_stopped "$TARGET_PID" 5 >/dev/null
		fi
		proc_alive "$TARGET_PID" || fail "$label: the target died"
	done
done
note "$interrupted of $((2 * ROUNDS)) runs were cut short by the signal"

# the target still runs: its spinner still uses CPU, its threads are all there
t0=$(cpu_ticks "$TARGET_PID")
tl_sleep 1
t1=$(cpu_ticks "$TARGET_PID")
((t1 > t0)) || error "the target stopped running (cpu ticks $t0 -> $t1)"
n=$(task_tids "$TARGET_PID" | wc -l)
((n == ntasks)) || error "the target had $ntasks threads, now $n"
assert_not_stopped "$TARGET_PID" "at the end"
finish
