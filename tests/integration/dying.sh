#!/bin/bash
# dying: targets that die or change under the capture, and files that
# cannot be written whole:
#   - a 2,002-thread process that ends (exit_group, or SIGKILL) while
#     threadleak is known to be capturing it, default and --stop: exit 2,
#     "exited during the snapshot", never a snapshot (see below);
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
need_testdata exits churn holder

# ---- ending during the snapshot ----
# testdata/holder keeps a thread in vfork (state D) that only a stop can
# unwind, so a snapshot with --timeout 600 cannot end before the target
# does: every round is a process that ends during the capture, and the
# result must be exit 2, "exited during the snapshot", nothing written
# (the man page: never a snapshot that looks whole).
#   held: the target ends once threadleak is seen holding it (default:
#     the holder traced, and SIGUSR1 makes the main thread call exit;
#     --stop: every other thread stopped too, so nothing can exit by
#     itself: SIGKILL);
#   random: SIGUSR1 at a random moment between threadleak's start and the
#     held rounds' quickest hold (observing, unwinding, seizing); with
#     --stop, a main thread already stopped cannot act on it: SIGKILL
#     once threadleak holds every thread.  A round where the target ended
#     before threadleak's first look ("no process", "zombie") is allowed
#     and counted; at least one per mode must be a real race.
fifo=$TL_TMP/hold.fifo
mkfifo "$fifo" || fail "cannot make a fifo"
tlcomm=${THREADLEAK##*/}
tlcomm=${tlcomm:0:15}	# its name in /proc/PID/comm once it runs
declare -A hold_us during
held_seen=0

# tracer_of PID TID: TRACER := the TracerPid of thread TID of PID
tracer_of()
{
	local l
	TRACER=0
	{ while IFS= read -r l; do
		case $l in TracerPid:*) TRACER=${l##*[[:space:]]}; return 0 ;; esac
	done <"/proc/$1/task/$2/status"; } 2>/dev/null
}

# holding PID HOLDER TL MODE: TL traces HOLDER (and with --stop, every
# other thread of PID is stopped)
holding()
{
	local st
	tracer_of "$1" "$2"
	((TRACER == $3)) || return 1
	[ "$4" = stop ] || return 0
	st=$(stopped_threads "$1")
	[ -n "$st" ] && (($(wc -l <<<"$st") == $(task_tids "$1" | wc -l) - 1))
}

end_round()	# end_round MODE KIND ROUND
{
	local mode=$1 kind=$2 round=$3 opts=() label pid holder tl rc trc t0 w t
	local comm= deadline delay=0 how=exit
	[ "$mode" = stop ] && opts=(--stop)
	label="$mode, $kind round $round"
	start_target "$TESTDATA/holder" "$fifo" 2000
	pid=$TARGET_PID
	holder=
	while read -r w t; do [ "$w" = holder ] && holder=$t; done <"$TARGET_OUT"
	[ -n "$holder" ] || fail "$label: the target did not name its holding thread"
	out=$TL_TMP/end-$mode-$kind-$round.json
	"$THREADLEAK" snapshot --json "${opts[@]}" --timeout 600 "$pid" >"$out" 2>"$out.err" </dev/null &
	tl=$!
	register_pid "$tl"
	deadline=$((SECONDS + 60))
	while { read -r comm <"/proc/$tl/comm"; } 2>/dev/null && [ "$comm" != "$tlcomm" ]; do
		((SECONDS < deadline)) || fail "$label: threadleak not started after 60 s"
		tl_sleep 0.001
	done
	t0=$(tl_now_us)
	if [ "$kind" = held ]; then
		deadline=$((SECONDS + 120))
		until holding "$pid" "$holder" "$tl" "$mode"; do
			if ! proc_alive "$tl" || ((SECONDS >= deadline)); then
				error "$label: threadleak never seen holding the target ($(proc_alive "$tl" && echo running || echo ended): $(first_line "$out.err"))"
				break
			fi
			tl_sleep 0.002
		done
		if holding "$pid" "$holder" "$tl" "$mode"; then
			held_seen=$((held_seen + 1))
			t=$(($(tl_now_us) - t0))
			[ -z "${hold_us[$mode]:-}" ] || ((t < hold_us[$mode])) && hold_us[$mode]=$t
		fi
		if [ "$mode" = stop ]; then
			signal_child KILL "$pid"
		else
			signal_child USR1 "$pid"
		fi
	else
		delay=$(((RANDOM * 32768 + RANDOM) % hold_us[$mode]))
		label+=" (after $((delay / 1000)) ms)"
		tl_sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
		signal_child USR1 "$pid"
		if [ "$mode" = stop ]; then
			# its main thread may be stopped already: then it ends
			# only by SIGKILL, once threadleak holds everything
			deadline=$((SECONDS + 120))
			while proc_alive "$pid" && proc_alive "$tl"; do
				if holding "$pid" "$holder" "$tl" stop; then
					signal_child KILL "$pid"
					break
				fi
				((SECONDS < deadline)) || break
				tl_sleep 0.002
			done
		fi
	fi
	# threadleak ends: the hold cannot, the process has
	deadline=$((SECONDS + 60))
	while proc_alive "$tl"; do
		((SECONDS < deadline)) || fail "$label: threadleak still running 60 s after the target ended: $(first_line "$out.err")"
		tl_sleep 0.01
	done
	unregister_pid "$tl"
	wait "$tl"
	rc=$?
	unregister_pid "$pid"
	{ tl_kill_child "$pid"; wait "$pid"; } 2>/dev/null
	trc=$?
	((trc == 137)) && how=killed
	if ((rc != 2)); then
		error "$label: the target ended ($how) during the capture, but threadleak: $(describe_rc "$rc"), expected 2: $(first_line "$out.err"); $(jq -c '{partial, threads: (.threads | length), states: ([.threads[].state] | unique)}' "$out" 2>/dev/null)"
	elif grep -qx "threadleak: process $pid exited during the snapshot" "$out.err"; then
		[ "$kind" = random ] && during[$mode]=$((${during[$mode]:-0} + 1))
	elif [ "$kind" = random ] &&
		grep -Eqx "threadleak: (no process $pid|$pid is a zombie: it has exited.*)" "$out.err"; then
		: # it ended before threadleak's first look
	else
		error "$label: exit 2 but: $(first_line "$out.err")"
	fi
	[ -s "$out" ] && error "$label: threadleak wrote something of a process that ended during the capture: $(head -c 200 "$out")"
}

for mode in default stop; do
	for ((i = 0; i < 2; i++)); do
		end_round "$mode" held "$i"
	done
	[ -n "${hold_us[$mode]:-}" ] || fail "$mode: no held round saw the hold: nothing to time the random rounds by"
	for ((i = 0; i < 5; i++)); do
		end_round "$mode" random "$i"
	done
	at_least "${during[$mode]:-0}" 1 "$mode: random rounds where the target ended during the capture (not before it)"
done
at_least "$held_seen" 4 "held rounds where threadleak was seen holding the target when it ended"

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
# top_frames FILE: FRAMES := how many frames top -b has printed so far
top_frames()
{
	local l
	FRAMES=0
	while IFS= read -r l; do
		case $l in "threadleak top:"*) FRAMES=$((FRAMES + 1)) ;; esac
	done <"$1"
}

