#!/bin/bash
# top: `threadleak top -b` (batch frames) on real processes.  No check
# depends on how fast top, the targets or this script run: each waits for
# a state (a frame printed, a thread blocked), and what a frame must show
# is decided by what had happened before it was captured.
#   - the leaky server, one burst of requests after another: every frame
#     has its header, trend, kinds and column lines; the wait_for_reply
#     group grows frame after frame and never shrinks, ends at exactly the
#     requests served (and the handler threads alive), its change is its
#     growth, it is marked [growing] with the suspect mark '*'; the pool
#     and the ticker never change and are never marked;
#   - an idle target: after the first frame nothing is captured again
#     ("0 recaptured"), no thread's schedstat run count moves, -n 4 gives
#     4 frames;
#   - idle, then one request: frames taken before it recapture nothing and
#     still age the waits (by at least the refresh delay, which top never
#     shortens); the first frame whose capture began after the request
#     shows the new thread, and once every thread blocked again nothing
#     is recaptured;
#   - CPU: a thread that spins only between two signals (testdata/spinctl):
#     the CPU% top shows, times the interval it shows, adds up (within
#     what the printed precision and where in a capture a thread is read
#     allow) to the CPU time the kernel counted for that thread and for
#     the process, read by this script from /proc; [spinning] is on a row
#     exactly when its CPU% and the previous frame's are 50 or more; the
#     sleeper's row is in every frame, at 0.0 and never marked.  None of
#     it asks for a CPU share: on a loaded machine the spinner may get
#     any, and the test spins until it used enough CPU to tell a right
#     figure from one off by a factor of 2;
#   - the target exiting ends top with exit 0 and one line; SIGTERM with
#     143, SIGINT with 130; bad options and pids get one line and their
#     exit codes; the target is never left stopped.
. "$(dirname "$0")/../lib.sh"

need_cmd awk
need_threadleak
need_testdata leakyserver client spinctl

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

# top_bg NAME ARG...: threadleak top -b --color=never ARG... in the
# background, stdout to TOP_OUT ($TL_TMP/NAME.out, made before it starts);
# sets TOP, its pid
top_bg()
{
	local name=$1
	shift
	TOP_OUT=$TL_TMP/$name.out
	: >"$TOP_OUT"
	"$THREADLEAK" top -b --color=never "$@" >"$TOP_OUT" 2>"$TOP_OUT.err" </dev/null &
	TOP=$!
	register_pid "$TOP"
}

# frames_done [FILE]: complete frames in a batch output (each ends with
# its only empty line)
frames_done()
{
	local n
	n=$(grep -c '^$' "${1:-$TOP_OUT}" 2>/dev/null)
	echo "${n:-0}"
}

# wait_frames N [SECONDS]: until TOP_OUT has N complete frames; 1 when top
# ended short of them, or after SECONDS (default 120: a hang guard)
wait_frames()
{
	local deadline=$((SECONDS + ${2:-120}))
	while (($(frames_done) < $1)); do
		proc_alive "$TOP" || { (($(frames_done) >= $1)); return; }
		((SECONDS < deadline)) || return 1
		tl_sleep 0.05
	done
	return 0
}

# stop_top WHAT: SIGTERM to top, which must end with 143
stop_top()
{
	signal_child TERM "$TOP"
	wait_exit "$TOP" 60 || { error "$1: top ignored SIGTERM"; return 1; }
	((WAIT_RC == 143)) ||
		error "$1: top after SIGTERM: $(describe_rc "$WAIT_RC"), expected 143: $(first_line "$TOP_OUT.err")"
}

