#!/bin/bash
# go-versions: the newest Go release and a Go newer than threadleak's
# tables, with and without DWARF, and Go releases older than it reads.
# GO_NEXT in tests/go-lib.sh (go1.27.4) and GO_OLD_RELEASES (go1.17.13,
# go1.18.10) come from the Go module proxy with curl and are kept in
# TL_GO_CACHE, ~/.cache/threadleak-tests/go (go_fetch_toolchain: no Go
# 1.21 needed; scripts/deps.sh test fetches them).
#   - GO_NEXT built with DWARF: its layouts are built in (go_layouts
#     "built-in"); read as a Go newer than the tables
#     (THREADLEAK_GO_LAYOUT=newer), from its DWARF ("dwarf"): every
#     goroutine as the program's own dump says, and what the leaks wait
#     on; every goroutine, the runtime's too, and every frame as the
#     runtime's own dump says (compare_with_system_dump);
#   - GO_NEXT stripped (-ldflags='-s -w'): its goroutines read by default
#     ("built-in") and, as a Go newer than the tables, from the runtime's
#     own type descriptors ("types", go/layout-types.c), each as the
#     program's own dump says, and the same as each other in one process
#     (but what moves);
#   - the stripped binary with the one name the type reader looks for
#     ("waitsince") changed, read as a newer Go: nothing says its
#     layouts: one line on stderr that names the version, the threads
#     shown, exit status 1, nothing stopped;
#   - a Go before 1.19 (testdata/go/oldgo, stripped): one line on stderr
#     that says so, "goroutines not read", the threads shown, nothing
#     stopped, no frame taken for a JIT's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3
need_threadleak

go_next_toolchain || fail "$LEAKY_ERROR"
go=$GO_NEXT_GO
v=$(go_version "$go")
[ "$v" = "$GO_NEXT" ] || fail "$go runs as '$v', not $GO_NEXT"

# layouts_read LABEL JSON EXPECTED: the snapshot exited 0, of version v,
# its layouts from EXPECTED, nothing stopped, not partial
layouts_read()
{
	local got
	((TL_RC == 0)) || { error "$1: snapshot: $(describe_rc "$TL_RC"): $(first_line "$2.err")"; return 1; }
	got=$(jq -r '"\(.runtime) \(.go_layouts) \(.threads_stopped) \(.partial)"' "$2" 2>&1)
	[ "$got" = "$v $3 0 false" ] || error "$1: runtime, layouts, stopped, partial: '$got', expected '$v $3 0 false'"
}

# with DWARF
if build_leaky_cached "$go" plain; then
	start_leaky "$LEAKY_BIN" -n 3 -requests 5
	json=$TL_TMP/plain.json
	snapshot_json "$LEAKY_PID" "$json"
	layouts_read "$v" "$json" built-in
	json=$TL_TMP/plain-newer.json
	THREADLEAK_GO_LAYOUT=newer snapshot_json "$LEAKY_PID" "$json"
	if layouts_read "$v (newer)" "$json" dwarf; then
		check_waits "$v (newer)" "$json"
		compare_with_dump "$v (newer)" "$json" "$LEAKY_PID"
	fi
	THREADLEAK_GO_LAYOUT=newer compare_with_system_dump "$v (newer)" "$LEAKY_PID"
	note "$v: $SYSTEM_SUMMARY"
else
	error "$LEAKY_ERROR"
fi

# stripped: the built-in layouts, and the runtime's type descriptors
if build_leaky_cached "$go" stripped; then
	stripped=$LEAKY_BIN
	start_leaky "$stripped" -n 3 -requests 5
	for how in "" newer; do
		label="$v stripped${how:+ ($how)}"
		json=$TL_TMP/stripped-${how:-default}.json
		THREADLEAK_GO_LAYOUT=$how snapshot_json "$LEAKY_PID" "$json"
		want=built-in
		[ -n "$how" ] && want=types
		layouts_read "$label" "$json" $want || continue
		check_waits "$label" "$json"
		compare_with_dump "$label" "$json" "$LEAKY_PID"
		python3 "$GO_ORACLE" threadleak "$json" | grep -Ev "$LEAKY_MOVING" >"$json.canon" ||
			error "$label: go-oracle cannot read threadleak's snapshot"
	done
	a=$TL_TMP/stripped-default.json.canon b=$TL_TMP/stripped-newer.json.canon
	if [ -s "$a" ] && [ -s "$b" ] && ! cmp -s "$a" "$b"; then
		error "$v stripped: the goroutines read from the type descriptors differ from those read with the built-in layouts: $(diff "$a" "$b" | head -6 | cut -c 1-300 | tr '\n' '|')"
	fi
	kill_target "$LEAKY_PID"
