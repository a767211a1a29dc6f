#!/bin/bash
# go-versions: a Go release whose layouts threadleak does not have built in
# (GO_NEXT in tests/go-lib.sh: go1.27.3, its toolchain fetched from the Go
# module proxy with curl and kept in TL_GO_CACHE, ~/.cache/threadleak-tests/go:
# go_fetch_toolchain; no Go 1.21 needed).
#   - built with DWARF, its layouts are read from it: every goroutine as
#     the program's own dump says, and what the leaks wait on; every
#     goroutine, the runtime's too, and every frame as the runtime's own
#     dump says (compare_with_system_dump);
#   - stripped (-ldflags='-s -w'), nothing says its layouts: one line on
#     stderr that names the version, the threads shown, exit status 1,
#     nothing stopped.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3
need_threadleak

go_next_toolchain || fail "$LEAKY_ERROR"
go=$GO_NEXT_GO
v=$(go_version "$go")
[ "$v" = "$GO_NEXT" ] || fail "$go runs as '$v', not $GO_NEXT"

# with DWARF
bin=$TL_TMP/leaky-$v
if build_leaky "$go" plain "$bin"; then
	start_leaky "$bin" -n 3 -requests 5
	json=$TL_TMP/plain.json
	snapshot_json "$LEAKY_PID" "$json"
	((TL_RC == 0)) || error "$v: snapshot: $(describe_rc "$TL_RC"): $(first_line "$json.err")"
	got=$(jq -r '"\(.runtime) \(.go_layouts) \(.threads_stopped)"' "$json" 2>&1)
	[ "$got" = "$v dwarf 0" ] || error "$v: runtime, layouts, stopped: '$got', expected '$v dwarf 0'"
	check_waits "$v" "$json"
	compare_with_dump "$v" "$json" "$LEAKY_PID"
	compare_with_system_dump "$v" "$LEAKY_PID"
	note "$v: $SYSTEM_SUMMARY"
else
	error "$LEAKY_ERROR"
fi

# stripped: no layouts
bin=$TL_TMP/leaky-$v-stripped
if build_leaky "$go" stripped "$bin"; then
	start_leaky "$bin" -n 1
	run_tl "$TL_TMP/text" snapshot "$LEAKY_PID"
	((TL_RC == 1)) || error "$v stripped: exit status $TL_RC ($(describe_rc "$TL_RC")), expected 1"
	[ "$(wc -l <"$TL_TMP/text.err")" = 1 ] || error "$v stripped: stderr is not one line: $(head -c 300 "$TL_TMP/text.err")"
	grep -q "^threadleak: snapshot of $LEAKY_PID: $v: the layouts of this Go version are not known" "$TL_TMP/text.err" ||
		error "$v stripped: stderr: $(first_line "$TL_TMP/text.err")"
	grep -q "^leaky-[^ ]* (pid $LEAKY_PID): $v, goroutines not read, [0-9]* threads — " "$TL_TMP/text" ||
		error "$v stripped: summary: $(first_line "$TL_TMP/text")"
	grep -q '; no thread stopped$' "$TL_TMP/text" || error "$v stripped: a thread was stopped: $(sed -n 2p "$TL_TMP/text")"
	grep -Eq '^[0-9]+ threads?  ' "$TL_TMP/text" || error "$v stripped: no thread groups in the output"
	kill_target "$LEAKY_PID"
else
	error "$LEAKY_ERROR"
fi

finish
