#!/bin/bash
# go-running: a goroutine in an endless loop has its stack.  For each Go
# toolchain here (Debian's 1.19, /usr/local/go's newest), testdata/go/busy
# is built with symbols and stripped (-ldflags='-s -w') and run with one
# busy goroutine (main.spin, called through main.busyMiddle and
# main.busyOuter, calling nothing) and 3 parked ones; threadleak reads the
# busy one in a brief stop of the thread running it.  Snapshots are taken
# until one finds it running (a GC or the scheduler may have it runnable
# for a moment; 20 at most), and in every one:
# The program runs with GOMAXPROCS=1: with one P, main.spin can only run
# on the M holding it, and nothing hands that P to another M (main.spin
# makes no system call), so its goroutine stays on one thread.  With more
# Ps the scheduler may move it to another M between threadleak's read of
# it and the stop, and the stop is rightly taken again on its new thread:
# two threads stopped for one goroutine (seen once in CI under ASan).
#   - exit 0, nothing left stopped (a thread in t or T);
#   - threads_stopped at most the goroutines running (only main.spin
#     runs: no idle M is ever stopped), as many as the thread entries
#     stopped, stop_ms_max and
#     stop_ms_total there when one was stopped;
#   - main.spin's goroutine has frames, whatever its status (running:
#     from the stop; runnable: from its saved context);
# and in the one that found it running:
#   - it says it was read in a stop, and the thread running it (its
#     go_tid) was stopped and shows the very same frames, file:line and
#     all (busyOuter is started without an argument: no wrapper);
#   - its frames and creator are those of the program's own debug=2 dump
#     (SIGUSR1, tests/go-oracle.py), but the innermost frame's line (Go
#     preempts the loop for its dump wherever it is in it), and so are
#     the parked goroutines'.
# Then `threadleak check`, which stops nothing, on busy -exit: the running
# goroutine is reported without frames, and no thread was stopped.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3
need_threadleak

gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"

# build_busy GO VARIANT OUT: testdata/go/busy built by GO, plain or
# stripped (-ldflags='-s -w'), into OUT; 1 with the reason in LEAKY_ERROR
build_busy()
{
	local flags=()
	[ "$2" = stripped ] && flags=("-ldflags=-s -w")
	if ! (cd "$TL_ROOT/testdata/go" &&
		GOTOOLCHAIN=local GOFLAGS=-buildvcs=false "$1" build "${flags[@]}" -o "$3" ./busy) >"$3.build-err" 2>&1; then
		LEAKY_ERROR="$(go_version "$1") $2: cannot build testdata/go/busy: $(head -c 300 "$3.build-err")"
		return 1
	fi
}

# spin_row FILE: the oracle's row (go-oracle.py debug2 form) of the
# goroutine in main.spin; its innermost frame's line left out
spin_row()
{
	awk -F'\t' 'index(";" $5 ";", ";main.spin ") {
		sub(/^main\.spin [^;]*/, "main.spin", $5); print $5 "\t" $6 "\t" $7 }' "$1"
}

# parked_rows FILE: the rows of the goroutines in main.parked, frames and
# creator, sorted
parked_rows()
{
	awk -F'\t' 'index(";" $5 ";", ";main.parked ") { print $5 "\t" $6 "\t" $7 }' "$1" | sort
}

