#!/bin/bash
# modes-agree: capturing without stopping (the default) and the all-stop
# cut (--stop) find the same groups on the testdata programs (waits at -O2,
# -O0 and with frame pointers, demo): the same wait kinds with the same
# stacks, the same number of threads in each.  fpstale (frame-pointer code
# over a dead frame) gets the same stack, without a stop.  Running threads
# are left out (they move between the two snapshots).
#
# Agreement alone would pass two modes wrong alike, so each snapshot is
# also checked against sources outside threadleak: what testdata/waits
# says of each thread (kind, function, mutex owner), /proc's threads, where
# the man page says a stack ends, gdb's backtraces (all three waits), the stack
# fpstale's source describes, and demo's three log readers and acceptor.
. "$(dirname "$0")/../lib.sh"
. "$TL_ROOT/tests/expect-lib.sh"

need_cmd jq
need_threadleak
need_testdata waits waits-O0 waits-fp fpstale demo

# groups JSON: one line "count<TAB>kind<TAB>f1|f2|..." per group, sorted
groups()
{
	jq -r '[.threads[] | select(.state != "R") |
		"\(.wait.kind)\t\([.frames[].function // "?"] | join("|"))"] |
		group_by(.) | map("\(length)\t\(.[0])") | .[]' "$1" | sort
}

# capture LABEL: $TL_TMP/LABEL-gentle.json and LABEL-stop.json, both whole
# (exit 0); returns 1 when either is missing
capture()
{
	local label=$1 a=$TL_TMP/$1-gentle.json b=$TL_TMP/$1-stop.json
	snapshot_json "$TARGET_PID" "$a"
	((TL_RC == 0)) || { error "$label: default mode $(describe_rc $TL_RC): $(first_line "$a.err")"; return 1; }
	snapshot_json "$TARGET_PID" "$b" --stop
	((TL_RC == 0)) || { error "$label: --stop $(describe_rc $TL_RC): $(first_line "$b.err")"; return 1; }
	assert_not_stopped "$TARGET_PID" "$label"
	snap_valid "$a" "$TARGET_PID" && snap_valid "$b" "$TARGET_PID" ||
		{ error "$label: not snapshots of $TARGET_PID"; return 1; }
	return 0
}

# only_running_stopped LABEL JSON: the default mode stopped no thread that
# was not running
only_running_stopped()
{
	local bad
	bad=$(jq -r '[.threads[] | select(.stopped and .state != "R") | "\(.tid) (\(.state))"] | join(" ")' "$2") ||
		{ error "$1: cannot read $2"; return; }
	[ -z "$bad" ] || error "$1: default mode stopped threads that were not running: $bad"
}

check()
{
	local label=$1 a=$TL_TMP/$1-gentle.json b=$TL_TMP/$1-stop.json
	capture "$label" || return
	groups "$a" >"$a.groups"
	groups "$b" >"$b.groups"
	at_least "$(wc -l <"$a.groups")" 10 "$label: groups of blocked threads compared"
	diff -u "$a.groups" "$b.groups" >"$TL_TMP/$label.diff" ||
		error "$label: the modes disagree: $(head -c 600 "$TL_TMP/$label.diff")"
	only_running_stopped "$label" "$a"
	wx_check "$label default mode" "$a" "$TARGET_PID"
	wx_check "$label --stop" "$b" "$TARGET_PID"
}

# -O0 and -fno-omit-frame-pointer code keep their frames in rbp
for build in waits waits-O0 waits-fp; do
	start_target "$TESTDATA/$build"
	wx_parse "$TARGET_OUT"
	wx_settle "$TARGET_PID"
	check $build
	# gdb, frame for frame: at -O2 that includes the functions of the C
	# library that ended in a tail call (sem_wait, pthread_join, waitpid,
	# sigwaitinfo), called from the program through the PLT
	for m in gentle stop; do
		[ -s "$TL_TMP/$build-$m.json" ] &&
			gdb_frames "$build $m" "$TL_TMP/$build-$m.json" "$TARGET_PID" 20
	done
	kill_target "$TARGET_PID"
done

# frame-pointer code whose locals hold a dead frame: the frame base
# guessed without a stop must not take it for the live one.  Its source
# says: read, blocked_read, outer, start_thread, clone3.
start_target "$TESTDATA/fpstale"
capture fpstale && {
	a=$TL_TMP/fpstale-gentle.json b=$TL_TMP/fpstale-stop.json
	stack() { jq -r --arg n "$2" '.threads[] | select(.name == $n) | [.frames[].function] | join(",")' "$1"; }
	n=0
	for name in stale stale-ind; do
		sa=$(stack "$a" $name) sb=$(stack "$b" $name)
		[ "$sa" = "$sb" ] || error "fpstale $name: default mode [$sa], --stop [$sb]"
		for s in "$sa" "$sb"; do
			[[ $s == *",blocked_read,outer,start_thread,__clone3" ]] && [[ $s != *deep* ]] ||
				error "fpstale $name: expected ...,blocked_read,outer,start_thread,__clone3 and no deep*, got [$s]"
		done
		n=$((n + 1))
	done
	at_least "$n" 2 "fpstale: threads compared"
	[ "$(jq .threads_stopped "$a")" = 0 ] ||
		error "fpstale: default mode stopped $(jq .threads_stopped "$a") threads, expected none"
	for m in gentle stop; do
		f=$TL_TMP/fpstale-$m.json
		[ "$(snap_tids "$f" | tr '\n' ' ')" = "$(task_tids "$TARGET_PID" | tr '\n' ' ')" ] ||
			error "fpstale $m: threads [$(snap_tids "$f" | tr '\n' ' ')], /proc has [$(task_tids "$TARGET_PID" | tr '\n' ' ')]"
		stack_ends "fpstale $m" "$f" "$TARGET_PID"
	done
}
kill_target "$TARGET_PID"

# demo leaks a worker every 100 ms: compare only the groups that do not
# grow, and their size as demo's source has it: three log readers blocked
# reading pipes, one acceptor
start_target "$TESTDATA/demo"
n=0
for d in /proc/"$TARGET_PID"/task/[0-9]*; do
	{ read -r comm <"$d/comm"; } 2>/dev/null || continue
	case $comm in
	log-reader | acceptor)
		wait_blocked "$TARGET_PID" "${d##*/}" 60 || fail "demo: $comm thread ${d##*/} never blocked"
		n=$((n + 1)) ;;
	esac
done
((n == 4)) || fail "demo: $n log-reader and acceptor threads in /proc, its source starts 4"
capture demo && {
	a=$TL_TMP/demo-gentle.json b=$TL_TMP/demo-stop.json
	for f in "log_reader read 3" "accept_loop accept 1"; do
		set -- $f
		for m in gentle stop; do
			got=$(jq -r --arg f "$1" '[.threads[] | select([.frames[].function] | index($f)) | .wait.kind] |
				group_by(.) | map("\(.[0]) \(length)") | join(",")' "$TL_TMP/demo-$m.json")
			[ "$got" = "$2 $3" ] || error "demo $m: $1 threads [$got], expected [$2 $3]"
		done
	done
	only_running_stopped "demo" "$a"
	stack_ends "demo default mode" "$a" "$TARGET_PID"
	stack_ends "demo --stop" "$b" "$TARGET_PID"
}
finish
