#!/bin/bash
# undisturbed: a snapshot must not disturb the target (DESIGN.md principle
# 1): no blocking call of testdata/waits may fail with EINTR because of it.
# epoll_wait and sigtimedwait return EINTR when their thread is stopped by
# ptrace (gdb and eu-stack both do this); waits reports any such failure on
# its stdout as "eintr TID FUNCTION".  Every output mode and unwinder is
# tried, on the -O2, the -O0 and the frame-pointer (-fno-omit-frame-pointer)
# builds.  No blocked thread may even run because of a snapshot: its
# schedstat run count must not change (the spinner is left out), and the
# snapshot must be whole (exit 0): code that keeps its frame in rbp is
# unwound without the register (src/stacks/fpguess.c).
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata waits waits-O0 waits-fp

# blocked_run_counts PID: "tid runs" for every thread not in state R.
blocked_run_counts()
{
	local t st
	for t in /proc/$1/task/*; do
		read -r st <"$t/stat" 2>/dev/null || continue
		st=${st##*) }
		[ "${st%% *}" = R ] && continue
		read -r _ _ runs <"$t/schedstat" 2>/dev/null || continue
		echo "${t##*/} $runs"
	done
}

# all_blocked: every thread of the target but the spinner sleeps (S), on
# two looks in a row each
all_blocked()
{
	local tid
	for tid in "${BLOCKED[@]}"; do
		wait_blocked "$TARGET_PID" "$tid" 60 || return 1
	done
}

for build in waits waits-O0 waits-fp; do
	start_target "$TESTDATA/$build"
	# the threads that block ("expect TID KIND FUNCTION", the spinner's
	# kind is running)
	BLOCKED=($(awk '$1 == "expect" && $3 != "running" { print $2 }' "$TARGET_OUT"))
	((${#BLOCKED[@]} >= 20)) || fail "$build: only ${#BLOCKED[@]} blocking threads announced"
	all_blocked || fail "$build: not every thread blocked"
	seen=0
	for args in "--json --unwinder=libdw" "--json --unwinder=libunwind" "" "--threads"; do
		label="$build: snapshot${args:+ $args}"
		runs_before=$(blocked_run_counts "$TARGET_PID")
		n=$(grep -c . <<<"$runs_before")
		((n == ${#BLOCKED[@]})) ||
			error "$label: run counts of $n blocked threads before the snapshot, expected ${#BLOCKED[@]}"
		# shellcheck disable=SC2086
		run_tl "$TL_TMP/out" snapshot $args "$TARGET_PID"
		((TL_RC == 0)) ||
			error "$label: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/out.err")"
		assert_not_stopped "$TARGET_PID" "$label"
		# A disturbed thread writes its eintr line, then blocks again:
		# once all are blocked, every such line is written.
		all_blocked || error "$label: not every thread blocked again after the snapshot"
		runs_after=$(blocked_run_counts "$TARGET_PID")
		if [ "$runs_before" != "$runs_after" ]; then
			error "$label: blocked threads ran during the snapshot: $(diff <(echo "$runs_before") <(echo "$runs_after") | grep '^>' | tr '\n' ' ')"
		fi
		n=$(grep -c '^eintr' "$TARGET_OUT")
		if ((n > seen)); then
			error "$label: EINTR in $(grep '^eintr' "$TARGET_OUT" | tail -n $((n - seen)) | cut -d' ' -f3 | sort -u | tr '\n' ' ')(a thread was stopped in a call that does not restart)"
			seen=$n
		fi
	done
	proc_alive "$TARGET_PID" || error "$build: the target died"
	kill_target "$TARGET_PID"
done
finish