# start_top LABEL ARG...: top -b ARG... in the background: TOP, TOP_OUT
start_top()
{
	local label=$1
	shift
	TOP_OUT=$TL_TMP/top.$RANDOM
	: >"$TOP_OUT"	# there before the first look, whenever the job opens it
	"$THREADLEAK" top -b "$@" >"$TOP_OUT" 2>"$TOP_OUT.err" </dev/null &
	TOP=$!
	register_pid "$TOP"
}

# wait_frames N LABEL: until top has printed N frames (it must not end)
wait_frames()
{
	local deadline=$((SECONDS + 120))
	while top_frames "$TOP_OUT"; ((FRAMES < $1)); do
		proc_alive "$TOP" || fail "$2: top ended after $FRAMES frames: $(first_line "$TOP_OUT.err")"
		((SECONDS < deadline)) || fail "$2: top printed $FRAMES frames in 120 s"
		tl_sleep 0.01
	done
}

# end_top LABEL: top must end (exit 0) by itself; TOP_RC
end_top()
{
	local deadline=$((SECONDS + 60))
	while proc_alive "$TOP"; do
		((SECONDS < deadline)) || fail "$1: top still running 60 s after the target ended or changed"
		tl_sleep 0.01
	done
	unregister_pid "$TOP"
	wait "$TOP"
	TOP_RC=$?
	((TOP_RC == 0)) || error "$1: $(describe_rc "$TOP_RC"), expected 0: $(first_line "$TOP_OUT.err")"
}

