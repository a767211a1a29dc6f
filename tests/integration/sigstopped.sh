#!/bin/bash
# sigstopped: a process stopped by a signal (SIGSTOP, as job control's
# SIGTSTP), not by a tracer, is shown as stopped, and its threads' waits
# are not measured from the stop:
#   - the text summary says it is stopped by a signal, --threads shows
#     each thread in state T, the JSON says "T" for each;
#   - no thread has a blocked time: each ran last to stop, so the time
#     since it last ran is the stop's, not its wait's;
#   - with --stop too; the process is left as it was (stopped: threadleak
#     does not continue it), and once the test continues it, it runs on
#     (its spinner's CPU time grows) and is no longer said to be stopped.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata busy

start_target "$TESTDATA/busy" 1 1
P=$TARGET_PID
# Never left stopped: continued before it is killed (by pid, at the exit).
at_exit "signal_child CONT $P"

all_stopped()	# every thread of P in state T
{
	local n
	n=$(stopped_threads "$P" | grep -c ':T$')
	((n == $(task_tids "$P" | wc -l)))
}

signal_child STOP "$P" || fail "cannot stop busy $P"
wait_for 30 all_stopped || fail "busy $P not stopped 30 s after SIGSTOP: $(stopped_threads "$P" | tr '\n' ' ')"
nthreads=$(task_tids "$P" | wc -l)

for mode in "" --stop; do
	what="snapshot${mode:+ $mode}"
	run_tl "$TL_TMP/text" snapshot $mode "$P"
	((TL_RC == 0)) || error "$what: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/text.err")"
	sed -n 2p "$TL_TMP/text" | grep -q '^stopped by a signal (SIGSTOP or job control' ||
		error "$what: the summary does not say it is stopped: $(head -n 3 "$TL_TMP/text" | tr '\n' '|')"
	grep -q '  waiting ' "$TL_TMP/text" &&
		error "$what: a wait measured from the stop: $(grep -m1 '  waiting ' "$TL_TMP/text")"

	snapshot_json "$P" "$TL_TMP/json" $mode
	((TL_RC == 0)) || error "$what --json: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/json.err")"
	snap_valid "$TL_TMP/json" "$P" || { error "$what --json: not a snapshot of $P"; continue; }
	n=$(jq '[.threads[] | select(.state == "T")] | length' "$TL_TMP/json")
	((n == nthreads)) || error "$what --json: $n of $nthreads threads in state T: $(snap_table "$TL_TMP/json" | cut -f1-3 | tr '\n' ' ')"
	timed=$(jq -r '.threads[] | select((.wait.blocked_sec | type) == "number") | "\(.tid):\(.wait.blocked_sec)"' "$TL_TMP/json")
	[ -z "$timed" ] || error "$what --json: blocked times measured from the stop: $timed"

	# left as it was: stopped by its signal, traced by nobody
	all_stopped || error "$what: busy $P no longer stopped: $(stopped_threads "$P" | tr '\n' ' ')"
	grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/"$P"/task/*/status && error "$what: busy $P left traced"
done

run_tl "$TL_TMP/threads" snapshot --threads "$P"
n=$(grep -c '^thread [0-9]* ".*" state T ' "$TL_TMP/threads")
((n == nthreads)) || error "--threads: $n of $nthreads threads shown in state T: $(grep '^thread ' "$TL_TMP/threads" | tr '\n' '|')"

# Continued (we stopped it): it runs on, and is no longer said stopped.
signal_child CONT "$P" || fail "cannot continue busy $P"
st=$(wait_not_stopped "$P" 30) || fail "busy $P still stopped 30 s after SIGCONT: $st"
t0=$(cpu_ticks "$P")
ran_on() { (($(cpu_ticks "$P") > t0)); }
wait_for 60 ran_on || error "busy $P did not run on after SIGCONT (CPU time $t0 ticks)"
run_tl "$TL_TMP/after" snapshot "$P"
((TL_RC == 0)) || error "after SIGCONT: $(describe_rc "$TL_RC")"
grep -q '^stopped by a signal' "$TL_TMP/after" && error "after SIGCONT: still said stopped"
proc_alive "$P" || error "busy $P died"

finish
