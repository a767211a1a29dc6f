#!/bin/bash
# dying: targets that die or change under the capture, and files that
# cannot be written whole:
#   - a 2,001-thread process exiting 5-35 ms after its "ready" (default
#     and --stop): an error (exit 2, "exited during the snapshot") or an
#     honest partial (exit 1), never a clean-looking result with a zombie;
#   - a process whose main thread called pthread_exit: its threads are
#     captured through a live one, and the zombie leader is not listed;
#   - top -b on a process that exits, or that runs another program: exit
#     0 and one line saying which;
#   - snapshot --stop on a process churning threads: whole every time;
#   - -o onto a full file system (a 64 KiB tmpfs): exit 2, no file left,
#     not even a truncated one; an existing file is left as it was;
#   - SIGINT once the capture is over (stdout blocked): 130, no output
#     file;
#   - small argument cases: a pid " 42", -5, --min-delta out of range.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata exits churn

# ---- exiting during the snapshot ----
for mode in default stop; do
	args=()
	[ $mode = stop ] && args=(--stop)
	for ((i = 0; i < 7; i++)); do
		delay=$((5 + i * 5))
		start_target "$TESTDATA/exits" "$delay" 2000
		out=$TL_TMP/exit-$mode-$i.json
		snapshot_json "$TARGET_PID" "$out" "${args[@]}"
		label="$mode, exiting ${delay} ms after ready"
		case $TL_RC in
		0 | 1)
			bad=$(jq -r '[.threads[] | select(.state == "Z" or .state == "X" or
				(.wait.kind == "unknown" and (.frames | length) == 0 and .error == null))] | length' "$out" 2>&1)
			[ "$bad" = 0 ] || error "$label: exit $TL_RC with $bad dead or empty threads: $(jq -c '[.threads[] | select(.state == "Z")][0]' "$out" 2>/dev/null)"
			if ((TL_RC == 0)); then
				jq -e '.partial == false' "$out" >/dev/null || error "$label: exit 0 but partial"
			else
				jq -e '.partial == true' "$out" >/dev/null || error "$label: exit 1 but not partial"
			fi
			;;
		2)
			# (or before it began: the first delays are short)
			grep -Eq "exited during the snapshot\$|no process $TARGET_PID\$|^threadleak: $TARGET_PID is a zombie: it has exited" "$out.err" ||
				error "$label: exit 2 but: $(first_line "$out.err")"
			;;
		*)
			error "$label: $(describe_rc "$TL_RC"): $(first_line "$out.err")"
			;;
		esac
		kill_target "$TARGET_PID"
	done
done

# ---- a leader that called pthread_exit ----
start_target "$TESTDATA/exits" leader 4
out=$TL_TMP/leader.json
snapshot_json "$TARGET_PID" "$out"
((TL_RC == 0)) || error "pthread_exit leader: $(describe_rc "$TL_RC"), expected 0: $(first_line "$out.err")"
got=$(jq -r '[(.threads | length), ([.threads[] | select(.frames | map(.function) | index("sleeper"))] | length),
	([.threads[] | select(.tid == '"$TARGET_PID"')] | length)] | @tsv' "$out" 2>&1)
[ "$got" = $'4\t4\t0' ] || error "pthread_exit leader: threads, sleepers, leader listed: '$got', expected 4 4 0"
run_tl "$TL_TMP/leader.txt" snapshot "$TARGET_PID"
((TL_RC == 0)) || error "pthread_exit leader, text: $(describe_rc "$TL_RC")"
kill_target "$TARGET_PID"

# ---- top -b on a process that exits, or runs another program ----
for ((i = 0; i < 3; i++)); do
	delay=$((40 + i * 20))
	start_target "$TESTDATA/exits" "$delay" 50
	run_tl "$TL_TMP/top" top -b -n 3 -d 0.1 "$TARGET_PID"
	((TL_RC == 0)) || error "top -b on a process exiting after ${delay} ms: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/top.err")"
	grep -q "^threadleak: process $TARGET_PID (exits) exited; watched it for" "$TL_TMP/top.err" ||
		[ "$(grep -c '^threadleak top:' "$TL_TMP/top")" = 3 ] ||
		error "top -b, exiting after ${delay} ms: neither 3 frames nor an exit line: $(first_line "$TL_TMP/top.err")"
	kill_target "$TARGET_PID"
