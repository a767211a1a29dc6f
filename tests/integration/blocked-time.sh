#!/bin/bash
# blocked-time: wait.blocked_sec ("waiting 3s") is plausible.  A thread
# cannot have been blocked for longer than its process has existed, and a
# thread of testdata/waits that has been stuck since "ready" has been
# blocked at least since then.  One snapshot per target, so that no earlier
# capture has woken the threads.  The demo adds threads created during the
# capture (a thread that has not run yet is no reason for a huge value).
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata waits demo

# check_lower LABEL FILE MIN: blocked_sec >= MIN for threads not in R.
check_lower()
{
	local tid sec
	while read -r tid sec; do
		error "$1: thread $tid: blocked_sec $sec, but it has been blocked for at least ${3}s"
	done < <(jq -r --argjson min "$3" '.threads[] |
		select(.state != "R" and (.wait.blocked_sec | type) == "number") |
		select(.wait.blocked_sec < $min) |
		"\(.tid) \(.wait.blocked_sec)"' "$2")
}

# snapshot_checked LABEL JSON: snapshot the target; fail unless it is
# whole (exit 0, partial false: every thread of these targets unwinds)
snapshot_checked()
{
	snapshot_json "$TARGET_PID" "$2"
	assert_not_stopped "$TARGET_PID" "$1"
	((TL_RC == 0)) ||
		fail "$1: $(describe_rc $TL_RC), expected 0 (whole): $(first_line "$2.err"); $(jq -c '[.threads[] | select(.partial or .error) | {tid, state, error}]' "$2" 2>/dev/null | cut -c 1-300)"
	snap_valid "$2" "$TARGET_PID" || fail "$1: not a snapshot of $TARGET_PID"
	jq -e '.partial == false and all(.threads[]; .partial == false)' "$2" >/dev/null ||
		error "$1: exit 0 but marked partial: $(jq -c '{partial, note}' "$2")"
}

for unwinder in libdw libunwind; do
	label="waits --unwinder=$unwinder"
	t0=$(tl_now_us)
	start_target "$TESTDATA/waits"
	# Every thread blocked from here on: the others are stuck before
	# "ready", main once seen blocked (however late a loaded machine
	# runs it after "ready")
	wait_blocked "$TARGET_PID" "$TARGET_PID" || fail "waits: main thread never blocked"
	t_ready=$(tl_now_us)
	tl_sleep 2
	t_snap=$(tl_now_us)
	json=$TL_TMP/waits-$unwinder.json
	snapshot_checked "$label" "$json"
	check_blocked_sec "$label" "$json" "$(seconds_since "$t0" 1)"
	# blocked since then, give or take a second
	ms=$(((t_snap - t_ready) / 1000 - 1000))
	((ms > 0)) || ms=0
	check_lower "$label" "$json" "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	n=$(jq '[.threads[] | select(.state != "R") | .wait.blocked_sec | numbers] | length' "$json")
	((n > 0)) || error "$label: no blocked thread has a blocked_sec"
	kill_target "$TARGET_PID"
done

TL_READY_TIMEOUT=${TL_DEMO_READY_TIMEOUT:-90}
t0=$(tl_now_us)
start_target "$TESTDATA/demo"
json=$TL_TMP/demo.json
snapshot_checked "demo" "$json"
check_blocked_sec "demo" "$json" "$(seconds_since "$t0" 1)"
kill_target "$TARGET_PID"

finish
