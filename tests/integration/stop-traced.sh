#!/bin/bash
# stop-traced: snapshot --stop of a process one of whose threads another
# tracer holds (strace -p on that thread alone: the process's leader is
# not traced, so the capture goes on) names that tracer.  testdata/waits,
# strace attached to one of its condvar threads: exit 1 (partial), that
# thread's error "traced by pid N (strace): stack not captured" (JSON and
# text), the header's partial line "thread TID: traced by pid N
# (strace)...", every other thread captured whole; with every thread
# traced (strace -f -p PID) the capture is refused naming the tracer.
# Nothing left stopped once strace is gone.
. "$(dirname "$0")/../lib.sh"

need_cmd jq strace
need_threadleak
need_testdata waits

start_target "$TESTDATA/waits"
pid=$TARGET_PID
tid=$(awk '$1 == "expect" && $3 == "condvar" { print $2; exit }' "$TARGET_OUT")
[ -n "$tid" ] || fail "waits printed no condvar thread"

# strace_on ARG...: strace -o /dev/null ARG... in the background; sets SP
strace_on()
{
	strace -o /dev/null "$@" </dev/null 2>"$TL_TMP/strace.err" &
	SP=$!
	register_pid "$SP"
}
# traced_by TID PID: TID's TracerPid is PID
traced_by()
{
	local v
	v=$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ "$v" = "$2" ]
}
# strace_off: strace detaches (SIGTERM), and is reaped
strace_off()
{
	kill -TERM "$SP" 2>/dev/null
	unregister_pid "$SP"
	wait "$SP" 2>/dev/null
	wait_not_stopped "$pid" 10 >/dev/null || error "waits left stopped after strace detached"
}

# ---- one thread traced ----
strace_on -p "$tid"
wait_for 10 traced_by "$tid" "$SP" || fail "strace did not attach to thread $tid: $(head -c 300 "$TL_TMP/strace.err")"
comm=$(cat "/proc/$SP/comm")
snapshot_json "$pid" "$TL_TMP/a.json" --stop
((TL_RC == 1)) || error "--stop, one thread traced: $(describe_rc $TL_RC), expected 1 (partial): $(first_line "$TL_TMP/a.json.err")"
got=$(jq -r --argjson t "$tid" '.threads[] | select(.tid == $t) | .error // "null"' "$TL_TMP/a.json")
[ "$got" = "traced by pid $SP ($comm): stack not captured" ] ||
	error "--stop: thread $tid's error is '$got', expected it to name its tracer, pid $SP ($comm)"
others=$(jq -r --argjson t "$tid" '[.threads[] | select(.tid != $t and .partial)] | length' "$TL_TMP/a.json")
[ "$others" = 0 ] || error "--stop: $others threads not traced by strace are partial too"
run_tl "$TL_TMP/a.txt" snapshot --stop "$pid"
grep -q "^partial: thread $tid: traced by pid $SP ($comm)" "$TL_TMP/a.txt" ||
	error "--stop text: no header line 'partial: thread $tid: traced by pid $SP ($comm)': $(grep -m1 '^partial' "$TL_TMP/a.txt")"
grep -q "\[partial: traced by pid $SP ($comm): stack not captured\]" "$TL_TMP/a.txt" ||
	error "--stop text: thread $tid's group does not name its tracer"
strace_off

# ---- every thread traced ----
strace_on -f -p "$pid"
wait_for 10 traced_by "$pid" "$SP" || fail "strace -f did not attach to $pid: $(head -c 300 "$TL_TMP/strace.err")"
snapshot_json "$pid" "$TL_TMP/b.json" --stop
((TL_RC == 2)) || error "--stop, every thread traced: $(describe_rc $TL_RC), expected 2"
grep -q "traced by pid $SP ($comm)" "$TL_TMP/b.json.err" ||
	error "--stop, every thread traced: the message does not name pid $SP ($comm): $(first_line "$TL_TMP/b.json.err")"
strace_off

assert_not_stopped "$pid"
kill_target "$pid"
finish
