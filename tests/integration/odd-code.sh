#!/bin/bash
# odd-code: code that has little to say about itself must not crash or
# stall threadleak, and must show what can be known:
#   - a stripped executable: module+offset frames, libc frames still named;
#   - a deleted executable: still symbolized (through /proc/PID/map_files);
#   - JIT-like anonymous code: a bare pc, the stack marked partial (exit 1);
#   - DWARF without .debug_aranges (clang's default): the same functions,
#     file:line and inline frames as with it; a clang build (DWARF 5,
#     no .debug_aranges; scripts/deps.sh installs clang) has its lines.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata waits jit demo

# stripped
cp "$TESTDATA/waits" "$TL_TMP/waits-stripped"
strip "$TL_TMP/waits-stripped"
start_target "$TL_TMP/waits-stripped"
json=$TL_TMP/stripped.json
for u in libdw libunwind; do
	snapshot_json "$TARGET_PID" "$json" --unwinder=$u
	((TL_RC == 0)) || error "stripped ($u): $(describe_rc $TL_RC): $(first_line "$json.err")"
	n=$(jq '[.threads[].frames[] | select((.module // "") | endswith("waits-stripped")) | select(.function == null and .offset != null)] | length' "$json")
	((n > 20)) || error "stripped ($u): expected module+offset frames of the executable, got $n"
	jq -e '[.threads[].frames[].function] | index("start_thread")' "$json" >/dev/null ||
		error "stripped ($u): libc frames lost their names"
	jq -e '[.threads[] | select(.wait.kind == "mutex")] | length == 3' "$json" >/dev/null ||
		error "stripped ($u): expected 3 mutex waiters"
done
assert_not_stopped "$TARGET_PID" "stripped"
kill_target "$TARGET_PID"

# deleted
cp "$TESTDATA/waits" "$TL_TMP/waits-deleted"
start_target "$TL_TMP/waits-deleted"
rm -f "$TL_TMP/waits-deleted"
json=$TL_TMP/deleted.json
snapshot_json "$TARGET_PID" "$json"
((TL_RC == 0)) || error "deleted: $(describe_rc $TL_RC): $(first_line "$json.err")"
jq -e '[.threads[].frames[].function] | index("stuck_in_mutex")' "$json" >/dev/null ||
	error "deleted: the executable's functions are not named"
assert_not_stopped "$TARGET_PID" "deleted"
kill_target "$TARGET_PID"

