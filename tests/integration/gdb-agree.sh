#!/bin/bash
# gdb-agree: on the program's own frames, threadleak's stacks agree with
# gdb's "thread apply all bt" for every blocked thread of waits (-O2, -O0
# and frame-pointer builds): the same functions, in the same order, at the
# same lines.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_cmd gdb
need_threadleak
need_testdata waits waits-O0 waits-fp

check_build()
{
	local prog=$1 json gdbout tid ours theirs compared=0
	local -A GDB=()

	start_target "$TESTDATA/$prog"
	json=$TL_TMP/$prog.json
	snapshot_json "$TARGET_PID" "$json"
	((TL_RC == 0)) || { error "$prog: threadleak $(describe_rc $TL_RC)"; return; }
	gdbout=$TL_TMP/$prog.gdb
	timeout 120 gdb -p "$TARGET_PID" -batch -nx -ex 'set pagination off' \
		-ex 'thread apply all bt' >"$gdbout" 2>&1
	assert_not_stopped "$TARGET_PID" "$prog after gdb"

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
		[ -n "${GDB[$tid]+set}" ] || { error "$prog: thread $tid not in gdb's output"; continue; }
		theirs=${GDB[$tid]}
		[ "$ours" = "$theirs" ] ||
			error "$prog: thread $tid: threadleak [$ours] gdb [$theirs]"
		compared=$((compared + 1))
	done < <(jq -r '.threads[] | select(.state != "R") | [(.tid | tostring),
		([.frames[] | select((.file // "") | endswith("waits.c")) |
		  "\(.function):\(.line)"] | join("|"))] | @tsv' "$json")
	((compared >= 20)) || error "$prog: compared only $compared threads"
	kill_target "$TARGET_PID"
}

check_build waits
check_build waits-O0
check_build waits-fp
finish