# parse_frames FILE: the complete frames of a batch output as lines of
# tab-separated fields (a frame cut short at the end is left out):
#   H N CPU AFTER CAPTURE_MS RECAPTURED THREADS PARTIAL SHAPE
#   R N STAR COUNT CHANGE KIND CPU OLDEST FUNCTION MARKS
# N counts frames from 1; STAR is * or -; MARKS "growing", "spinning",
# "growing,spinning" or -; KIND has _ for a space; SHAPE is "ok" or what
# is wrong with the frame's layout; AFTER is 0 in the first frame.
parse_frames()
{
	awk '
	function emit(   h, i, cpu, after, cap, rec, thr, part, shape, s, c,
			 line, star, rest, p, a, kind, tail, b, marks, q) {
		n++
		h = buf[1]
		cpu = after = cap = rec = thr = "?"
		if (match(h, /, cpu [0-9.]+%/)) cpu = substr(h, RSTART + 6, RLENGTH - 7)
		after = match(h, / after [0-9.]+s,/) ? substr(h, RSTART + 7, RLENGTH - 9) : 0
		if (match(h, /captured in [0-9.]+ ms \([0-9]+ recaptured/)) {
			split(substr(h, RSTART + 12), c, " ")
			cap = c[1]
			rec = substr(c[3], 2)
		}
		if (match(h, /\), [0-9]+ threads? \(/)) {
			split(substr(h, RSTART + 3), c, " ")
			thr = c[1]
		}
		shape = "ok"
		if (h !~ /^threadleak top: pid [0-9]+ \(.*\), .*sample [0-9]+/)
			shape = "header line: " h
		else if (buf[2] !~ /^trend:( [0-9]+)+$/)
			shape = "no trend line after the header: " buf[2]
		else if (buf[3] !~ /^kinds: /)
			shape = "no kinds line: " buf[3]
		i = 4
		part = 0
		while (i <= nl && buf[i] ~ /^(suspects|partial): /) {
			if (buf[i] ~ /^partial: /)
				part = 1
			i++
		}
		if (shape == "ok" && buf[i] !~ /^   COUNT  CHANGE      RATE  KIND +CPU%   OLDEST  WHERE$/)
			shape = "no column header: " buf[i]
		print "H\t" n "\t" cpu "\t" after "\t" cap "\t" rec "\t" thr "\t" part "\t" shape
		for (i++; i <= nl; i++) {
			line = buf[i]
			star = substr(line, 1, 1) == "*" ? "*" : "-"
			rest = substr(line, 2)
			p = index(rest, "/s  ")
			if (!p || substr(line, 1, 1) !~ /[* ]/) {
				print "H\t" n "\t?\t?\t?\t?\t?\t" part "\tbad row: " line
				continue
			}
			split(substr(rest, 1, p), a, " ")
			kind = substr(rest, p + 4, 9)
			gsub(/^ +| +$/, "", kind)
			gsub(/ /, "_", kind)
			tail = substr(rest, p + 14)
			split(tail, b, " ")
			marks = "-"
			q = index(tail, "  [")
			if (q) {
				marks = substr(tail, q + 3)
				sub(/\]$/, "", marks)
				gsub(/, /, ",", marks)
			}
			print "R\t" n "\t" star "\t" a[1] "\t" a[2] "\t" kind "\t" b[1] "\t" b[2] "\t" b[3] "\t" marks
		}
	}
	infr == 0 && /^threadleak top: / { infr = 1; nl = 0 }
	infr == 0 { next }
	$0 == "" { emit(); infr = 0; next }
	{ buf[++nl] = $0 }' "$1"
}

# group_counts TSV FUNC KIND: the count of the group of KIND whose WHERE
# is FUNC in each frame, 0 where it is not listed, space-separated
group_counts()
{
	awk -F '\t' -v fn="$2" -v kind="$3" '
		$1 == "H" && !($2 in c) { c[$2] = 0; n = $2 }
		$1 == "R" && $9 == fn && $6 == kind { c[$2] = $4 }
		END { for (i = 1; i <= n; i++) printf "%s%s", c[i], i < n ? " " : "" }' "$1"
}

# frame_shapes TSV WHAT: every frame laid out as documented, none partial
frame_shapes()
{
	local bad
	bad=$(awk -F '\t' '$1 == "H" && ($9 != "ok" || $8 != 0) {
		print "frame " $2 ": " ($9 != "ok" ? $9 : "partial"); exit }' "$1")
	[ -z "$bad" ] || error "$2: $bad"
}

