#!/bin/bash
# signals: SIGINT or SIGKILL reach threadleak in the middle of a capture
# of a 2,000-thread target, default and --stop.  Afterwards no thread of
# the target may be left stopped or traced, every thread runs on, and
# SIGINT ends threadleak with 130 (it released them), SIGKILL with 137.
#
# The capture cannot end before the signal: testdata/holder has a thread
# in vfork (state D, which no ptrace interrupt stops) whose stack only a
# stop can unwind, so threadleak, given --timeout 600, waits for it until
# the test releases it (a byte into its fifo).  Two kinds of rounds:
#   held: the signal is sent once threadleak is seen waiting for that
#     thread (its TracerPid is threadleak's; with --stop, every other
#     thread is in t too: the most a killed tracer can hold);
#   random: the signal is sent at a random moment between threadleak's
#     start and the moment the held rounds saw it reach that thread
#     (observing, unwinding, seizing); none can see the capture end.
# Every round requires its race: a round where threadleak finished (exit
# 0 or 1, a snapshot written) is an error, so is a held round whose hold
# was never seen.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata holder

THREADS=${TL_SIGNAL_THREADS:-2000}
HELD=${TL_SIGNAL_HELD_ROUNDS:-2}	# per signal and mode
RANDOMS=${TL_SIGNAL_ROUNDS:-5}		# per signal and mode

# a background job of a non-interactive shell starts with SIGINT ignored:
# give threadleak the default disposition, as it has from a terminal
sigs=(INT KILL)
if env --default-signal=INT true 2>/dev/null; then
	DEFSIG=(env --default-signal=INT)
else
	DEFSIG=()
	sigs=(KILL)
	partial "SIGINT rounds not run: env --default-signal unsupported (threadleak would start with SIGINT ignored)"
fi

fifo=$TL_TMP/release
mkfifo "$fifo" || fail "cannot make a fifo"
start_target "$TESTDATA/holder" "$fifo" "$THREADS" 1
pid=$TARGET_PID
tout=$TARGET_OUT
holder=
while read -r w t; do
	[ "$w" = holder ] && holder=$t
done <"$tout"
[ -n "$holder" ] && [ -e "/proc/$pid/task/$holder" ] || fail "the target did not name its holding thread: $(head -c 200 "$tout")"
ntasks=$(task_tids "$pid" | wc -l)
((ntasks == THREADS + 3)) || fail "the target has $ntasks threads, expected $((THREADS + 3))"
exec {rel}<>"$fifo"

# tracer_of TID: TRACER := the TracerPid of thread TID of the target
tracer_of()
{
	local l
	TRACER=0
	{ while IFS= read -r l; do
		case $l in TracerPid:*) TRACER=${l##*[[:space:]]}; return 0 ;; esac
	done <"/proc/$pid/task/$1/status"; } 2>/dev/null
}

# released: RELEASED := how many vforks the holder has seen end
released()
{
	local w n
	RELEASED=0
	while read -r w n; do
		[ "$w" = released ] && RELEASED=$n
	done <"$tout"
}

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

# count_stopped: NSTOPPED := threads of the target in t/T
count_stopped()
{
	local s
	s=$(stopped_threads "$pid")
	NSTOPPED=0
	[ -n "$s" ] && NSTOPPED=$(wc -l <<<"$s")
}

# release_holder LABEL: let the held vfork end; the holder must go round
# and be back in a vfork (D), traced by nobody.  A failure here would
# spoil every later round: fail.
nreleased=0
release_holder()
{
	local deadline=$((SECONDS + 60))
	printf x >&"$rel"
	nreleased=$((nreleased + 1))
	while :; do
		released
		tracer_of "$holder"
		((RELEASED == nreleased)) && [ "$(proc_state "$pid" "$holder")" = D ] &&
			((TRACER == 0)) && return 0
		((SECONDS < deadline)) ||
			fail "$1: the held thread did not run on: released $RELEASED of $nreleased, state $(proc_state "$pid" "$holder"), tracer $TRACER"
		tl_sleep 0.01
	done
}

