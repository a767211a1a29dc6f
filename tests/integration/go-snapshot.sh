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
#     built-in table.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3
need_threadleak

# check_waits LABEL JSON: what the leaks wait on, in the snapshot
check_waits()
{
	local label=$1 json=$2 got objs
	got=$(jq -r '.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakSharedMutex")) | .wait.object' "$json" | sort -u | tr '\n' ' ')
	[ "$got" = "mutex $LEAKY_MUTEX " ] ||
		error "$label: leakSharedMutex's goroutines wait on '$got', expected 'mutex $LEAKY_MUTEX'"
	objs=$(jq -r '.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakMutex")) | .wait.object' "$json")
	got=$(grep -c '^mutex 0x[0-9a-f]*$' <<<"$objs")/$(sort -u <<<"$objs" | wc -l)
	[ "$got" = 3/3 ] || error "$label: leakMutex's goroutines: $got on distinct mutexes, expected 3/3"
	got=$(jq -r '.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakTCPRead")) | "\(.wait.kind) \(.wait.fd) \(.wait.object)"' "$json" |
		grep -Ec "^read [0-9]+ tcp 127\.0\.0\.1:[0-9]+ -> ${LEAKY_TCP//./\\.}\$")
	[ "$got" = 3 ] || error "$label: $got of leakTCPRead's goroutines read a connection to $LEAKY_TCP, expected 3: $(jq -c '[.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakTCPRead")) | .wait]' "$json" | head -c 300)"
	got=$(jq -r '.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakPipeRead")) | "\(.wait.kind) \(.wait.fd) \(.wait.object)"' "$json" |
		grep -Ec '^read [0-9]+ pipe:\[[0-9]+\]$')
	[ "$got" = 3 ] || error "$label: $got of leakPipeRead's goroutines read a pipe, expected 3"
}

gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"

# moving: goroutines that run between the snapshot and the dump
moving='main\.pauseWatcher|os/signal|main\.(dumpOnSignal|writeWhole)'

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
		dump_leaky "$LEAKY_PID" || { error "$label: $LEAKY_ERROR"; kill_target "$LEAKY_PID"; continue; }
		python3 "$GO_ORACLE" threadleak "$json" | cut -f1-7 | grep -Ev "^1	|$moving" >"$TL_TMP/ours" ||
			error "$label: go-oracle cannot read threadleak's snapshot"
		go_oracle debug2 "$LEAKY_DUMP2" | cut -f1-7 | grep -Ev "^1	|$moving" >"$TL_TMP/theirs" ||
			error "$label: go-oracle cannot read the program's dump"
		if ! cmp -s "$TL_TMP/ours" "$TL_TMP/theirs"; then
			error "$label: goroutines differ from the program's own dump ($(wc -l <"$TL_TMP/ours") vs $(wc -l <"$TL_TMP/theirs")): $(diff "$TL_TMP/ours" "$TL_TMP/theirs" | head -6 | cut -c 1-300 | tr '\n' '|')"
		fi
		[ "$(wc -l <"$TL_TMP/theirs")" -ge 35 ] || error "$label: the dump has too few goroutines to compare"
		# text: groups with counts
		run_tl "$TL_TMP/text" snapshot "$LEAKY_PID"
		grep -q "^leaky-[^ ]* (pid $LEAKY_PID): $v, [0-9]* goroutines (" "$TL_TMP/text" ||
			error "$label: text summary: $(first_line "$TL_TMP/text")"
		grep -q '^5 goroutines  chan send$' "$TL_TMP/text" ||
			error "$label: no group of the 5 leaked request workers in the text"
		grep -Eq "^3 goroutines  (sync\.Mutex\.Lock|semacquire)  mutex $LEAKY_MUTEX( |\$)" "$TL_TMP/text" ||
			error "$label: no group of the 3 goroutines on mutex $LEAKY_MUTEX in the text"
		check_waits "$label" "$json"
		if [ "$variant" = plain ]; then
			THREADLEAK_GO_LAYOUT=dwarf snapshot_json "$LEAKY_PID" "$json.dwarf"
			lay=$(jq -r .go_layouts "$json" "$json.dwarf" 2>&1 | tr '\n' ' ')
			[ "$lay" = "built-in dwarf " ] || error "$label: layouts from '$lay', expected 'built-in dwarf'"
			python3 "$GO_ORACLE" threadleak "$json.dwarf" | cut -f1-7 | grep -Ev "^1	|$moving" >"$TL_TMP/dwarf"
			cmp -s "$TL_TMP/ours" "$TL_TMP/dwarf" ||
				error "$label: the layouts from DWARF give other goroutines than the built-in ones: $(diff "$TL_TMP/ours" "$TL_TMP/dwarf" | head -4 | cut -c 1-200 | tr '\n' '|')"
		fi
		kill_target "$LEAKY_PID"
	done
done

finish