# the process exits after top's first, second, third frame
for ((i = 1; i <= 3; i++)); do
	label="top -b on a process that exits after frame $i"
	start_target "$TESTDATA/exits" 600000 50
	start_top "$label" -d 0.1 "$TARGET_PID"
	wait_frames "$i" "$label"
	kill_target "$TARGET_PID"	# SIGKILL: it exits, and is reaped
	end_top "$label"
	grep -q "^threadleak: process $TARGET_PID (exits) exited; watched it for" "$TOP_OUT.err" ||
		error "$label: no line saying it exited: $(first_line "$TOP_OUT.err")"
done
# and during top's first capture: held by testdata/holder (see above)
label="top -b on a process that exits during the first capture"
start_target "$TESTDATA/holder" "$fifo" 50
holder=
while read -r w t; do [ "$w" = holder ] && holder=$t; done <"$TARGET_OUT"
start_top "$label" -d 0.1 --timeout 600 "$TARGET_PID"
deadline=$((SECONDS + 120))
until holding "$TARGET_PID" "$holder" "$TOP" default; do
	proc_alive "$TOP" || fail "$label: top ended before it held the target: $(first_line "$TOP_OUT.err")"
	((SECONDS < deadline)) || fail "$label: top never seen holding the target"
	tl_sleep 0.002
done
signal_child USR1 "$TARGET_PID"	# its main thread calls exit
end_top "$label"
grep -q "^threadleak: process $TARGET_PID (holder) exited; watched it for" "$TOP_OUT.err" ||
	error "$label: no line saying it exited: $(first_line "$TOP_OUT.err")"
top_frames "$TOP_OUT"
((FRAMES == 0)) || error "$label: $FRAMES frames of a process that exited during the first capture"
kill_target "$TARGET_PID"
# exec once top has shown a frame: the fifo is read before the exec
execfifo=$TL_TMP/exec.fifo
mkfifo "$execfifo"
start_target sh -c 'echo ready; read -r x <"$1"; exec sleep 600' sh "$execfifo"
label="top -b on a process that execs"
start_top "$label" -d 0.1 "$TARGET_PID"
wait_frames 1 "$label"
printf 'go\n' >"$execfifo"
end_top "$label"
grep -q "^threadleak: process $TARGET_PID (sh) runs another program now (exec); watched it for" "$TOP_OUT.err" ||
	error "$label: $(first_line "$TOP_OUT.err")"
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
# blocked writing its text: the capture and the file are done (the
# signal must come then, not during the capture: wait for it to be there)
deadline=$((SECONDS + 60)) st=
until case $st in *pipe_write* | *pipe_wait*) true ;; *) false ;; esac; do
	proc_alive "$tl" || fail "SIGINT after the capture: threadleak ended before it blocked on its output: $(first_line "$TL_TMP/sig.err")"
	((SECONDS < deadline)) || fail "SIGINT after the capture: threadleak not blocked on its output after 60 s (wchan '$st')"
	tl_sleep 0.01
	st=$(cat "/proc/$tl/wchan" 2>/dev/null)
done
kill -INT "$tl"
deadline=$((SECONDS + 30))
while proc_alive "$tl" && ((SECONDS < deadline)); do tl_sleep 0.01; done
proc_alive "$tl" && { error "SIGINT after the capture: still running 30 s later"; kill -KILL "$tl"; }
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
# getopt stops at the '1' of -12, inside the word: the word is named,
# not the one before it
for args in "-12 1" "1 -12"; do
	# shellcheck disable=SC2086
	run_tl "$TL_TMP/a" snapshot $args
	((TL_RC == 64)) && grep -q "'-12' is not a process id" "$TL_TMP/a.err" ||
		error "snapshot $args: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/a.err")"
done
run_tl "$TL_TMP/a" top -qz 1
((TL_RC == 64)) && grep -q "unknown option '-qz'" "$TL_TMP/a.err" ||
	error "top -qz 1: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/a.err")"
run_tl "$TL_TMP/a" diff -m 99999999999999999999 x y
((TL_RC == 64)) || error "diff -m 99999999999999999999: $(describe_rc "$TL_RC"), expected 64"
kill_target "$TARGET_PID"

finish
