#!/bin/bash
# output-file: `snapshot -o FILE` writes a snapshot file (version 2, each
# stack once) that export -f json reads back as the document --json
# prints (version 1).  Both are checked against the target itself (testdata/waits says
# each thread's wait kind, function and mutex owner; /proc lists its
# threads; every stack ends at _start or clone), then against each other
# whole, but for what changes from one capture to the next (times, CPU,
# the running thread).  -o still prints the text report, -q silences it,
# -f json is the same document; the file is the only thing left in its
# directory (no temporary file), an existing one replaced; -o into a
# missing directory is an error (exit 2) before anything is captured.
# SIGKILL while -o FILE is open (check -o, held in its command) leaves the
# directory as it was: FILE's old text and no temporary file.  diff and
# export given a FIFO with no writer, a directory or an empty device as a
# snapshot file say so in one line and exit 2 at once (a hang fails).
. "$(dirname "$0")/../lib.sh"
. "$TL_ROOT/tests/expect-lib.sh"

need_cmd jq
need_threadleak
need_testdata waits

start_target "$TESTDATA/waits"
wx_parse "$TARGET_OUT"
wx_settle "$TARGET_PID"

dir=$TL_TMP/out
mkdir "$dir" || fail "cannot make $dir"
file=$dir/saved.json
echo stale >"$file"
run_tl "$TL_TMP/o.out" snapshot -o "$file" "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "-o FILE"
((TL_RC == 0)) || fail "snapshot -o FILE: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/o.out.err")"
jq -e '.version == 2 and (.stacks | type) == "array"' "$file" >/dev/null 2>&1 ||
	fail "snapshot -o FILE: $file is not a version 2 snapshot: $(head -c 200 "$file")"
[ "$(ls -A "$dir")" = saved.json ] || error "-o FILE: its directory holds [$(ls -A "$dir" | tr '\n' ' ')], expected only saved.json"
# the file as the document (version 1)
run_tl "$TL_TMP/saved.doc" export -f json "$file"
((TL_RC == 0)) || fail "export -f json of the -o FILE: $(describe_rc $TL_RC): $(first_line "$TL_TMP/saved.doc.err")"
jq -e '.version == 1' "$TL_TMP/saved.doc" >/dev/null || error "export -f json: not version 1: $(head -c 100 "$TL_TMP/saved.doc")"
doc=$TL_TMP/saved.doc
wx_check "-o FILE" "$doc" "$TARGET_PID"
# the text report is still printed
grep -q "^waits (pid $TARGET_PID): [0-9]* threads" "$TL_TMP/o.out" &&
grep -q "$WX_GROUP_FUNC" "$TL_TMP/o.out" ||
	error "-o FILE without -q: no text report on standard output: $(first_line "$TL_TMP/o.out")"

json=$TL_TMP/stdout.json
snapshot_json "$TARGET_PID" "$json"
assert_not_stopped "$TARGET_PID" "--json"
((TL_RC == 0)) || fail "snapshot --json: $(describe_rc $TL_RC), expected 0: $(first_line "$json.err")"
wx_check "--json" "$json" "$TARGET_PID"

quiet=$dir/quiet.json
run_tl "$TL_TMP/q.out" snapshot -q -f json -o "$quiet" "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "-q -f json -o FILE"
((TL_RC == 0)) || error "snapshot -q -f json -o FILE: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/q.out.err")"
[ ! -s "$TL_TMP/q.out" ] || error "-q: standard output not empty: $(first_line "$TL_TMP/q.out")"
wx_check "-q -f json -o FILE" "$quiet" "$TARGET_PID"

# the documents, whole, without what differs between two captures: the
# times (of the capture, of the stops), CPU and blocked seconds, which
# threads had to be stopped, and everything of a thread running in either
# (it moves)
norm()
{
	jq -S --slurpfile o "$2" '
		([.threads[], $o[0].threads[] | select(.state == "R") | .tid] | unique) as $run |
		del(.taken_at, .capture_ms, .threads_stopped, .stop_ms_total, .stop_ms_max) |
		.threads |= (map(del(.utime, .stime, .stopped, .wait.blocked_sec) |
			if (.tid as $t | $run | index([$t])) then {tid, name} else . end) | sort_by(.tid))' "$1"
}
norm "$doc" "$json" >"$TL_TMP/file.norm" && norm "$json" "$doc" >"$TL_TMP/json.norm" &&
	norm "$quiet" "$json" >"$TL_TMP/quiet.norm" ||
	fail "cannot normalize the documents"
[ "$(jq '.threads | length' "$TL_TMP/file.norm")" -ge 20 ] ||
	error "-o FILE: only $(jq '.threads | length' "$TL_TMP/file.norm") threads to compare"
diff -u "$TL_TMP/json.norm" "$TL_TMP/file.norm" >"$TL_TMP/diff" ||
	error "-o FILE and --json differ: $(grep '^[-+][^-+]' "$TL_TMP/diff" | head -8 | tr '\n' ' ')"
