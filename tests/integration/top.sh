#!/bin/bash
# top: `threadleak top -b` (batch frames) on real processes.
#   - the leaky server under load: every frame starts with its header line,
#     the wait_for_reply group grows frame after frame, never beyond the
#     requests served, and is marked [growing]; the pool and the ticker do
#     not change (the acceptor may be caught running a request);
#   - an idle target: after the first frame nothing is captured again
#     ("0 recaptured") and no thread's schedstat run count moves;
#   - a spinning thread is marked [spinning] with its CPU;
#   - the target exiting ends top with exit 0 and one line;
#   - SIGINT ends it with 130; bad options and pids get one line and
#     their exit codes; the target is never left stopped.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata leakyserver client busy

start_server()
{
	start_target "$TESTDATA/leakyserver"
	PORT=$(awk '/^port /{print $2}' "$TARGET_OUT")
	[ -n "$PORT" ] || fail "leakyserver printed no port"
}

# run counts of every thread of $1, "TID COUNT" a line
run_counts()
{
	local f c
	for f in /proc/"$1"/task/[0-9]*/schedstat; do
		read -r _ _ c <"$f" 2>/dev/null && echo "${f#/proc/*/task/} $c"
	done | sed 's|/schedstat||' | sort -n
}

# frames FILE: number of frames (header lines) in a batch output
frames()
{
	local n
	n=$(grep -c '^threadleak top:' "$1" 2>/dev/null)
	echo "${n:-0}"
}

# group_rows FILE FUNC KIND: "COUNT CHANGE MARKS" of the row of the group
# of KIND whose own innermost frame is FUNC, in each frame
group_rows()
{
	awk -v fn="$2" -v kind="$3" '
		/^threadleak top:/ { if (n++) print row; row = "- - -" }
		index($0, fn " (") {
			sub(/^\*/, "")
			split($0, f, " ")
			if (f[4] != kind)
				next
			mark = index($0, "[") ? substr($0, index($0, "[")) : "-"
			row = f[1] " " f[2] " " mark
		}
		END { if (n) print row }' "$1"
}

# wait_exit PID SECONDS: wait for our child PID to end; sets WAIT_RC
wait_exit()
{
	local deadline=$((SECONDS + $2))
	while proc_alive "$1"; do
		if ((SECONDS > deadline)); then
			tl_kill_child "$1"
			unregister_pid "$1"
			wait "$1" 2>/dev/null
			WAIT_RC=124
			return 1
		fi
		tl_sleep 0.02
	done
	unregister_pid "$1"
	wait "$1"
	WAIT_RC=$?
	return 0
}

# ---- a leak under load ----
start_server
server=$TARGET_PID
FRAMES=10
"$THREADLEAK" top -b -n "$FRAMES" -d 0.4 --color=never "$server" \
	>"$TL_TMP/load.out" 2>"$TL_TMP/load.err" </dev/null &
top=$!
register_pid "$top"
sent=0
while proc_alive "$top"; do
	# a burst of requests, each one a thread leaked in wait_for_reply
	if "$TESTDATA/client" "$PORT" 3 2>"$TL_TMP/client.err"; then
		sent=$((sent + 3))
	else
		error "client: $(head -c 200 "$TL_TMP/client.err")"
		break
	fi
	tl_sleep 0.25
done
wait_exit "$top" 60 || error "top -b -n $FRAMES did not end"
((WAIT_RC == 0)) || error "top under load: $(describe_rc "$WAIT_RC"): $(first_line "$TL_TMP/load.err")"
n=$(frames "$TL_TMP/load.out")
((n == FRAMES)) || error "top -b -n $FRAMES printed $n frames"

