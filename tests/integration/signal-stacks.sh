#!/bin/bash
# signal-stacks: threads blocked inside signal handlers (testdata/sigstack:
# one handler on an alternate signal stack, one on the thread's own): the
# unwinding goes through the kernel's signal frame (glibc's __restore_rt)
# into the interrupted code and on to the thread's start, with either
# unwinder, with and without --stop: exit 0, each stack whole and in
# order (handler, __restore_rt, interrupted function, start_thread), and
# every frame equal to gdb's on the same threads.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata sigstack
need_cmd jq gdb python3

start_target "$TESTDATA/sigstack"
pid=$TARGET_PID
for mode in "--unwinder=libdw" "--unwinder=libunwind" "--stop"; do
	json=$TL_TMP/snap${mode//[^a-z]/}.json
	snapshot_json "$pid" "$json" "$mode"
	((TL_RC == 0)) || error "$mode: $(describe_rc "$TL_RC"): $(first_line "$json.err")"
	while read -r _ tid handler interrupted; do
		order=$(jq -r --argjson t "$tid" --arg h "$handler" --arg i "$interrupted" '
			.threads[] | select(.tid == $t) |
			if .partial then "partial: \(.error)" else
			[.frames[].function // "" |
			 select(. == $h or . == "__restore_rt" or . == $i or . == "start_thread")] |
			join(" ") end' "$json")
		[ "$order" = "$handler __restore_rt $interrupted start_thread" ] ||
			error "$mode: thread $tid: '$order', expected '$handler __restore_rt $interrupted start_thread'"
	done < <(grep '^expect ' "$TARGET_OUT")
done
assert_not_stopped "$pid"
timeout 120 gdb -p "$pid" -batch -ex 'thread apply all bt' >"$TL_TMP/gdb.txt" 2>/dev/null </dev/null
for u in libdw libunwind; do
	python3 "$TL_ROOT/tests/gdb-compare.py" "$TL_TMP/snapunwinder$u.json" "$TL_TMP/gdb.txt" \
		--min-threads 3 >"$TL_TMP/cmp" 2>"$TL_TMP/cmp.err" ||
		error "$u: not gdb's stacks: $(head -c 600 "$TL_TMP/cmp.err" | tr '\n' ';')"
done
assert_not_stopped "$pid"
finish
