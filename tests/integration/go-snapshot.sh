#!/bin/bash
# go-snapshot: `threadleak snapshot` of a Go program reads its goroutines
# from its memory, and agrees with the program's own goroutine dump.
# For every Go toolchain here (Debian's 1.19, the newest), and each build
# (default: cgo, dynamic; -ldflags=-w; -ldflags='-s -w'; PIE; static
# without cgo), testdata/go/leaky leaks goroutines in known ways; then:
#   - the snapshot stops no thread, and names the Go version;
#   - every goroutine of the program's (not the runtime's own, which pprof
#     does not show either) has the id, status, wait reason, frames
#     (function, file:line, inlined calls), "created by" and parent
#     goroutine that pprof's debug=2 dump, taken just after, gives it
#     (tests/go-oracle.py puts both in one form); those that run while
#     the dump is written (the dumping one, the pause watcher) aside;
#   - the text output groups them with counts, like debug=1;
#   - beyond pprof, what they wait on: the goroutines of leakSharedMutex
#     one group on the mutex whose address the program printed, the
#     three of leakMutex on three mutexes, each leakTCPRead reading a
#     connection to the listener it printed, each leakPipeRead a pipe;
#   - with DWARF (the default build), the layouts read from it
#     (THREADLEAK_GO_LAYOUT=dwarf) give the same goroutines as the
#     built-in table, and so does a snapshot on one CPU (taskset: its
#     goroutines read without reader threads);
#   - every goroutine, the runtime's own too (go_system), with every frame
#     from runtime.gopark to runtime.goexit, against the dump the runtime
#     writes itself at SIGQUIT with GOTRACEBACK=system, the process
#     stopped in between (go-lib.sh compare_with_system_dump; pprof shows
#     neither the runtime's goroutines nor its frames), down to the line
#     of the innermost runtime.gopark (a parked goroutine's saved pc is a
#     return address, looked up at pc - 1 as Go does).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3 taskset
need_threadleak

gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"

for go in $gos; do
	v=$(go_version "$go")
	for variant in plain nodwarf stripped pie nocgo; do
		label="$v $variant"
		bin=$TL_TMP/leaky-$v-$variant
		build_leaky "$go" "$variant" "$bin" || { error "$LEAKY_ERROR"; continue; }
		start_leaky "$bin" -n 3 -requests 5
		json=$TL_TMP/$v-$variant.json
		snapshot_json "$LEAKY_PID" "$json"
		((TL_RC == 0)) || error "$label: snapshot: $(describe_rc "$TL_RC"): $(first_line "$json.err")"
		got=$(jq -r '[.runtime, .threads_stopped, ([.threads[] | select(.goid)] | length)] | @tsv' "$json" 2>&1)
		read -r rt stopped n <<<"$got"
		[ "$rt" = "$v" ] || error "$label: runtime '$rt', expected $v"
		[ "$stopped" = 0 ] || error "$label: $stopped threads stopped, expected none"
		((n >= 40)) || error "$label: only $n goroutines read"
		compare_with_dump "$label" "$json" "$LEAKY_PID" || { kill_target "$LEAKY_PID"; continue; }
		# text: groups with counts
		run_tl "$TL_TMP/text" snapshot "$LEAKY_PID"
		((TL_RC == 0)) || error "$label: text snapshot: $(describe_rc "$TL_RC"), expected 0: $(first_line "$TL_TMP/text.err")"
		grep -q "^leaky-[^ ]* (pid $LEAKY_PID): $v, [0-9]* goroutines (" "$TL_TMP/text" ||
			error "$label: text summary: $(first_line "$TL_TMP/text")"
		grep -q '^5 goroutines  chan send$' "$TL_TMP/text" ||
			error "$label: no group of the 5 leaked request workers in the text"
		grep -Eq "^3 goroutines  (sync\.Mutex\.Lock|semacquire)  mutex $LEAKY_MUTEX( |\$)" "$TL_TMP/text" ||
			error "$label: no group of the 3 goroutines on mutex $LEAKY_MUTEX in the text"
		check_waits "$label" "$json"
		if [ "$variant" = plain ]; then
			THREADLEAK_GO_LAYOUT=dwarf snapshot_json "$LEAKY_PID" "$json.dwarf"
			((TL_RC == 0)) || error "$label: snapshot with the DWARF layouts: $(describe_rc "$TL_RC"), expected 0: $(first_line "$json.dwarf.err")"
			lay=$(jq -r .go_layouts "$json" "$json.dwarf" 2>&1 | tr '\n' ' ')
			[ "$lay" = "built-in dwarf " ] || error "$label: layouts from '$lay', expected 'built-in dwarf'"
			python3 "$GO_ORACLE" threadleak "$json.dwarf" | cut -f1-7 | grep -Ev "^1	|$LEAKY_MOVING" >"$TL_TMP/dwarf"
			cmp -s "$TL_TMP/ours" "$TL_TMP/dwarf" ||
				error "$label: the layouts from DWARF give other goroutines than the built-in ones: $(diff "$TL_TMP/ours" "$TL_TMP/dwarf" | head -4 | cut -c 1-200 | tr '\n' '|')"
			# on one CPU the batches are read by the reading thread
			# itself, not by reader threads (go/prefetch.h)
			timeout -k 5 "$TL_SNAP_TIMEOUT" taskset -c 0 "$THREADLEAK" snapshot --json "$LEAKY_PID" \
				>"$json.onecpu" 2>"$json.onecpu.err" </dev/null
			rc=$?
			((rc == 0)) || error "$label: snapshot on one CPU: $(describe_rc "$rc"), expected 0: $(first_line "$json.onecpu.err")"
			python3 "$GO_ORACLE" threadleak "$json.onecpu" | cut -f1-7 | grep -Ev "^1	|$LEAKY_MOVING" >"$TL_TMP/onecpu"
			cmp -s "$TL_TMP/ours" "$TL_TMP/onecpu" ||
				error "$label: on one CPU, other goroutines than on all: $(diff "$TL_TMP/ours" "$TL_TMP/onecpu" | head -4 | cut -c 1-200 | tr '\n' '|')"
		fi
		# every goroutine, the runtime's too, every frame, against the
		# runtime's own dump (the process dies of it)
		compare_with_system_dump "$label" "$LEAKY_PID"
		note "$label: $SYSTEM_SUMMARY"
	done
done

finish