# without .debug_aranges: each program's own frames (function, file:line,
# inlined or not) of its blocked threads, as a set, must be those of the
# same program with the section
own_frames()	# own_frames JSON PROGNAME
{
	jq -r --arg p "$2" '.threads[] | select(.wait.kind != "running") | .frames[] |
		select((.module // "") | endswith("/" + $p)) |
		"\(.function) \(.file):\(.line) \(.inlined)"' "$1" | sort -u
}
need_cmd objcopy
for prog in waits demo; do
	objcopy --remove-section .debug_aranges "$TESTDATA/$prog" "$TL_TMP/$prog-noar" ||
		fail "objcopy failed on $prog"
	for build in "$TESTDATA/$prog" "$TL_TMP/$prog-noar"; do
		start_target "$build"
		json=$TL_TMP/$(basename "$build").json
		cp "$TARGET_OUT" "$TL_TMP/$(basename "$build").out"
		snapshot_json "$TARGET_PID" "$json"
		((TL_RC == 0)) || error "$(basename "$build"): $(describe_rc $TL_RC): $(first_line "$json.err")"
		kill_target "$TARGET_PID"
	done
	with=$(own_frames "$TL_TMP/$prog.json" "$prog")
	without=$(own_frames "$TL_TMP/$prog-noar.json" "$prog-noar")
	grep -q ':[0-9]' <<<"$with" || error "$prog: no file:line in its own frames: $with"
	# equal sets prove nothing if both lost the names: every frame with a
	# line is named, and there are a few of them
	n=$(grep -c '^[^ ]* [^ ]*:[0-9]' <<<"$with")
	at_least "$n" 5 "$prog: its own frames with a file:line"
	grep -q '^null [^ ]*:[0-9]' <<<"$with" &&
		error "$prog: own frames with a line but no function: $(grep '^null ' <<<"$with" | head -3 | tr '\n' ' ')"
	# waits says which function each blocked thread waits in
	if [ "$prog" = waits ]; then
		expected=0
		while read -r _ _ kind fn; do
			[ "$kind" = running ] && continue
			expected=$((expected + 1))
			grep -q "^$fn [^ ]*waits\.c:[0-9]" <<<"$with" ||
				error "waits: $fn (a $kind waiter) not among its own frames"
		done < <(grep '^expect ' "$TL_TMP/waits.out")
		at_least "$expected" 20 "waits: blocked threads it announced"
	fi
	[ "$with" = "$without" ] ||
		error "$prog without .debug_aranges: frames differ: $(diff <(echo "$with") <(echo "$without") | head -5 | tr '\n' ' ')"
done
grep -q ' true$' <<<"$(own_frames "$TL_TMP/demo-noar.json" demo-noar)" ||
	error "demo without .debug_aranges: no inline frame"
# the real case, clang's own build (scripts/deps.sh installs clang): its
# DWARF 5 has no .debug_aranges
if ! command -v clang >/dev/null; then
	partial "no clang here: the clang-built case (DWARF 5 without .debug_aranges) is not run"
else
	clang -g -O2 -pthread -o "$TL_TMP/waits-clang" "$TESTDATA/waits.c" 2>"$TL_TMP/clang.err" ||
		fail "clang cannot build waits: $(head -c 300 "$TL_TMP/clang.err")"
	readelf -S "$TL_TMP/waits-clang" >"$TL_TMP/clang.sections" ||
		fail "readelf cannot read the clang build"
	grep -q ' \.debug_info ' "$TL_TMP/clang.sections" ||
		fail "the clang build has no .debug_info: $(head -c 300 "$TL_TMP/clang.sections")"
	grep -q ' \.debug_aranges ' "$TL_TMP/clang.sections" &&
		partial "this clang writes .debug_aranges: its build is not the case without them"
	start_target "$TL_TMP/waits-clang"
	json=$TL_TMP/clang.json
	snapshot_json "$TARGET_PID" "$json"
	((TL_RC == 0)) || error "clang: $(describe_rc $TL_RC): $(first_line "$json.err")"
	for fn in stuck_in_mutex stuck_in_condvar main; do
		jq -e --arg f "$fn" '[.threads[].frames[] | select(.function == $f) |
			select((.file // "") | endswith("waits.c")) | select(.line > 0)] | length > 0' \
			"$json" >/dev/null || error "clang: $fn has no waits.c line"
	done
	kill_target "$TARGET_PID"
fi

# jit: it prints one "expect TID KIND jit" for each of its 2 JIT threads
start_target "$TESTDATA/jit"
nexpect=$(grep -c '^expect ' "$TARGET_OUT")
[ "$nexpect" = 2 ] || fail "jit printed $nexpect expect lines, 2 expected: $(head -c 300 "$TARGET_OUT")"
checked=0
for u in libdw libunwind; do
	json=$TL_TMP/jit-$u.json
	snapshot_json "$TARGET_PID" "$json" --unwinder=$u
	# exit 1: the JIT threads' stacks are partial, nothing else may be
	((TL_RC == 1)) || error "jit ($u): $(describe_rc $TL_RC), expected 1 (partial)"
	while read -r _ tid kind _; do
		got=$(jq -r ".threads[] | select(.tid == $tid) |
			\"\(.wait.kind) \(.partial) \(.frames[0].module) \(.frames[0].pc | startswith(\"0x\"))\"" "$json")
		[ "$got" = "$kind true null true" ] ||
			error "jit ($u): thread $tid: got '$got', expected '$kind true null true'"
		checked=$((checked + 1))
	done < <(grep '^expect ' "$TARGET_OUT")
	jq -e --arg t "$(grep '^expect ' "$TARGET_OUT" | cut -d' ' -f2 | paste -sd,)" '
		($t | split(",") | map(tonumber)) as $jit |
		[.threads[] | select(.partial and (.tid as $x | $jit | index($x) | not))] | length == 0' \
		"$json" >/dev/null ||
		error "jit ($u): threads other than the JIT ones partial: $(jq -c '[.threads[] | select(.partial) | .tid]' "$json")"
done
at_least "$checked" 4 "jit: JIT threads checked (2 threads, 2 unwinders)"
assert_not_stopped "$TARGET_PID" "jit"
finish
