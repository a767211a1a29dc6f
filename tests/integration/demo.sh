#!/bin/bash
# demo: the bundled leaky server (testdata/demo, `make demo`) is shown as
# the README says: >= 20 leaked workers waiting on a condvar in
# handle_request -> wait_for_reply with one identical stack, 3 log_reader
# threads in read, accept_loop in accept, stats_spinner running.  The demo
# keeps leaking threads while it is captured.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata demo

TL_READY_TIMEOUT=${TL_DEMO_READY_TIMEOUT:-90}	# 20 leaks at 100 ms, on a slow VM
start_target "$TESTDATA/demo"

json=$TL_TMP/demo.json
snapshot_json "$TARGET_PID" "$json"
assert_not_stopped "$TARGET_PID" "snapshot of the demo"
proc_alive "$TARGET_PID" || fail "the demo died"
# whole: every stack of the demo unwinds (blocked ones from /proc, the
# spinner in a stop), however many threads it adds meanwhile
((TL_RC == 0)) || fail "snapshot of the demo: $(describe_rc $TL_RC), expected 0 (whole): $(first_line "$json.err"); $(jq -c '[.threads[] | select(.partial or .error) | {tid, state, error}]' "$json" 2>/dev/null | cut -c 1-300)"
snap_valid "$json" "$TARGET_PID" || fail "not a snapshot of the demo: $(head -c 200 "$json")"
jq -e '.partial == false and all(.threads[]; .partial == false)' "$json" >/dev/null ||
	error "snapshot of the demo: exit 0 but marked partial: $(jq -c '{partial, note}' "$json")"

# A worker the demo made during the capture may not have reached its
# condvar yet: it is running, or waits for reply_lock, in wait_for_reply.
# Only the newest two workers (highest tids: a new worker every 100 ms, far
# fewer than pid_max) may be caught so; every other must be in the condvar.
newest=$(snap_table "$json" | awk -F'\t' '$5 ~ /(^|,)wait_for_reply(,|$)/ {print $1}' | sort -n | tail -2 | tr '\n' ' ')
workers=0 worker_sig= readers=0 acceptors=0 spinners=0
while IFS=$'\t' read -r tid state kind owner funcs; do
	if has_function "$funcs" wait_for_reply; then
		workers=$((workers + 1))
		has_function "$funcs" handle_request ||
			error "worker $tid: handle_request not in its stack [$funcs]"
		if [ "$kind" != condvar ]; then
			case " $newest:$kind" in
			*" $tid "*:running | *" $tid "*:mutex) ;;
			*) error "worker $tid: kind $kind, expected condvar (or running or mutex in one of the newest two workers: $newest)" ;;
			esac
			continue
		fi
		if [ -z "$worker_sig" ]; then
			worker_sig=$funcs
		elif [ "$funcs" != "$worker_sig" ]; then
			error "worker $tid: stack [$funcs] differs from another worker's [$worker_sig]"
		fi
	elif has_function "$funcs" log_reader; then
		readers=$((readers + 1))
		[ "$kind" = read ] || error "log_reader $tid: kind $kind, expected read"
	elif has_function "$funcs" accept_loop; then
		acceptors=$((acceptors + 1))
		[ "$kind" = accept ] || error "accept_loop $tid: kind $kind, expected accept"
	elif has_function "$funcs" stats_spinner; then
		spinners=$((spinners + 1))
		[ "$kind" = running ] || error "stats_spinner $tid: kind $kind, expected running"
	fi
done < <(snap_table "$json")

((workers >= 20)) || error "$workers leaked workers in wait_for_reply, expected at least 20"
((readers == 3)) || error "$readers log_reader threads, expected 3"
((acceptors == 1)) || error "$acceptors accept_loop threads, expected 1"
((spinners == 1)) || error "$spinners stats_spinner threads, expected 1"

# the grouped text shows the leak as one group of >= 20
out=$TL_TMP/demo.txt
run_tl "$out" snapshot "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "text snapshot of the demo"
((TL_RC == 0)) || error "text snapshot of the demo: $(describe_rc $TL_RC), expected 0 (whole): $(first_line "$out.err")"
grep -Eq '(^|[^0-9.])([2-9][0-9]|1[0-9][0-9]|200) threads' "$out" ||
	error "text snapshot: no group of 20 or more threads"
n=$(grep -c wait_for_reply "$out")
((n >= 1 && n < 20)) ||
	error "text snapshot: wait_for_reply on $n lines: the workers are not grouped"
grep -q '^partial' "$out" && error "text snapshot: says it is partial: $(grep -m1 '^partial' "$out")"

finish
