#!/bin/bash
# diff: `threadleak diff` on the leaky server (one leaked thread per
# request): after N requests exactly the leaking group grows, by N, and
# nothing else grows; the same across a restart of the server (other tids,
# other load addresses); a snapshot diffed with itself is clean; filters
# and thresholds; frozen snapshots give their recorded output; bad files
# get one clear line and exit 2.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata leakyserver client

N=${TL_DIFF_REQUESTS:-50}

start_server()
{
	start_target "$TESTDATA/leakyserver"
	PORT=$(awk '/^port /{print $2}' "$TARGET_OUT")
	[ -n "$PORT" ] || fail "leakyserver printed no port"
}

snap()	# snap PID FILE
{
	run_tl "$2.out" snapshot -q -o "$2" "$1"
	((TL_RC == 0)) || fail "snapshot of $1: $(describe_rc $TL_RC): $(first_line "$2.out.err")"
}

# check_leak LABEL JSON: the leaking group grew by N, nothing else grew
check_leak()
{
	local label=$1 json=$2 got others
	got=$(jq -r '[.groups[] | select([.frames[].function] | index("wait_for_reply"))] |
		map("\(.delta) \(.kind) \(.status)") | join(",")' "$json")
	[ "$got" = "$N condvar appeared" ] ||
		error "$label: leaking group: '$got', expected '$N condvar appeared'"
	others=$(jq -r '[.groups[] | select(([.frames[].function] | index("wait_for_reply")) | not) |
		select(.delta > 0) | .signature] | join(" ; ")' "$json")
	[ -z "$others" ] || error "$label: other groups grew: $others"
	[ "$(jq .grown "$json")" = 1 ] || error "$label: grown is $(jq .grown "$json"), expected 1"
}

# the live leak
start_server
snap "$TARGET_PID" "$TL_TMP/before.snap"
"$TESTDATA/client" "$PORT" "$N" >/dev/null || fail "client failed"
snap "$TARGET_PID" "$TL_TMP/after.snap"
run_tl "$TL_TMP/d.json" diff --json "$TL_TMP/before.snap" "$TL_TMP/after.snap"
((TL_RC == 1)) || error "diff after $N requests: $(describe_rc $TL_RC), expected 1"
check_leak "same process" "$TL_TMP/d.json"
run_tl "$TL_TMP/d.txt" diff --color never "$TL_TMP/before.snap" "$TL_TMP/after.snap"
grep -q "^+$N  (0 -> $N)  condvar  appeared" "$TL_TMP/d.txt" ||
	error "text diff lacks the '+$N (0 -> $N) condvar appeared' line: $(head -c 400 "$TL_TMP/d.txt")"
grep -q "wait_for_reply" "$TL_TMP/d.txt" || error "text diff does not show the stack"
run_tl "$TL_TMP/self.txt" diff "$TL_TMP/after.snap" "$TL_TMP/after.snap"
((TL_RC == 0)) || error "a snapshot diffed with itself: $(describe_rc $TL_RC), expected 0"

# thresholds and filters
run_tl "$TL_TMP/f" diff --min-delta $((N + 1)) "$TL_TMP/before.snap" "$TL_TMP/after.snap"
((TL_RC == 0)) || error "--min-delta $((N + 1)): $(describe_rc $TL_RC), expected 0"
run_tl "$TL_TMP/f" diff --min-delta "$N" "$TL_TMP/before.snap" "$TL_TMP/after.snap"
((TL_RC == 1)) || error "--min-delta $N: $(describe_rc $TL_RC), expected 1"
run_tl "$TL_TMP/f" diff --ignore handle_request "$TL_TMP/before.snap" "$TL_TMP/after.snap"
((TL_RC == 0)) || error "--ignore handle_request: $(describe_rc $TL_RC), expected 0"
run_tl "$TL_TMP/f" diff --ignore-top wait_for_reply "$TL_TMP/before.snap" "$TL_TMP/after.snap"
((TL_RC == 0)) || error "--ignore-top wait_for_reply: $(describe_rc $TL_RC), expected 0"
run_tl "$TL_TMP/f" diff --ignore-top handle_request "$TL_TMP/before.snap" "$TL_TMP/after.snap"
((TL_RC == 1)) || error "--ignore-top handle_request (not the top): $(describe_rc $TL_RC), expected 1"

# a live pid as the after side
run_tl "$TL_TMP/live.json" diff --json "$TL_TMP/before.snap" "$TARGET_PID"
((TL_RC == 1)) || error "diff FILE PID: $(describe_rc $TL_RC), expected 1"
check_leak "live pid" "$TL_TMP/live.json"
kill_target "$TARGET_PID"

# across a restart: a fresh server, the same requests
start_server
"$TESTDATA/client" "$PORT" "$N" >/dev/null || fail "client failed after the restart"
snap "$TARGET_PID" "$TL_TMP/restart.snap"
run_tl "$TL_TMP/r.json" diff --json "$TL_TMP/before.snap" "$TL_TMP/restart.snap"
((TL_RC == 1)) || error "diff across a restart: $(describe_rc $TL_RC), expected 1"
check_leak "across a restart" "$TL_TMP/r.json"
# the other groups matched group for group, all their threads replaced
unmatched=$(jq -r '[.groups[] | select(.status == "appeared" or .status == "vanished") |
	select(([.frames[].function] | index("wait_for_reply")) | not) | .signature] | join(" ; ")' "$TL_TMP/r.json")
[ -z "$unmatched" ] || error "across a restart, groups did not match: $unmatched"
churn=$(jq '[.groups[] | select(.status == "churn")] | length' "$TL_TMP/r.json")
((churn >= 4)) || error "across a restart, expected the unchanged groups as churn, got $churn"
kill_target "$TARGET_PID"

# frozen snapshots give their recorded output
(cd "$TESTDATA" && "$THREADLEAK" diff --color never diff-before.snap diff-after.snap) >"$TL_TMP/frozen.txt" 2>&1
diff -u "$TESTDATA/diff-expected.txt" "$TL_TMP/frozen.txt" >"$TL_TMP/frozen.diff" ||
	error "frozen diff output changed: $(head -c 600 "$TL_TMP/frozen.diff")"
(cd "$TESTDATA" && "$THREADLEAK" diff --json diff-before.snap diff-after.snap) >"$TL_TMP/frozen.json" 2>&1
diff -u "$TESTDATA/diff-expected.json" "$TL_TMP/frozen.json" >"$TL_TMP/frozen.diff" ||
	error "frozen diff JSON changed: $(head -c 600 "$TL_TMP/frozen.diff")"

# bad files: one line naming the file, exit 2
good=$TESTDATA/diff-before.snap
: >"$TL_TMP/empty.snap"
head -c 3000 "$good" >"$TL_TMP/truncated.snap"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$TL_TMP/foreign.snap"
jq '.version = 99' "$good" >"$TL_TMP/newer.snap"
printf '{"format":"threadleak-snapshot","version":1,"pid":1,"threads":[{"tid":1,"frames":[{"pc":7}]}]}' >"$TL_TMP/corrupt.snap"
for bad in empty truncated foreign newer corrupt missing; do
	f=$TL_TMP/$bad.snap
	run_tl "$TL_TMP/bad" diff "$f" "$good"
	((TL_RC == 2)) || error "$bad file: $(describe_rc $TL_RC), expected 2"
	lines=$(wc -l <"$TL_TMP/bad.err")
	((lines == 1)) && grep -q "^threadleak: $f: " "$TL_TMP/bad.err" ||
		error "$bad file: expected one line 'threadleak: $f: ...', got: $(head -c 300 "$TL_TMP/bad.err")"
done
grep -q "newer" <(run_tl "$TL_TMP/bad" diff "$TL_TMP/newer.snap" "$good"; cat "$TL_TMP/bad.err") ||
	error "a newer version is not called newer"
run_tl "$TL_TMP/bad" diff "$good"
((TL_RC == 64)) || error "diff with one argument: $(describe_rc $TL_RC), expected 64"
finish
