#!/bin/bash
# output-file: `snapshot -o FILE` writes a JSON snapshot that jq parses and
# that has the same threads (and, for blocked threads, the same waits) as
# --json; -o into a missing directory is an error (exit 2).
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata waits

start_target "$TESTDATA/waits"
wait_blocked "$TARGET_PID" "$TARGET_PID" || fail "main thread never blocked"

file=$TL_TMP/saved.json
run_tl "$TL_TMP/o.out" snapshot -o "$file" "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "-o FILE"
((TL_RC == 0)) || fail "snapshot -o FILE: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/o.out.err")"
[ -s "$file" ] || fail "snapshot -o FILE: $file not written"
jq -e . "$file" >/dev/null 2>&1 || fail "snapshot -o FILE: $file is not JSON: $(head -c 200 "$file")"
snap_valid "$file" "$TARGET_PID" ||
	error "-o FILE: not a threadleak snapshot (format/version/pid/threads) of $TARGET_PID"

json=$TL_TMP/stdout.json
snapshot_json "$TARGET_PID" "$json"
assert_not_stopped "$TARGET_PID" "--json"
((TL_RC == 0)) || fail "snapshot --json: $(describe_rc $TL_RC), expected 0: $(first_line "$json.err")"

a=$(snap_tids "$file" | tr '\n' ' ')
b=$(snap_tids "$json" | tr '\n' ' ')
[ "$a" = "$b" ] || error "-o FILE has threads [$a], --json has [$b]"

# blocked threads: same kind and functions in both
waits_of()
{
	snap_table "$1" | awk -F'\t' '$2 != "R" { print $1, $3, $5 }' | sort -n
}
diff <(waits_of "$file") <(waits_of "$json") >"$TL_TMP/diff" ||
	error "-o FILE and --json differ on blocked threads: $(head -c 400 "$TL_TMP/diff" | tr '\n' ' ')"

# -o into a directory that does not exist
run_tl "$TL_TMP/bad.out" snapshot -o "$TL_TMP/no/such/dir/x.json" "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "-o into a missing directory"
((TL_RC == 2)) || error "-o into a missing directory: $(describe_rc $TL_RC), expected 2"
grep -q '^threadleak:' "$TL_TMP/bad.out.err" ||
	error "-o into a missing directory: no 'threadleak:' message on stderr"

proc_alive "$TARGET_PID" || error "the target died"
finish
