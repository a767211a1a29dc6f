#!/bin/bash
# signal-stacks: threads blocked inside signal handlers (testdata/sigstack:
# one handler on an alternate signal stack, one on the thread's own): the
# unwinding goes through the kernel's signal frame (glibc's __restore_rt)
# into the interrupted code and on to the thread's start, with either
# unwinder, with and without --stop: exit 0, each stack whole and in
# order (handler, __restore_rt, interrupted function, start_thread), and
# every thread and frame equal to gdb's on the same process
# (tests/gdb-compare.py: both ways, names, pcs and lines).
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata sigstack
need_cmd jq gdb python3

start_target "$TESTDATA/sigstack"
pid=$TARGET_PID
# sigstack prints one "expect TID HANDLER INTERRUPTED" per handler thread: 2
nexpect=$(grep -c '^expect ' "$TARGET_OUT")
[ "$nexpect" = 2 ] || fail "sigstack printed $nexpect expect lines, 2 expected: $(head -c 300 "$TARGET_OUT")"
modes=("--unwinder=libdw" "--unwinder=libunwind" "--stop")
for mode in "${modes[@]}"; do
	json=$TL_TMP/snap${mode//[^a-z]/}.json
	snapshot_json "$pid" "$json" "$mode"
	((TL_RC == 0)) || error "$mode: $(describe_rc "$TL_RC"): $(first_line "$json.err")"
	checked=0
	while read -r _ tid handler interrupted; do
		order=$(jq -r --argjson t "$tid" --arg h "$handler" --arg i "$interrupted" '
			.threads[] | select(.tid == $t) |
			if .partial then "partial: \(.error)" else
			[.frames[].function // "" |
			 select(. == $h or . == "__restore_rt" or . == $i or . == "start_thread")] |
			join(" ") end' "$json")
		[ "$order" = "$handler __restore_rt $interrupted start_thread" ] ||
			error "$mode: thread $tid: '$order', expected '$handler __restore_rt $interrupted start_thread'"
		checked=$((checked + 1))
	done < <(grep '^expect ' "$TARGET_OUT")
	at_least "$checked" 2 "$mode: handler threads checked"
done
assert_not_stopped "$pid"
timeout 120 gdb -p "$pid" -batch -ex 'thread apply all bt' >"$TL_TMP/gdb.txt" 2>"$TL_TMP/gdb.err" </dev/null
rc=$?
((rc == 0)) || fail "gdb $(describe_rc "$rc"): $(tail -c 300 "$TL_TMP/gdb.err")"
assert_not_stopped "$pid" "after gdb"
# the oracle saw what it is here for: both signal frames
n=$(grep -c '^#[0-9]* *<signal handler called>' "$TL_TMP/gdb.txt")
[ "$n" = 2 ] || fail "gdb shows $n signal frames, 2 expected: $(head -c 600 "$TL_TMP/gdb.txt")"
# nothing starts or ends a thread here: the thread sets must be equal
for mode in "${modes[@]}"; do
	json=$TL_TMP/snap${mode//[^a-z]/}.json
	python3 "$TL_ROOT/tests/gdb-compare.py" "$json" "$TL_TMP/gdb.txt" \
		--min-threads 3 >"$TL_TMP/cmp" 2>"$TL_TMP/cmp.err" ||
		error "$mode: not gdb's stacks: $(head -c 600 "$TL_TMP/cmp.err" | tr '\n' ';') $(cat "$TL_TMP/cmp")"
done
finish
