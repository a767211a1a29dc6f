#!/bin/bash
# wait-other: a thread blocked in a system call that no other wait kind
# covers is of kind "other", shown with the call's name (man page, WAIT
# KINDS).  testdata/otherwait has one thread in io_getevents and one in the
# openat of a FIFO nobody writes; it prints each thread's tid, the call's
# name and number (checked in its own /proc/self/task/TID/syscall) and the
# function that made the call.  In the JSON snapshot each of those threads
# has wait.kind "other", wait.syscall the name, wait.syscall_nr the number,
# that function on its stack and no partial; in the grouped text its group
# says "other (NAME)", in the per-thread text (-t) its line does.  Nothing
# is disturbed: no call returns EINTR, no thread is left stopped.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata otherwait

fifo=$TL_TMP/fifo
mkfifo "$fifo" || fail "cannot make a FIFO in $TL_TMP"
start_target "$TESTDATA/otherwait" "$fifo"
pid=$TARGET_PID

# expect TID NAME NR FUNCTION, from the program
mapfile -t expects < <(grep '^expect ' "$TARGET_OUT")
at_least "${#expects[@]}" 2 "threads otherwait says are blocked in an uncovered call"

snapshot_json "$pid" "$TL_TMP/snap.json"
((TL_RC == 0)) || fail "snapshot --json: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/snap.json.err")"
snap_valid "$TL_TMP/snap.json" "$pid" || fail "snapshot --json: not a snapshot of $pid: $(first_line "$TL_TMP/snap.json")"
run_tl "$TL_TMP/snap.txt" snapshot --color=never "$pid"
((TL_RC == 0)) || fail "snapshot (text): $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/snap.txt.err")"
run_tl "$TL_TMP/threads.txt" snapshot -t --color=never "$pid"
((TL_RC == 0)) || fail "snapshot -t: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/threads.txt.err")"

checked=0
for line in "${expects[@]}"; do
	read -r _ tid name nr func <<<"$line"
	label="thread $tid ($name)"
	got=$(jq -r --argjson tid "$tid" '.threads[] | select(.tid == $tid) |
		"\(.wait.kind)|\(.wait.syscall)|\(.wait.syscall_nr)|\(.partial)|" +
		([.frames[]? | .function // "?"] | join(","))' "$TL_TMP/snap.json")
	if [ -z "$got" ]; then
		error "$label: not in the JSON snapshot"
		continue
	fi
	IFS='|' read -r kind sc scnr partial funcs <<<"$got"
	[ "$kind" = other ] || error "$label: JSON wait.kind '$kind', expected other"
	[ "$sc" = "$name" ] || error "$label: JSON wait.syscall '$sc', expected $name"
	[ "$scnr" = "$nr" ] || error "$label: JSON wait.syscall_nr '$scnr', expected $nr"
	[ "$partial" = false ] || error "$label: partial in the JSON snapshot"
	has_function "$funcs" "$func" || error "$label: $func not on its stack: $funcs"

	# grouped text: the header of the group whose "threads:" line lists it
	header=$(awk -v tid="$tid" '
		/^[0-9]+ threads?  / { h = $0 }
		/^  threads: / && h != "" {
			s = $0; sub(/.*\[/, "", s); sub(/\].*/, "", s)
			n = split(s, t, " ")
			for (i = 1; i <= n; i++) if (t[i] == tid) { print h; exit }
		}' "$TL_TMP/snap.txt")
	if [ -z "$header" ]; then
		error "$label: in no group of the text report"
	else
		[[ $header =~ ^[0-9]+\ threads?\ \ other\ \($name\)\ \  ]] ||
			error "$label: its group in the text report is '$header', expected kind 'other ($name)'"
	fi
	# per-thread text
	tline=$(grep -E "^thread $tid " "$TL_TMP/threads.txt")
	if [ -z "$tline" ]; then
		error "$label: no line 'thread $tid' in snapshot -t"
	else
		[[ $tline == *" state S  other ($name)  "* ]] ||
			error "$label: snapshot -t says '$tline', expected 'state S  other ($name)'"
	fi
	checked=$((checked + 1))
done
at_least "$checked" 2 "threads of kind other checked"

# the summary line counts them
n_other=$(sed -n '1s/.* \([0-9][0-9]*\) other.*/\1/p' "$TL_TMP/snap.txt")
[ "$n_other" = "${#expects[@]}" ] ||
	error "summary line '$(first_line "$TL_TMP/snap.txt")': expected ${#expects[@]} other"

grep -q '^eintr ' "$TARGET_OUT" && error "a blocking call was interrupted: $(grep '^eintr ' "$TARGET_OUT" | head -2 | tr '\n' ' ')"
assert_not_stopped "$pid" "after the snapshots"
finish