else
	error "$LEAKY_ERROR"
	stripped=
fi

# stripped, and no type descriptor found: no layouts
if [ -n "$stripped" ]; then
	bin=$TL_TMP/leaky-$v-notypes
	if ! out=$(python3 - "$stripped" "$bin" 2>&1 <<-'PY'
		import os, sys
		data = open(sys.argv[1], "rb").read()
		name = b"\x00\x09waitsince"
		if data.count(name) != 1:
		    sys.exit("%d names 'waitsince' in %s, expected 1" % (data.count(name), sys.argv[1]))
		open(sys.argv[2], "wb").write(data.replace(name, b"\x00\x09waitsincX"))
		os.chmod(sys.argv[2], 0o755)
		PY
	); then
		error "$v: cannot change the name in the stripped binary: $out"
	else
		start_leaky "$bin" -n 1
		THREADLEAK_GO_LAYOUT=newer run_tl "$TL_TMP/text" snapshot "$LEAKY_PID"
		label="$v without type descriptors (newer)"
		((TL_RC == 1)) || error "$label: exit status $TL_RC ($(describe_rc "$TL_RC")), expected 1"
		[ "$(wc -l <"$TL_TMP/text.err")" = 1 ] || error "$label: stderr is not one line: $(head -c 300 "$TL_TMP/text.err")"
		grep -q "^threadleak: snapshot of $LEAKY_PID: $v: the layouts of this Go version are not known (1.19 to 1.27 are) and the binary has neither DWARF nor the runtime's type descriptors" "$TL_TMP/text.err" ||
			error "$label: stderr: $(first_line "$TL_TMP/text.err")"
		grep -q "^leaky-[^ ]* (pid $LEAKY_PID): $v, goroutines not read, [0-9]* threads — " "$TL_TMP/text" ||
			error "$label: summary: $(first_line "$TL_TMP/text")"
		grep -q '; no thread stopped$' "$TL_TMP/text" || error "$label: a thread was stopped: $(sed -n 2p "$TL_TMP/text")"
		grep -Eq '^[0-9]+ threads?  ' "$TL_TMP/text" || error "$label: no thread groups in the output"
		kill_target "$LEAKY_PID"
	fi
fi

# Go before 1.19: one line
for old in $GO_OLD_RELEASES; do
	if ! go_fetch_toolchain "$old"; then
		error "$old: $LEAKY_ERROR (scripts/deps.sh test fetches it)"
		continue
	fi
	build_oldgo_cached "$GO_FETCHED" || { error "$LEAKY_ERROR"; continue; }
	start_target "$OLDGO_BIN"
	pid=$TARGET_PID
	run_tl "$TL_TMP/old" snapshot "$pid"
	((TL_RC == 1)) || error "$old: exit status $TL_RC ($(describe_rc "$TL_RC")), expected 1"
	[ "$(wc -l <"$TL_TMP/old.err")" = 1 ] || error "$old: stderr is not one line: $(head -c 300 "$TL_TMP/old.err")"
	grep -q "^threadleak: snapshot of $pid: $old: Go releases before 1\.19 are not supported: goroutines not read" "$TL_TMP/old.err" ||
		error "$old: stderr: $(first_line "$TL_TMP/old.err")"
	grep -q "^oldgo-[^ ]* (pid $pid): $old, goroutines not read, [0-9]* threads — " "$TL_TMP/old" ||
		error "$old: summary: $(first_line "$TL_TMP/old")"
	grep -q '; no thread stopped$' "$TL_TMP/old" || error "$old: a thread was stopped: $(sed -n 2p "$TL_TMP/old")"
	! grep -q 'JIT' "$TL_TMP/old" || error "$old: a frame taken for a JIT's: $(grep -m1 JIT "$TL_TMP/old")"
	kill_target "$pid"
done

finish