# ---- a leak, one burst of requests after another ----
# Each burst of 3 is sent once the last one is in a complete frame; the
# client returns only once its handlers are blocked (leakyserver.c).  It
# goes on until the group has grown in 3 frames and a frame marks it
# [growing] (it grew twice in the last 4 intervals or 10 s): 120 s at
# most, a hang guard.
start_server
server=$TARGET_PID
top_bg load -d 0.4 "$server"
wait_frames 1 || fail "top on the server printed no frame: $(describe_rc "$WAIT_RC") $(first_line "$TOP_OUT.err")"
sent=0 grown=0 marked=0
deadline=$((SECONDS + 120))
while ((grown < 3 || marked == 0)); do
	if ((SECONDS >= deadline)); then
		error "leaking group: grown in $grown frames, marked [growing] in $marked, after $sent requests in 120 s"
		break
	fi
	if "$TESTDATA/client" "$PORT" 3 2>"$TL_TMP/client.err"; then
		sent=$((sent + 3))
	else
		error "client: $(head -c 200 "$TL_TMP/client.err")"
		break
	fi
	# until a complete frame shows all the requests sent
	while :; do
		parse_frames "$TOP_OUT" >"$TL_TMP/load.tsv"
		counts=($(group_counts "$TL_TMP/load.tsv" wait_for_reply condvar))
		((${#counts[@]} && counts[-1] >= sent)) && break
		proc_alive "$TOP" || break 2
		((SECONDS < deadline)) || break 2
		tl_sleep 0.05
	done
	grown=$(awk -v s="${counts[*]}" 'BEGIN { n = split(s, c, " ")
		for (i = 2; i <= n; i++) u += c[i] > c[i - 1]; print u + 0 }')
	marked=$(awk -F '\t' '$1 == "R" && $9 == "wait_for_reply" && $10 ~ /growing/' "$TL_TMP/load.tsv" | wc -l)
done
proc_alive "$TOP" || error "top on the server ended early: $(first_line "$TOP_OUT.err")"
stop_top "top on the leaking server"
parse_frames "$TOP_OUT" >"$TL_TMP/load.tsv"
n=$(frames_done)
((n >= 2)) || error "top on the leaking server: $n complete frames"
frame_shapes "$TL_TMP/load.tsv" "top on the leaking server"

leaked=$(cat /proc/"$server"/task/*/comm 2>/dev/null | grep -cx handler)
counts=($(group_counts "$TL_TMP/load.tsv" wait_for_reply condvar))
prev=0 ups=0
for c in "${counts[@]}"; do
	((c < prev)) && error "leaking group: it shrank across frames: ${counts[*]}"
	((c > prev)) && ups=$((ups + 1))
	prev=$c
done
at_least "$ups" 3 "frames in which the leaking group grew (${counts[*]})"
((prev == sent && leaked == sent)) ||
	error "leaking group ends at $prev; $leaked handler threads alive, $sent requests served"
last=$(awk -F '\t' -v n="$n" '$1 == "R" && $2 == n && $9 == "wait_for_reply" { print $5 }' "$TL_TMP/load.tsv")
[ "$last" = "+$((prev - ${counts[0]:-0}))" ] ||
	error "leaking group: change '$last' in the last frame, expected +$((prev - ${counts[0]:-0})) (${counts[*]})"
# marked [growing] and '*' together, and only once it grew twice
bad=$(awk -F '\t' '$1 == "R" && $9 == "wait_for_reply" {
		if ($4 > last) ups++	# the frames before it count as 0
		last = $4
		g = $10 ~ /growing/
		if (g != ($3 == "*")) { print "frame " $2 ": marks " $10 " with star " $3; exit }
		if (g && ups < 2) { print "frame " $2 ": [growing] after " ups " growth"; exit }
		if (g) m++
	}
	END { if (!m) print "never marked [growing]" }' "$TL_TMP/load.tsv")
[ -z "$bad" ] || error "leaking group: $bad"
for fk in pool_wait:condvar:4 ticker_loop:sleep:1; do
	IFS=: read -r fn kind want <<<"$fk"
	rows=$(awk -F '\t' -v fn="$fn" -v kind="$kind" '$1 == "R" && $9 == fn && $6 == kind {
		print $2, $3, $4, $5, $10 }' "$TL_TMP/load.tsv")
	nrows=$(grep -c . <<<"$rows")
	((nrows == n)) || error "$fn: a row in $nrows of $n frames"
	bad=$(grep -v "^[0-9]* - $want +0 -\$" <<<"$rows" | head -1)
	[ -z "$bad" ] || error "$fn group should be steady ($want, +0, unmarked), a frame: '$bad'"
done
assert_not_stopped "$server" "after top under load"
kill_target "$server"

# ---- an idle target: refreshes capture nothing again, disturb nothing ----
start_server
server=$TARGET_PID
tids=($(task_tids "$server"))
((${#tids[@]} == 7)) || fail "the idle server has ${#tids[@]} threads, expected 7: ${tids[*]}"
for tid in "${tids[@]}"; do
	wait_blocked "$server" "$tid" 60 || fail "thread $tid of the idle server is not blocked"
done
run_counts "$server" >"$TL_TMP/runs.before"
[ "$(grep -c . "$TL_TMP/runs.before")" = 7 ] || fail "run counts of 7 threads: $(tr '\n' ' ' <"$TL_TMP/runs.before")"
run_tl "$TL_TMP/idle.out" top -b -n 4 -d 0.2 --color=never "$server"
((TL_RC == 0)) || error "top on the idle server: $(describe_rc $TL_RC): $(first_line "$TL_TMP/idle.out.err")"
run_counts "$server" >"$TL_TMP/runs.after"
cmp -s "$TL_TMP/runs.before" "$TL_TMP/runs.after" ||
	error "top moved run counts of blocked threads: $(diff "$TL_TMP/runs.before" "$TL_TMP/runs.after" | grep '^>' | head -3 | tr '\n' ' ')"
parse_frames "$TL_TMP/idle.out" >"$TL_TMP/idle.tsv"
frame_shapes "$TL_TMP/idle.tsv" "top on the idle server"
recaptured=$(awk -F '\t' '$1 == "H" { printf "%s ", $6 }' "$TL_TMP/idle.tsv")
[ "$recaptured" = "7 0 0 0 " ] ||
	error "recaptured per frame: '$recaptured', expected '7 0 0 0 ' (-n 4)"
grep -q '^kinds: .*condvar' "$TL_TMP/idle.out" || error "no kinds line with condvar in: $(sed -n 3p "$TL_TMP/idle.out")"
grep -Eq '^ +4 +\+0 +\+0\.0/s +condvar .* pool_wait \(leakyserver\.c:[0-9]+\)$' "$TL_TMP/idle.out" ||
	error "no steady row of 4 condvar pool_wait threads in: $(grep pool_wait "$TL_TMP/idle.out" | head -1)"

# ---- idle, then one request ----
# top_asleep: top sleeps between two refreshes (in nanosleep, which only
# that wait uses)
top_asleep()
{
	local w nr
	{ read -r w <"/proc/$TOP/wchan"; } 2>/dev/null
	[[ ${w:-} == *nanosleep* ]] && return 0
	{ read -r nr _ <"/proc/$TOP/syscall"; } 2>/dev/null || return 1
	[ "$(uname -m)" = x86_64 ] && { [ "$nr" = 35 ] || [ "$nr" = 230 ]; }
}

# A request sent while top sleeps after frame F, and that returned (its
# handler blocked: leakyserver.c) while top still slept after frame F,
# happened between captures F and F+1: frame F+1 is the first taken
# after it, and must show it; frame F none of it.  Should top wake up
# meanwhile, once everything is blocked again and 2 more frames are out
# (every request sent so far is in them) another request is tried.  The
# first F frames, idle, span at least F-1 delays of 1 s (top never
# shortens one): every wait they show grew by that much.  Once every
# thread is blocked (H frames out), frame H+2 began after, and frame H+3
# has nothing to recapture.
top_bg wake -d 1 "$server"
wait_frames 4 || fail "top, idle then one request: no 4 frames: $(first_line "$TOP_OUT.err")"
sent=0 tries=0 first=0 F=0
while ((tries < 10)); do
	tries=$((tries + 1))
	deadline=$((SECONDS + 60))
	until F=$(frames_done) && top_asleep && (($(frames_done) == F)); do
		proc_alive "$TOP" && ((SECONDS < deadline)) ||
			fail "top, idle then one request: never seen asleep between refreshes"
		tl_sleep 0.01
	done
	((first)) || first=$F
	"$TESTDATA/client" "$PORT" 1 2>"$TL_TMP/client.err" ||
		fail "client: $(head -c 200 "$TL_TMP/client.err")"
	sent=$((sent + 1))
	top_asleep && (($(frames_done) == F)) && break
	for tid in $(task_tids "$server"); do
		wait_blocked "$server" "$tid" 60 || error "thread $tid of the server did not block again"
	done
	wait_frames $(($(frames_done) + 2)) || fail "top, idle then one request: no frames after request $sent"
done
top_asleep && (($(frames_done) == F)) ||
	error "top, idle then one request: top woke up during each of $tries requests"
for tid in $(task_tids "$server"); do
	wait_blocked "$server" "$tid" 60 || error "thread $tid of the server did not block again"
done
H=$(frames_done)
want=$((F + 1 > H + 3 ? F + 1 : H + 3))
wait_frames "$want" || error "top, idle then one request: no frame $want"
stop_top "top, idle then one request"
parse_frames "$TOP_OUT" >"$TL_TMP/wake.tsv"
frame_shapes "$TL_TMP/wake.tsv" "top, idle then one request"
recaptured=($(awk -F '\t' '$1 == "H" { print $6 }' "$TL_TMP/wake.tsv"))
counts=($(group_counts "$TL_TMP/wake.tsv" wait_for_reply condvar))
((${#recaptured[@]} >= want)) || error "top, idle then one request: ${#recaptured[@]} frames, expected $want"
[ "${recaptured[0]}" = 7 ] || error "frame 1 recaptured ${recaptured[0]} threads, expected all 7"
idle=$(tr ' ' + <<<"${recaptured[*]:1:first-1}")
(($idle == 0)) || error "frames 2-$first, before any request, recaptured threads: ${recaptured[*]:0:first}"
idle=$(tr ' ' + <<<"${counts[*]:0:first}")
(($idle == 0)) || error "frames 1-$first, before any request, show wait_for_reply: ${counts[*]:0:first}"
[ "${counts[F - 1]}" = $((sent - 1)) ] && [ "${counts[F]}" = "$sent" ] ||
	error "request $sent came between frames $F and $((F + 1)): they show ${counts[F - 1]} and ${counts[F]} wait_for_reply threads, expected $((sent - 1)) and $sent (all: ${counts[*]})"
((${recaptured[F]} >= 1)) || error "frame $((F + 1)) recaptured nothing, yet a thread was created: ${recaptured[*]}"
row=$(awk -F '\t' -v k=$((F + 1)) '$1 == "R" && $2 == k && $9 == "wait_for_reply" { print $4, $5, $6 }' "$TL_TMP/wake.tsv")
[ "$row" = "$sent +$sent condvar" ] || error "frame $((F + 1)): the wait_for_reply row is '$row', expected $sent +$sent condvar"
for ((i = F + 1; i <= ${#counts[@]}; i++)); do
	[ "${counts[i - 1]}" = "$sent" ] || { error "frame $i shows ${counts[i - 1]} wait_for_reply threads, expected $sent: ${counts[*]}"; break; }
done
for ((i = H + 3; i <= ${#recaptured[@]}; i++)); do
	[ "${recaptured[i - 1]}" = 0 ] || { error "frame $i, begun after every thread blocked again, recaptured: ${recaptured[*]}"; break; }
done
# pool_wait's oldest wait in seconds, frame by frame, over the idle frames
oldest=$(awk -F '\t' -v f="$first" '$1 == "R" && $2 <= f && $9 == "pool_wait" {
		d = $8; sub(/^>/, "", d); m = 0
		if (d ~ /m/) { split(d, p, "m"); m = p[1]; d = p[2] }
		sub(/s$/, "", d); print m * 60 + d }' "$TL_TMP/wake.tsv" | tr '\n' ' ')
awk -v s="$oldest" -v f="$first" 'BEGIN { n = split(s, o, " "); if (n != f) exit 1
		for (i = 2; i <= n; i++) if (o[i] < o[i - 1]) exit 1
		# each shown to 0.1 s below 10 s, to 1 s below a minute
		exit !(o[n] - o[1] >= (n - 1) * 1 - 1) }' ||
	error "pool_wait's oldest wait over the $first idle frames did not grow by $first-1 delays of 1 s: '$oldest'"
assert_not_stopped "$server" "after top, idle then one request"

# ---- the target exits: one line, exit 0 ----
top_bg exit -d 0.2 "$server"
wait_frames 2 || error "top before the target's exit: no 2 frames: $(first_line "$TOP_OUT.err")"
exec {sock}<>"/dev/tcp/127.0.0.1/$PORT" || fail "cannot connect to the server"
printf 'quit\n' >&"$sock"
exec {sock}>&-
wait_exit "$TOP" 60 || error "top did not end after the target exited"
((WAIT_RC == 0)) || error "top after the target exited: $(describe_rc "$WAIT_RC")"
lines=$(grep -c . "$TOP_OUT.err")
grep -Eq "^threadleak: process $server \(leakyserver\) exited; watched it for [0-9.]+s, [0-9]+ samples$" "$TOP_OUT.err" &&
	((lines == 1)) || error "target exit: expected one line, got: $(head -c 300 "$TOP_OUT.err")"
kill_target "$server"

# ---- CPU: a thread spinning between two signals ----
# proc_ns PID [TID]: CPU time in ns the kernel counted (schedstat) for
# thread TID, or for every thread of PID
proc_ns()
{
	local f ns sum=0
	for f in /proc/"$1"/task/${2:-[0-9]*}/schedstat; do
		read -r ns _ <"$f" || return 1
		sum=$((sum + ns))
	done
	echo "$sum"
}

# CPU_AWK: awk functions over parse_frames' output.  For frames 1..n with
# CPU shares x[k] (1 is a core), printed intervals i[k] and the longest a
# frame's capture could have taken X[k] (its capture time, and 200 ms
# for the time between the frame's start and the capture's start, a few
# calls, however long top waits for a CPU on a loaded machine),
# bounds(x, n) sets est, the CPU time top shows (sum of x[k] * i[k]), and
# lo and hi, such that est - (the CPU time used between the reads of frames
# 1 and n) lies in [lo, hi].  Top divides each thread's CPU time by the
# time between its two reads of it, a[k] - a[k-1]; a read comes x[k] after
# the frame's start (0 to X[k]), and the interval printed is the time
# between two starts, to 0.05 s.  So est - CPU = sum x[k] (i[k] - a[k] +
# a[k-1]) = sum x[k] * rounding + sum over k of d[k] * x[k], d[1] = x[2],
# d[n] = -x[n], d[k] = x[k+1] - x[k]: each term at its extreme.
CPU_AWK='
	function bounds(x, n,   k, r, d) {
		est = r = up = down = 0
		for (k = 2; k <= n; k++) {
			est += x[k] * i[k]
			r += x[k] * 0.05 + 0.0005 * (i[k] + 0.05)
		}
		for (k = 1; k <= n; k++) {
			d = k == 1 ? x[2] : k == n ? -x[n] : x[k + 1] - x[k]
			if (d > 0)
				up += d * X[k]
			else
				down += d * X[k]
		}
		hi = r + up
		lo = -r + down
		tol = hi > -lo ? hi : -lo
	}
	$1 == "H" { n = $2; c[n] = $3 / 100; i[n] = $4; X[n] = $5 / 1000 + 0.2 }
	$1 == "R" && ($9 == "spin_worker" || $9 == "spin_idle") { s[$2] += $7 / 100 }
	$1 == "R" && $10 ~ /spinning/ && $9 == "spin_worker" { marked++ }
'

start_target "$TESTDATA/spinctl"
spin=$TARGET_PID
spinner=$(awk '/^spinner /{ print $2 }' "$TARGET_OUT")
sleeper=$(awk '/^sleeper /{ print $2 }' "$TARGET_OUT")
[ -n "$spinner" ] && [ -n "$sleeper" ] || fail "spinctl named no spinner or sleeper: $(tr '\n' ' ' <"$TARGET_OUT")"
for tid in $(task_tids "$spin"); do
	wait_blocked "$spin" "$tid" 60 || fail "thread $tid of spinctl is not blocked"
done
spin0=$(proc_ns "$spin" "$spinner") && all0=$(proc_ns "$spin") || fail "cannot read spinctl's schedstat"
top_bg spin -d 1 -s cpu "$spin"
# from the third frame on: the first that can be marked [spinning] has
# one before it with no CPU
wait_frames 2 || fail "top on spinctl printed no 2 frames: $(first_line "$TOP_OUT.err")"
kill -USR1 "$spin"
# Spin for 3 frames at least, and until the CPU top shows it used is 4
# times what the comparison below may be off by (so that 0, half or twice
# the CPU cannot pass), whatever share of a CPU it gets: 20 s of CPU (then
# top is far off) or 120 s at most, a hang guard.
started=$(frames_done)
deadline=$((SECONDS + 120))
until [ "$(awk -F '\t' -v st="$started" "$CPU_AWK"'
	END { bounds(s, n)
		print (n - st >= 3 && est > 0 && est >= 4 * tol) ? "enough" : "more" }' \
	<(parse_frames "$TOP_OUT"))" = enough ]; do
	proc_alive "$TOP" || break
	now=$(proc_ns "$spin" "$spinner") || break
	((now - spin0 < 20000000000)) || break
	if ((SECONDS >= deadline)); then
		error "spinner: not enough CPU shown to compare after 120 s: $(grep -E '^threadleak|spin_worker' "$TOP_OUT" | tail -4 | tr '\n' '|')"
		break
	fi
	tl_sleep 0.1
done
kill -USR2 "$spin"
until has_line "$TARGET_OUT" stopped; do
	proc_alive "$spin" || fail "spinctl died: $(head -c 300 "$TARGET_ERR")"
	tl_sleep 0.02
done
for tid in $(task_tids "$spin"); do
	wait_blocked "$spin" "$tid" 60 || error "thread $tid of spinctl did not block again"
done
spin1=$(proc_ns "$spin" "$spinner") && all1=$(proc_ns "$spin") || fail "cannot read spinctl's schedstat"
G=$(frames_done)
wait_frames $((G + 2)) || error "top on spinctl: no frame $((G + 2)) after the spinner stopped"
stop_top "top on spinctl"
parse_frames "$TOP_OUT" >"$TL_TMP/spin.tsv"
frame_shapes "$TL_TMP/spin.tsv" "top on spinctl"
n=$(frames_done)
# The spinner was blocked at the first frame and at the last: what top
# shows, CPU% times the interval summed over the frames, is the CPU it
# used in between.  Top divides by the time between its own two reads of
# the thread, which differs from the interval it prints (to 0.1 s) by the
# rounding and by where in the capture the thread was read.
cmp=$(awk -F '\t' -v spun="$((spin1 - spin0))" -v all="$((all1 - all0))" "$CPU_AWK"'
	function check(what, x, kernel) {
		bounds(x, n)
		kernel /= 1e9
		printf "%s: top %.3f s, kernel %.3f s, allowed %.3f to %.3f s\n", what, est, kernel, lo, hi >"/dev/stderr"
		if (est - kernel < lo || est - kernel > hi)
			printf "%s: top shows %.3f s of CPU (CPU%% times interval), the kernel counted %.3f s (top may be off by %.3f to %.3f s); ", what, est, kernel, lo, hi
		else if (kernel <= 0 || kernel < 3 * tol)
			printf "%s: %.3f s of CPU is too little to compare (top may be off by %.3f s); ", what, kernel, tol
	}
	END { check("the spinner", s, spun); check("the process", c, all) }' "$TL_TMP/spin.tsv" 2>"$TL_TMP/cmp.txt")
note "CPU: $(tr '\n' ';' <"$TL_TMP/cmp.txt")"
[ -z "$cmp" ] || error "CPU: $cmp"
# [spinning] exactly where a group's CPU% was 50 or more in this frame and
# the one before (50.0 as shown may be either), with the suspect mark.
# Whether the spinner got that much is up to the machine: seen or not is
# only noted.
bad=$(awk -F '\t' '
	$1 == "H" { n = $2 }
	$1 == "R" { key = $6 " " $9; cpu[n, key] = $7; rows[n, key] = $3 " " $10 }
	END {
		for (k in rows) {
			split(k, p, SUBSEP); f = p[1]; key = p[2]
			split(rows[k], m, " ")
			marked = m[2] ~ /spinning/
			if (marked != (m[1] == "*")) { print "frame " f ", " key ": marks " m[2] " with star " m[1]; exit }
			now = cpu[f, key] + 0; before = ((f - 1, key) in cpu) ? cpu[f - 1, key] + 0 : 0
			if (now == 50 || before == 50) continue
			want = f >= 2 && now > 50 && before > 50
			if (marked != want) { print "frame " f ", " key ": CPU% " before " then " now ", marks " m[2]; exit }
		}
	}' "$TL_TMP/spin.tsv")
note "spinner marked [spinning] in $(awk -F '\t' '$1 == "R" && $10 ~ /spinning/ && $9 == "spin_worker"' "$TL_TMP/spin.tsv" | wc -l) frames, CPU% $(awk -F '\t' '$1 == "R" && $9 == "spin_worker" { printf "%s ", $7 }' "$TL_TMP/spin.tsv")" 
[ -z "$bad" ] || error "spinning mark: $bad"
rows=$(awk -F '\t' '$1 == "R" && $9 == "sleep_worker" { print $2, $3, $6, $7, $10 }' "$TL_TMP/spin.tsv")
nrows=$(grep -c . <<<"$rows")
((nrows == n)) || error "the sleeper has a row in $nrows of $n frames"
bad=$(grep -v '^[0-9]* - sleep 0.0 -$' <<<"$rows" | head -1)
[ -z "$bad" ] || error "the sleeper's row should be 'sleep 0.0', unmarked: '$bad'"
wait_not_stopped "$spin" 2 >/dev/null || error "spinctl left stopped after top"

# ---- SIGINT in batch mode: 130, target released ----
DEFSIG=()
env --default-signal=INT true 2>/dev/null && DEFSIG=(env --default-signal=INT)
((${#DEFSIG[@]})) || partial "env --default-signal unsupported: SIGINT to a background top not tried"
if ((${#DEFSIG[@]})); then
	TOP_OUT=$TL_TMP/int.out
	: >"$TOP_OUT"
	"${DEFSIG[@]}" "$THREADLEAK" top -b -d 0.2 "$spin" >"$TOP_OUT" 2>"$TOP_OUT.err" </dev/null &
	TOP=$!
	register_pid "$TOP"
	wait_frames 2 || error "top before SIGINT: no 2 frames: $(first_line "$TOP_OUT.err")"
	signal_child INT "$TOP"
	wait_exit "$TOP" 60 || error "top -b ignored SIGINT"
	((WAIT_RC == 130)) || error "top -b after SIGINT: $(describe_rc "$WAIT_RC"), expected 130"
	wait_not_stopped "$spin" 2 >/dev/null || error "spinctl left stopped after SIGINT"
fi

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
expect_error 64 "needs a terminal.*-b" "$spin"
expect_error 64 "^threadleak: -n wants" -b -n 0 "$spin"
expect_error 64 "^threadleak: -d wants" -b -d soon "$spin"
expect_error 64 "^threadleak: --sort wants" -b -s size "$spin"
expect_error 64 "^threadleak: top needs a PID" -b
assert_not_stopped "$spin" "after the error cases"
kill_target "$spin"

finish