tlcomm=${THREADLEAK##*/}
tlcomm=${tlcomm:0:15}	# its name in /proc/PID/comm once it runs
declare -A hold_us	# per mode: the quickest a held round saw the hold
held_seen=0 random_done=0 random_early=0

# one_round SIG MODE KIND ROUND: KIND is "held" or "random"
one_round()
{
	local sig=$1 mode=$2 kind=$3 round=$4 opts=() label t0 tl rc want delay=0 early=0
	[ "$mode" = stop ] && opts=(--stop)
	label="SIG$sig, $mode, $kind round $round"
	want=$((128 + $(kill -l "$sig")))
	if [ "$kind" = random ]; then
		delay=$((RANDOM * 32768 + RANDOM))
		delay=$((delay % ${hold_us[$mode]}))
		label+=" (after $((delay / 1000)) ms)"
	fi
	out=$TL_TMP/round.json
	"${DEFSIG[@]}" "$THREADLEAK" snapshot --json "${opts[@]}" --timeout 600 "$pid" \
		>"$out" 2>"$out.err" </dev/null &
	tl=$!
	register_pid "$tl"
	# the clock starts once it is threadleak: a SIGINT that reached env
	# before it reset the disposition would be ignored
	local comm= deadline=$((SECONDS + 60))
	while { read -r comm <"/proc/$tl/comm"; } 2>/dev/null && [ "$comm" != "$tlcomm" ]; do
		((SECONDS < deadline)) || fail "$label: threadleak not started after 60 s (still '$comm')"
		tl_sleep 0.001
	done
	t0=$(tl_now_us)
	if [ "$kind" = held ]; then
		# wait for the hold: the holder traced by threadleak, and with
		# --stop every other thread stopped
		local seen=
		deadline=$((SECONDS + 120))
		while :; do
			tracer_of "$holder"
			if ((TRACER == tl)); then
				[ "$mode" = stop ] || { seen=1; break; }
				count_stopped
				((NSTOPPED == ntasks - 1)) && { seen=1; break; }
			fi
			proc_alive "$tl" || break
			((SECONDS < deadline)) || break
			tl_sleep 0.002
		done
		if [ -z "$seen" ]; then
			error "$label: never seen holding the target (tracer $TRACER, ${NSTOPPED:-?} threads stopped, threadleak $(proc_alive "$tl" && echo running || echo ended): $(first_line "$out.err")"
		else
			held_seen=$((held_seen + 1))
			local us=$(($(tl_now_us) - t0))
			[ -z "${hold_us[$mode]:-}" ] || ((us < hold_us[$mode])) && hold_us[$mode]=$us
		fi
	else
		tl_sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
		tracer_of "$holder"
		((TRACER == tl)) || early=1
	fi
	{
		signal_child "$sig" "$tl"
		# (a hang guard: it takes milliseconds; every later round
		# would wait as long)
		exited_within "$tl" 30 ||
			fail "$label: threadleak still running 30 s after the signal: $(first_line "$out.err")"
		unregister_pid "$tl"
		wait "$tl"
		rc=$?
	} 2>/dev/null	# no "Killed" job notices
	if ((rc != want)); then
		error "$label: threadleak ended with $(describe_rc $rc), expected $want (killed by SIG$sig, or, for SIGINT, exited after releasing every thread): $(first_line "$out.err")"
	elif [ "$kind" = random ]; then
		random_done=$((random_done + 1))
		random_early=$((random_early + early))
	fi
	# held by threadleak, SIGINT is its guard's: it says it let go
	[ "$sig$kind" = INTheld ] && ((rc == want)) &&
		! grep -q "^threadleak: interrupted by .*; every thread of $pid was released\$" "$out.err" &&
		error "$label: no line saying every thread was released: $(first_line "$out.err")"
	# the capture could not end: nothing may have been written
	[ -s "$out" ] && error "$label: a snapshot was written, but the capture could not have ended: $(head -c 200 "$out")"
	# threadleak is gone: the kernel has let go of whatever it held
	if ! st=$(wait_not_stopped "$pid" 10); then
		error "$label: target threads still stopped after threadleak ended: $st"
		signal_child CONT "$pid"
		wait_not_stopped "$pid" 10 >/dev/null
	fi
	tracer_of "$holder"
	((TRACER == 0)) || error "$label: the held thread still traced by $TRACER"
	proc_alive "$pid" || fail "$label: the target died"
	release_holder "$label"
}

for mode in default stop; do
	for sig in "${sigs[@]}"; do
		for ((i = 0; i < HELD; i++)); do
			one_round "$sig" "$mode" held "$i"
		done
	done
	[ -n "${hold_us[$mode]:-}" ] || fail "$mode: no held round saw the hold: nothing to time the random rounds by"
	for sig in "${sigs[@]}"; do
		for ((i = 0; i < RANDOMS; i++)); do
			one_round "$sig" "$mode" random "$i"
		done
	done
done
at_least "$held_seen" $((2 * HELD * ${#sigs[@]})) "held rounds where threadleak was seen holding the target when the signal came"
at_least "$random_done" $((2 * RANDOMS * ${#sigs[@]})) "random rounds ended by the signal"
note "random rounds: $random_early of $random_done signalled before threadleak reached the held thread (quickest holds: default $((hold_us[default] / 1000)) ms, --stop $((hold_us[stop] / 1000)) ms)"

# the target still runs: its spinner moves, its threads are all there
t0=$(cpu_ticks "$pid")
deadline=$((SECONDS + 60))
until (($(cpu_ticks "$pid") > t0)); do
	((SECONDS < deadline)) || { error "the target stopped running (cpu ticks stuck at $t0 for 60 s)"; break; }
	tl_sleep 0.05
done
n=$(task_tids "$pid" | wc -l)
((n == ntasks)) || error "the target had $ntasks threads, now $n"
assert_not_stopped "$pid" "at the end"
finish