# The last request may land after the last frame: count the leak directly.
leaked=$(cat /proc/"$server"/task/*/comm 2>/dev/null | grep -cx handler)
rows=$(group_rows "$TL_TMP/load.out" wait_for_reply condvar)
counts=$(awk '{ print $1 }' <<<"$rows" | tr '\n' ' ')
prev=-1 ups=0 bad=
for c in $counts; do
	[ "$c" = - ] && c=0
	((c < prev)) && bad="it shrank"
	((c > prev && prev >= 0)) && ups=$((ups + 1))
	prev=$c
done
[ -z "$bad" ] || error "leaking group: $bad across frames: $counts"
((ups >= 3)) || error "leaking group grew in $ups frames only: $counts"
((prev > 0 && prev <= leaked && leaked <= sent)) ||
	error "leaking group ends at $prev; $leaked handler threads alive, $sent requests served"
read -r fc _ <<<"$(head -n 1 <<<"$rows")"
[ "$fc" = - ] && fc=0
read -r lc lchange _ <<<"$(tail -n 1 <<<"$rows")"
[ "$lchange" = "+$((lc - fc))" ] ||
	error "leaking group: change $lchange, expected +$((lc - fc)) ($fc in the first frame, $lc in the last)"
grep -q 'wait_for_reply (leakyserver.c:[0-9]*)  \[growing' "$TL_TMP/load.out" ||
	error "the leaking group was never marked [growing]: $(echo "$rows" | tr '\n' '|')"
grep 'wait_for_reply' "$TL_TMP/load.out" | grep -q '^\* ' ||
	error "the leaking group's row never carries the suspect mark '*'"
for fk in pool_wait:condvar ticker_loop:sleep; do
	fn=${fk%:*}
	row=$(group_rows "$TL_TMP/load.out" "$fn" "${fk#*:}" | tail -n 1)
	read -r c change marks <<<"$row"
	[ "$change" = "+0" ] && [ "$marks" = - ] ||
		error "$fn group should be steady, last frame: '$row'"
done
assert_not_stopped "$server" "after top under load"
kill_target "$server"

# ---- an idle target: refreshes capture nothing again, disturb nothing ----
start_server
server=$TARGET_PID
for tid in $(task_tids "$server"); do
	wait_blocked "$server" "$tid" || fail "thread $tid of the idle server is not blocked"
done
run_counts "$server" >"$TL_TMP/runs.before"
run_tl "$TL_TMP/idle.out" top -b -n 4 -d 0.2 --color=never "$server"
((TL_RC == 0)) || error "top on the idle server: $(describe_rc $TL_RC): $(first_line "$TL_TMP/idle.out.err")"
run_counts "$server" >"$TL_TMP/runs.after"
cmp -s "$TL_TMP/runs.before" "$TL_TMP/runs.after" ||
	error "top moved run counts of blocked threads: $(diff "$TL_TMP/runs.before" "$TL_TMP/runs.after" | grep '^>' | head -3 | tr '\n' ' ')"
recaptured=$(sed -n 's/^threadleak top:.*(\([0-9]*\) recaptured.*/\1/p' "$TL_TMP/idle.out" | tr '\n' ' ')
nthreads=$(task_tids "$server" | wc -l)
[ "$recaptured" = "$nthreads 0 0 0 " ] ||
	error "recaptured per frame: '$recaptured', expected '$nthreads 0 0 0 '"
grep -q '^kinds: .*condvar' "$TL_TMP/idle.out" || error "no kinds line with condvar in: $(sed -n 3p "$TL_TMP/idle.out")"
grep -Eq '^ +4 +\+0 +\+0\.0/s +condvar .* pool_wait \(leakyserver\.c:[0-9]+\)$' "$TL_TMP/idle.out" ||
	error "no steady row of 4 condvar pool_wait threads in: $(grep pool_wait "$TL_TMP/idle.out" | head -1)"

# ---- idle, then one request: refreshes that read no thread (the process's
# CPU clock did not move) still age the waits, and the first refresh after
# the request captures the new thread ----
"$THREADLEAK" top -b -n 7 -d 0.5 --color=never "$server" \
	>"$TL_TMP/wake.out" 2>"$TL_TMP/wake.err" </dev/null &
top=$!
register_pid "$top"
deadline=$((SECONDS + 30))
while (($(frames "$TL_TMP/wake.out") < 3)) && proc_alive "$top" && ((SECONDS < deadline)); do
	tl_sleep 0.05
done
"$TESTDATA/client" "$PORT" 1 2>"$TL_TMP/client.err" ||
	error "client: $(head -c 200 "$TL_TMP/client.err")"
wait_exit "$top" 60 || error "top -b -n 7 did not end"
((WAIT_RC == 0)) || error "top, idle then one request: $(describe_rc "$WAIT_RC"): $(first_line "$TL_TMP/wake.err")"
recaptured=($(sed -n 's/^threadleak top:.*(\([0-9]*\) recaptured.*/\1/p' "$TL_TMP/wake.out"))
((${#recaptured[@]} == 7)) || error "top -b -n 7 printed ${#recaptured[@]} frames"
[ "${recaptured[1]}" = 0 ] && [ "${recaptured[2]}" = 0 ] ||
	error "idle frames 2 and 3 recaptured threads: ${recaptured[*]}"
[ "${recaptured[6]}" = 0 ] && ((${recaptured[3]} + ${recaptured[4]} + ${recaptured[5]} > 0)) ||
	error "recaptured per frame: ${recaptured[*]}: expected some after the request (frame 4 on) and none at the end"
# pool_wait's oldest wait, in seconds, frame by frame: it grows while idle
oldest=$(awk '/^threadleak top:/ { n++ } / pool_wait \(/ && n <= 3 {
		for (i = 1; i <= NF; i++) if ($i == "condvar") { d = $(i + 2); break }
		sub(/^>/, "", d); m = 0
		if (d ~ /m/) { split(d, p, "m"); m = p[1]; d = p[2] }
		sub(/s$/, "", d); print m * 60 + d }' "$TL_TMP/wake.out" | tr '\n' ' ')
read -r o1 o2 o3 <<<"$oldest"
[ -n "$o3" ] && awk -v a="$o1" -v b="$o2" -v c="$o3" 'BEGIN { exit !(a < b && b < c) }' ||
	error "pool_wait's oldest wait did not grow over the idle frames: '$oldest'"
last=$(awk '/^threadleak top:/ { f = "" } { f = f $0 "\n" } END { printf "%s", f }' "$TL_TMP/wake.out")
grep -Eq '^\*? +1 +\+1 .*condvar .* wait_for_reply \(leakyserver\.c:[0-9]+\)' <<<"$last" ||
	error "the last frame has no new wait_for_reply thread: $(grep -E 'wait_for_reply|^threadleak' <<<"$last" | tr '\n' '|')"
assert_not_stopped "$server" "after top, idle then one request"

# ---- the target exits: one line, exit 0 ----
"$THREADLEAK" top -b -d 0.2 --color=never "$server" \
	>"$TL_TMP/exit.out" 2>"$TL_TMP/exit.err" </dev/null &
top=$!
register_pid "$top"
deadline=$((SECONDS + 20))
while (($(frames "$TL_TMP/exit.out") < 2)) && ((SECONDS < deadline)); do
	tl_sleep 0.05
done
exec {sock}<>"/dev/tcp/127.0.0.1/$PORT" || fail "cannot connect to the server"
printf 'quit\n' >&"$sock"
exec {sock}>&-
wait_exit "$top" 20 || error "top did not end after the target exited"
((WAIT_RC == 0)) || error "top after the target exited: $(describe_rc "$WAIT_RC")"
lines=$(grep -c . "$TL_TMP/exit.err")
grep -Eq "^threadleak: process $server \(leakyserver\) exited; watched it for [0-9.]+s, [0-9]+ samples$" "$TL_TMP/exit.err" &&
	((lines == 1)) || error "target exit: expected one line, got: $(head -c 300 "$TL_TMP/exit.err")"
kill_target "$server"

# ---- a spinning thread is marked by its CPU ----
start_target "$TESTDATA/busy" 1 1
busy=$TARGET_PID
run_tl "$TL_TMP/spin.out" top -b -n 6 -d 0.3 -s cpu --color=never "$busy"
((TL_RC == 0)) || error "top on busy: $(describe_rc $TL_RC): $(first_line "$TL_TMP/spin.out.err")"
# from the third frame on (two intervals of CPU), on a machine that may be
# busy with other work: marked in one of the last three frames at least
rows=$(awk '/^threadleak top:/ { n++ } n >= 4 && /spin_worker/' "$TL_TMP/spin.out")
row=$(grep -F '[spinning]' <<<"$rows" | tail -n 1)
[[ $row == '*'*running*spin_worker*'[spinning]' ]] ||
	error "spinner never marked in the last three frames: $(tr '\n' '|' <<<"$rows")"
cpu=$(awk '{ sub(/^\*/, ""); print $5 }' <<<"$row")
awk -v c="${cpu:-0}" 'BEGIN { exit !(c >= 50 && c <= 110) }' ||
	error "spinner CPU '$cpu'%, expected 50 to 100 (one thread)"
rows=$(awk '/^threadleak top:/ { n++ } /sleep_worker/' "$TL_TMP/spin.out")
[[ $rows != *'['* ]] || error "the sleeper is marked: $(grep -F '[' <<<"$rows" | head -1)"
wait_not_stopped "$busy" 2 >/dev/null || error "busy left stopped after top"

# ---- SIGINT in batch mode: 130, target released ----
DEFSIG=()
env --default-signal=INT true 2>/dev/null && DEFSIG=(env --default-signal=INT)
"${DEFSIG[@]}" "$THREADLEAK" top -b -d 0.2 "$busy" >"$TL_TMP/int.out" 2>"$TL_TMP/int.err" </dev/null &
top=$!
register_pid "$top"
deadline=$((SECONDS + 20))
while (($(frames "$TL_TMP/int.out") < 2)) && ((SECONDS < deadline)); do
	tl_sleep 0.05
done
signal_child INT "$top"
wait_exit "$top" 20 || error "top -b ignored SIGINT"
((WAIT_RC == 130)) || error "top -b after SIGINT: $(describe_rc "$WAIT_RC"), expected 130"
wait_not_stopped "$busy" 2 >/dev/null || error "busy left stopped after SIGINT"

# ---- errors: one line, documented exit codes ----
expect_error()	# expect_error RC PATTERN ARG...
{
	local rc=$1 pat=$2
	shift 2
	run_tl "$TL_TMP/err.out" top "$@"
	((TL_RC == rc)) || error "top $*: $(describe_rc $TL_RC), expected exit $rc"
	[ "$(grep -c . "$TL_TMP/err.out.err")" = 1 ] && grep -Eq "$pat" "$TL_TMP/err.out.err" ||
		error "top $*: expected one line matching '$pat', got: $(head -c 300 "$TL_TMP/err.out.err")"
}
sh -c 'exit 0' &
dead=$!
wait "$dead"
expect_error 2 "^threadleak: no process $dead$" -b "$dead"
expect_error 64 "needs a terminal.*-b" "$busy"
expect_error 64 "^threadleak: -n wants" -b -n 0 "$busy"
expect_error 64 "^threadleak: -d wants" -b -d soon "$busy"
expect_error 64 "^threadleak: --sort wants" -b -s size "$busy"
expect_error 64 "^threadleak: top needs a PID" -b
assert_not_stopped "$busy" "after the error cases"
kill_target "$busy"

finish
