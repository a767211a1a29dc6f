#!/bin/bash
# gdb-agree: on the program's own frames, threadleak's stacks agree with
# gdb's "thread apply all bt" for every blocked thread of waits (-O2, -O0
# and frame-pointer builds): the same functions, in the same order, at the
# same lines.  The threads are those waits announces ("expect" lines), in
# gdb's output and in the snapshot, no more, no fewer; gdb's frames of each
# blocked thread include the function waits says it waits in.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_cmd gdb
need_threadleak
need_testdata waits waits-O0 waits-fp

check_build()
{
	local prog=$1 json gdbout tid kind fn ours theirs compared=0 rc
	local -A GDB=() OURS=() EXPECT=()

	start_target "$TESTDATA/$prog"
	# waits announces every thread: "expect TID KIND FUNCTION"
	while read -r _ tid kind fn; do
		EXPECT[$tid]="$kind $fn"
	done < <(grep '^expect ' "$TARGET_OUT")
	at_least "${#EXPECT[@]}" 24 "$prog: threads announced" || return
	json=$TL_TMP/$prog.json
	snapshot_json "$TARGET_PID" "$json"
	((TL_RC == 0)) || { error "$prog: threadleak $(describe_rc $TL_RC): $(first_line "$json.err")"; return; }
	gdbout=$TL_TMP/$prog.gdb
	timeout 120 gdb -p "$TARGET_PID" -batch -nx -ex 'set pagination off' \
		-ex 'thread apply all bt' >"$gdbout" 2>&1
	rc=$?
	assert_not_stopped "$TARGET_PID" "$prog after gdb"
	((rc == 0)) || { error "$prog: gdb $(describe_rc $rc): $(tail -c 300 "$gdbout")"; return; }

	# gdb: "Thread 3 (Thread 0x7f.. (LWP 1234) "name"):" then "#0  0x.. in f (..) at waits.c:12"
	# or "#1  f (...) at waits.c:12"; keep frames in waits.c as "f:line".
	while IFS=$'\t' read -r tid frames; do
		GDB[$tid]=$frames
	done < <(awk '
		/^Thread [0-9]+ \(Thread .*LWP [0-9]+/ {
			if (tid) print tid "\t" f
			match($0, /LWP [0-9]+/); tid = substr($0, RSTART + 4, RLENGTH - 4); f = ""
		}
		/^#[0-9]+ / && / at [^ ]*waits\.c:[0-9]+/ {
			line = $0; sub(/^#[0-9]+ +(0x[0-9a-f]+ in )?/, "", line)
			fn = line; sub(/ .*/, "", fn)
			match(line, /waits\.c:[0-9]+/); ln = substr(line, RSTART + 8, RLENGTH - 8)
			f = f (f ? "|" : "") fn ":" ln
		}
		END { if (tid) print tid "\t" f }' "$gdbout")
	((${#GDB[@]} > 10)) || { error "$prog: could not read gdb's output: $(head -c 300 "$gdbout")"; return; }
	while IFS=$'\t' read -r tid ours; do
		OURS[$tid]=$ours
	done < <(jq -r '.threads[] | [(.tid | tostring),
		([.frames[] | select((.file // "") | endswith("waits.c")) |
		  "\(.function):\(.line)"] | join("|"))] | @tsv' "$json")

	# the threads, all three ways: those waits announced, gdb's, the snapshot's
	for tid in "${!EXPECT[@]}"; do
		[ -n "${GDB[$tid]+set}" ] || error "$prog: thread $tid (${EXPECT[$tid]}) not in gdb's output"
		[ -n "${OURS[$tid]+set}" ] || error "$prog: thread $tid (${EXPECT[$tid]}) not in the snapshot"
	done
	for tid in "${!GDB[@]}"; do
		[ -n "${EXPECT[$tid]+set}" ] || error "$prog: thread $tid in gdb's output, not announced by $prog"
	done
	for tid in "${!OURS[@]}"; do
		[ -n "${EXPECT[$tid]+set}" ] || error "$prog: thread $tid in the snapshot, not announced by $prog"
	done

	# the frames of every blocked thread (the spinning one moves)
	for tid in "${!EXPECT[@]}"; do
		read -r kind fn <<<"${EXPECT[$tid]}"
		[ "$kind" = running ] && continue
		[ -n "${GDB[$tid]+set}" ] && [ -n "${OURS[$tid]+set}" ] || continue
		theirs=${GDB[$tid]} ours=${OURS[$tid]}
		# gdb itself shows the function the thread waits in
		[[ "|$theirs" == *"|$fn:"* ]] ||
			{ error "$prog: thread $tid ($kind): gdb's frames [$theirs] lack $fn"; continue; }
		[ "$ours" = "$theirs" ] ||
			error "$prog: thread $tid ($kind): threadleak [$ours] gdb [$theirs]"
		compared=$((compared + 1))
	done
	at_least "$compared" 23 "$prog: blocked threads compared with gdb"
	kill_target "$TARGET_PID"
}

check_build waits
check_build waits-O0
check_build waits-fp
finish