found_running=0
for go in $gos; do
	v=$(go_version "$go")
	for variant in plain stripped; do
		label="$v $variant"
		bin=$TL_TMP/busy-$v-$variant
		build_busy "$go" "$variant" "$bin" || { error "$LEAKY_ERROR"; continue; }
		dump=$TL_TMP/busy-$v-$variant.debug2
		GOMAXPROCS=1 start_target "$bin" -spin 1 -n 3 -dump2 "$dump"
		pid=$TARGET_PID
		out=$TARGET_OUT
		json= running=
		for try in $(seq 20); do
			json=$TL_TMP/$v-$variant-$try.json
			snapshot_json "$pid" "$json"
			assert_not_stopped "$pid" "$label: snapshot $try"
			if ((TL_RC != 0)); then
				error "$label: snapshot $try: $(describe_rc "$TL_RC"), expected 0: $(first_line "$json.err")"
				break
			fi
			read -r nrun stopped max total tstopped spin < <(jq -r '[
				([.threads[] | select(.goid and .go_wait == "running")] | length),
				.threads_stopped, .stop_ms_max, .stop_ms_total,
				([.threads[] | select((.goid | not) and .stopped)] | length),
				([.threads[] | select(.goid and any(.frames[]; .function == "main.spin")) |
				  .go_wait] | join(","))] | @tsv' "$json")
			((stopped <= nrun)) ||
				error "$label: snapshot $try: $stopped threads stopped, more than the $nrun goroutines running"
			((stopped == tstopped)) ||
				error "$label: snapshot $try: threads_stopped $stopped, but $tstopped thread entries say stopped"
			if ((stopped > 0)); then
				jq -e '.stop_ms_max > 0 and .stop_ms_total >= .stop_ms_max' "$json" >/dev/null ||
					error "$label: snapshot $try: $stopped stopped, but stop_ms_max $max, stop_ms_total $total"
			fi
			case $spin in
			running) running=$json; break ;;
			runnable) ;;
			*) error "$label: snapshot $try: main.spin's goroutine not found with its frames (statuses: '$spin'): $(jq -c '[.threads[] | select(.goid and .go_wait == "running") | {goid, error, frames: [.frames[].function]}]' "$json" | head -c 300)"
			   break ;;
			esac
		done
		if [ -z "$running" ]; then
			error "$label: main.spin never found running in $try snapshots"
			kill_target "$pid"
			continue
		fi
		found_running=$((found_running + 1))
		json=$running
		# the goroutine, read in a stop, and its thread: the same frames
		got=$(jq -r '.threads[] | select(.goid and any(.frames[]; .function == "main.spin")) |
			"\(.stopped) \(.go_tid) \(.partial) \([.frames[] | "\(.function):\(.line)"] | join(","))"' "$json")
		read -r gstopped tid gpartial gframes <<<"$got"
		[ "$gstopped $gpartial" = "true false" ] ||
			error "$label: main.spin's goroutine: stopped $gstopped, partial $gpartial, expected true false"
		case $gframes in
		main.spin:*,main.busyMiddle:*,main.busyOuter:*,runtime.goexit:*) ;;
		*) error "$label: main.spin's goroutine has frames $gframes" ;;
		esac
		got=$(jq -r --argjson tid "$tid" '.threads[] | select(.tid == $tid and (.goid | not)) |
			"\(.stopped) \(.partial) \([.frames[] | "\(.function):\(.line)"] | join(","))"' "$json")
		[ "$got" = "true false $gframes" ] ||
			error "$label: thread $tid, running main.spin: '$got', expected 'true false $gframes' (its goroutine's frames)"
		# against the program's own dump
		python3 "$GO_ORACLE" threadleak "$json" >"$TL_TMP/ours" ||
			error "$label: go-oracle cannot read threadleak's snapshot"
		before=$(count_lines "$out" dumped)
		signal_child USR1 "$pid" || error "$label: the target is gone"
		if ! wait_for 60 eval '(($(count_lines "$out" dumped) > before))'; then
			error "$label: no dump from the target after 60 s: $(head -c 300 "${out%.out}.err")"
			kill_target "$pid"
			continue
		fi
		go_oracle debug2 "$dump" >"$TL_TMP/theirs" ||
			error "$label: go-oracle cannot read the program's dump"
		ours=$(spin_row "$TL_TMP/ours") theirs=$(spin_row "$TL_TMP/theirs")
		[ -n "$theirs" ] || error "$label: no main.spin in the program's dump"
		[ "$ours" = "$theirs" ] ||
			error "$label: main.spin's goroutine: threadleak '$ours', the program's dump '$theirs'"
		ours=$(parked_rows "$TL_TMP/ours") theirs=$(parked_rows "$TL_TMP/theirs")
		[ "$(wc -l <<<"$theirs")" = 3 ] || error "$label: the dump has $(wc -l <<<"$theirs") goroutines in main.parked, expected 3"
		[ "$ours" = "$theirs" ] ||
			error "$label: main.parked's goroutines: threadleak '$ours', the program's dump '$theirs'"
		assert_not_stopped "$pid" "$label: at the end"
		kill_target "$pid"
	done
done
at_least "$found_running" 4 "builds whose busy goroutine was found running (2 toolchains, 2 builds)"

# check stops nothing: the busy goroutine is there, running, without frames
go=$(go_toolchains | tail -1)
v=$(go_version "$go")
bin=$TL_TMP/busy-$v-plain
if [ -x "$bin" ]; then
	run_tl "$TL_TMP/check" check --goroutines --json -o "$TL_TMP/check.json" -- "$bin" -spin 1 -n 0 -exit
	((TL_RC == 1)) || error "check: $(describe_rc "$TL_RC"), expected 1 (leaks): $(first_line "$TL_TMP/check.err")"
	got=$(jq -r '[.processes[0].threads_stopped,
		(.processes[0].threads[] | select(.goid and .go_wait == "running") |
		 "\(.stopped) \(.frames | length) \(.error)")] | join(" ")' "$TL_TMP/check.json" 2>&1)
	[ "$got" = "0 false 0 running: its stack is not read (its thread is not stopped)" ] ||
		error "check on busy -exit: '$got', expected '0 false 0 running: its stack is not read (its thread is not stopped)'"
else
	error "check: no busy built with $v"
fi
finish