done
start_target sh -c 'echo ready; sleep 0.3; exec sleep 30'
run_tl "$TL_TMP/top" top -b -d 0.1 "$TARGET_PID"
((TL_RC == 0)) || error "top -b on a process that execs: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/top.err")"
grep -q "^threadleak: process $TARGET_PID (sh) runs another program now (exec); watched it for" "$TL_TMP/top.err" ||
	error "top -b on a process that execs: $(first_line "$TL_TMP/top.err")"
kill_target "$TARGET_PID"

# ---- --stop on a churning process: a thread there throughout is captured ----
start_target "$TESTDATA/churn" 4
for ((i = 0; i < 10; i++)); do
	out=$TL_TMP/churn-$i.json
	snapshot_json "$TARGET_PID" "$out" --stop
	((TL_RC == 0)) || error "--stop on churn, round $i: $(describe_rc "$TL_RC"): $(jq -c '[.threads[] | select(.error) | [.tid, .state, .error, [.frames[] | "\(.function)@\(.pc)"]]]' "$out" 2>/dev/null | cut -c 1-400)"
	assert_not_stopped "$TARGET_PID" "--stop on churn, round $i"
done
kill_target "$TARGET_PID"

# ---- -o onto a full file system ----
start_target "$TESTDATA/exits" 600000 200
mnt=$TL_TMP/full
mkdir -p "$mnt"
if mount -t tmpfs -o size=64k tmpfs "$mnt" 2>"$TL_TMP/mount.err"; then
	run_tl "$TL_TMP/full-run" snapshot -o "$mnt/s.json" "$TARGET_PID"
	((TL_RC == 2)) || error "-o on a full disk: $(describe_rc "$TL_RC"), expected 2"
	grep -q "^threadleak: cannot write $mnt/s.json: No space left on device$" "$TL_TMP/full-run.err" ||
		error "-o on a full disk: $(first_line "$TL_TMP/full-run.err")"
	left=$(ls -A "$mnt")
	[ -z "$left" ] || error "-o on a full disk: left behind: $left"
	echo previous >"$mnt/s.json"
	run_tl "$TL_TMP/full-run" snapshot -o "$mnt/s.json" "$TARGET_PID"
	((TL_RC == 2)) || error "-o over a file on a full disk: $(describe_rc "$TL_RC")"
	[ "$(cat "$mnt/s.json")" = previous ] || error "-o on a full disk: the existing file was changed"
	[ "$(ls -A "$mnt")" = s.json ] || error "-o on a full disk: left behind: $(ls -A "$mnt")"
	umount "$mnt"
else
	error "cannot mount a tmpfs to fill (root is needed): $(cat "$TL_TMP/mount.err")"
fi
# a report file that cannot be made: before anything is captured
run_tl "$TL_TMP/ro" snapshot -o /proc/threadleak.json "$TARGET_PID"
((TL_RC == 2)) || error "-o /proc/...: $(describe_rc "$TL_RC"), expected 2"

# ---- SIGINT once the capture is over: stdout blocked, then ^C ----
fifo=$TL_TMP/out.fifo
mkfifo "$fifo"
exec {hold}<>"$fifo"	# the fifo stays open, unread: writes block when full
"$THREADLEAK" snapshot --threads -o "$TL_TMP/sig.json" "$TARGET_PID" >"$fifo" 2>"$TL_TMP/sig.err" &
tl=$!
register_pid "$tl"
for _ in $(seq 500); do
	# blocked writing its text: the capture and the file are done
	st=$(cat "/proc/$tl/wchan" 2>/dev/null)
	case $st in *pipe_write* | *pipe_wait*) break ;; esac
	tl_sleep 0.01
done
kill -INT "$tl"
for _ in $(seq 500); do proc_alive "$tl" || break; tl_sleep 0.01; done
proc_alive "$tl" && { error "SIGINT after the capture: still running 5 s later"; kill -KILL "$tl"; }
wait "$tl"
rc=$?
unregister_pid "$tl"
exec {hold}>&-
((rc == 130)) || error "SIGINT after the capture: exit $rc, expected 130 (wchan was '$st')"

# ---- small argument cases ----
run_tl "$TL_TMP/a" snapshot " $TARGET_PID"
((TL_RC == 64)) || error "a pid with a blank: $(describe_rc "$TL_RC"), expected 64"
run_tl "$TL_TMP/a" snapshot -5
((TL_RC == 64)) && grep -q "'-5' is not a process id" "$TL_TMP/a.err" ||
	error "snapshot -5: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/a.err")"
run_tl "$TL_TMP/a" diff -m 99999999999999999999 x y
((TL_RC == 64)) || error "diff -m 99999999999999999999: $(describe_rc "$TL_RC"), expected 64"
kill_target "$TARGET_PID"

finish