diff -u "$TL_TMP/file.norm" "$TL_TMP/quiet.norm" >"$TL_TMP/diff" ||
	error "-f json -o FILE and -o FILE differ: $(grep '^[-+][^-+]' "$TL_TMP/diff" | head -8 | tr '\n' ' ')"

# -o into a directory that does not exist: refused before the capture
run_tl "$TL_TMP/bad.out" snapshot -o "$TL_TMP/no/such/dir/x.json" "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "-o into a missing directory"
((TL_RC == 2)) || error "-o into a missing directory: $(describe_rc $TL_RC), expected 2"
grep -q "^threadleak: .*$TL_TMP/no/such/dir" "$TL_TMP/bad.out.err" ||
	error "-o into a missing directory: no 'threadleak: ...' message naming it: $(first_line "$TL_TMP/bad.out.err")"
[ ! -s "$TL_TMP/bad.out" ] || error "-o into a missing directory: a report was printed: $(first_line "$TL_TMP/bad.out")"
[ ! -e "$TL_TMP/no" ] || error "-o into a missing directory: something was made there"

# SIGKILL while the output file is open: threadleak check -o FILE holds it
# open as long as its command runs, so the kill lands mid-way for sure
cp "$file" "$TL_TMP/before.json" || fail "cannot copy $file"
cmdpid=$TL_TMP/cmd.pid
at_exit "[ -s '$cmdpid' ] && kill -KILL \$(cat '$cmdpid') 2>/dev/null"
"$THREADLEAK" check -o "$file" -- sh -c 'echo $$ >"$1"; exec sleep 600' sh "$cmdpid" \
	</dev/null >"$TL_TMP/kill.out" 2>"$TL_TMP/kill.out.err" &
tl=$!
register_pid "$tl"
# its output file open: a descriptor of threadleak's into the directory
out_open()
{
	local l
	for l in /proc/"$tl"/fd/*; do
		[[ $(readlink "$l" 2>/dev/null) == "$dir/"* ]] && return 0
	done
	return 1
}
wait_for 30 out_open || fail "check -o: no output file open in $dir after 30s: $(first_line "$TL_TMP/kill.out.err")"
wait_for 30 test -s "$cmdpid" || fail "check -o: its command did not start: $(first_line "$TL_TMP/kill.out.err")"
kill_target "$tl"
kill -KILL "$(cat "$cmdpid")" 2>/dev/null
[ "$(ls -A "$dir" | grep -v '^quiet\.json$' | tr '\n' ' ')" = "saved.json " ] ||
	error "SIGKILL with -o FILE open: its directory holds [$(ls -A "$dir" | tr '\n' ' ')], expected saved.json and quiet.json only"
cmp -s "$file" "$TL_TMP/before.json" ||
	error "SIGKILL with -o FILE open: FILE changed: $(head -c 200 "$file")"

# a snapshot file that is a FIFO with no writer, a directory, an empty device:
# one line, exit 2, at once
fifo=$TL_TMP/fifo
mkfifo "$fifo" || fail "cannot make a FIFO"
mkdir "$TL_TMP/adir" || fail "cannot make a directory"
bad_input()
{
	local what=$1 bad=$2 rc
	shift 2
	timeout -k 5 10 "$THREADLEAK" "$@" </dev/null >"$TL_TMP/in.out" 2>"$TL_TMP/in.out.err"
	rc=$?
	if ((rc == 124 || rc == 137)); then
		error "$* ($what): hung (killed after 10s)"
	elif ((rc != 2)); then
		error "$* ($what): $(describe_rc $rc), expected 2: $(first_line "$TL_TMP/in.out.err")"
	elif [ "$(wc -l <"$TL_TMP/in.out.err")" != 1 ] || ! grep -qF "threadleak: $bad: " "$TL_TMP/in.out.err"; then
		error "$* ($what): not one line naming $bad: $(head -c 300 "$TL_TMP/in.out.err" | tr '\n' '|')"
	fi
}
bad_input "a FIFO with no writer" "$fifo" diff "$fifo" "$file"
bad_input "a FIFO with no writer" "$fifo" diff "$file" "$fifo"
bad_input "a FIFO with no writer" "$fifo" export -f json "$fifo"
bad_input "a directory" "$TL_TMP/adir" diff "$TL_TMP/adir" "$file"
bad_input "a directory" "$TL_TMP/adir" export -f folded "$TL_TMP/adir"
bad_input "an empty device" /dev/null export -f json /dev/null
# a pipe with a writer is still read
run_tl "$TL_TMP/pipe.out" export -f json <(cat "$file")
((TL_RC == 0)) || error "export of a pipe: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/pipe.out.err")"

proc_alive "$TARGET_PID" || error "the target died"
finish
