#!/bin/bash
# snapshot-signals: SIGINT, SIGTERM and SIGHUP sent to `threadleak
# snapshot` (man page: "SIGINT, SIGTERM and SIGHUP make it release every
# thread before it exits (128+N); once the capture is over and every
# thread released, they end it at once, as any program, with 128+N,
# leaving an -o file whole or not at all").
#   - during the capture: testdata/holder --once (tests/holder-lib.sh)
#     holds one thread in state D, so
#     threadleak --stop --timeout 600 waits for it with every other thread
#     stopped (state t, traced by threadleak, as /proc shows).  The signal
#     then ends it with 128+N; no thread of the target is left stopped or
#     traced; the -o file that was there is as it was and nothing else is
#     left in its directory; nothing is printed.  The same without --stop
#     (only the D thread held).  Once released, the D thread runs on and
#     blocks again without a stop (no trap left pending).
#   - after the capture: threadleak blocked writing its report to a full
#     pipe (its /proc syscall line: write on fd 1) ends with 128+N at once;
#     the -o file, made before, is a whole snapshot, nothing else beside it;
#     the target is not stopped.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../holder-lib.sh"

need_cmd jq dd
need_threadleak
need_testdata holder

WORKERS=3
start_holder "$WORKERS"
pid=$HOLDER_PID
holder=$HOLDER_TID
others=$(task_tids "$pid" | grep -vx "$holder")
at_least "$(wc -w <<<"$others")" $((WORKERS + 1)) "threads of testdata/holder other than the holder"

# all_held TL STOP: threadleak TL holds the holder (and with STOP=1 every
# other thread, stopped)
all_held()
{
	local t
	[ "$(tracer_of "$holder")" = "$1" ] || return 1
	(($2)) || return 0
	for t in $others; do
		[ "$(tracer_of "$t")" = "$1" ] && [ "$(proc_state "$pid" "$t")" = t ] || return 1
	done
	return 0
}

# only_file DIR NAME WHAT: DIR holds NAME and nothing else
only_file()
{
	local list
	list=$(ls -A "$1")
	[ "$list" = "$2" ] || error "$3: the directory holds '$(echo $list)', expected only $2"
}

declare -A signo=([INT]=2 [TERM]=15 [HUP]=1)

# ---- during the capture ----
rounds=0
for sig in TERM HUP INT; do
	for mode in stop default; do
		label="SIG$sig during the capture ($mode)"
		args=()
		stop=0
		[ $mode = stop ] && args=(--stop) stop=1
		dir=$TL_TMP/during-$sig-$mode
		mkdir "$dir"
		printf 'previous\n' >"$dir/snap.json"
		"$THREADLEAK" snapshot "${args[@]}" --timeout 600 -o "$dir/snap.json" "$pid" \
			>"$dir.out" 2>"$dir.err" </dev/null &
		tl=$!
		register_pid "$tl"
		deadline=$((SECONDS + 60))
		until all_held "$tl" "$stop"; do
			proc_alive "$tl" && ((SECONDS < deadline)) || break
			tl_sleep 0.02
		done
		if ! all_held "$tl" "$stop"; then
			error "$label: threadleak never held the target as expected (alive: $(proc_alive "$tl" && echo yes || echo no); $(head -c 200 "$dir.err"))"
			wait_gone "$tl"
			continue
		fi
		kill -"$sig" "$tl"
		wait_gone "$tl"
		[ "$RC" = $((128 + ${signo[$sig]})) ] ||
			error "$label: exit status $RC, expected $((128 + ${signo[$sig]})): $(head -c 200 "$dir.err")"
		no_tracer "$label"
		[ "$(proc_state "$pid" "$holder")" = D ] || error "$label: the holder is in state $(proc_state "$pid" "$holder"), not D"
		[ "$(cat "$dir/snap.json")" = previous ] || error "$label: the -o file was changed: $(head -c 100 "$dir/snap.json")"
		only_file "$dir" snap.json "$label"
		[ -s "$dir.out" ] && error "$label: printed $(first_line "$dir.out")"
		rounds=$((rounds + 1))
	done
done
at_least "$rounds" 6 "signals sent during a capture"

# release the holder; it must run on and block in pause(), never stopped
release_holder
wait_released
no_tracer "the holder released"
task_tids "$pid" >"$TL_TMP/proc.tids"

# ---- after the capture: blocked on a full stdout ----
pipe=$TL_TMP/pipe
mkfifo "$pipe" || fail "cannot make a FIFO"
rounds=0
for sig in TERM HUP; do
	label="SIG$sig after the capture"
	dir=$TL_TMP/after-$sig
	mkdir "$dir"
	exec {pf}<>"$pipe"
	# fill the pipe: dd writes until the kernel says it would block
	dd if=/dev/zero of="/proc/self/fd/$pf" bs=4096 count=1024 oflag=nonblock 2>/dev/null
	"$THREADLEAK" snapshot -j -o "$dir/snap.json" "$pid" >"$pipe" 2>"$dir.err" </dev/null &
	tl=$!
	register_pid "$tl"
	deadline=$((SECONDS + 60))
	sc=
	while proc_alive "$tl" && ((SECONDS < deadline)); do
		read -r nr fd1 _ <"/proc/$tl/syscall" 2>/dev/null
		[ "$nr $fd1 $(proc_state "$tl" "$tl")" = "1 0x1 S" ] && { sc=write; break; }
		tl_sleep 0.02
	done
	if [ "$sc" != write ]; then
		error "$label: threadleak never blocked writing to stdout (alive: $(proc_alive "$tl" && echo yes || echo no); $(head -c 200 "$dir.err"))"
	else
		kill -"$sig" "$tl"
		rounds=$((rounds + 1))
	fi
	wait_gone "$tl"
	exec {pf}>&-
	[ "$sc" = write ] || continue
	[ "$RC" = $((128 + ${signo[$sig]})) ] ||
		error "$label: exit status $RC, expected $((128 + ${signo[$sig]})): $(head -c 200 "$dir.err")"
	no_tracer "$label"
	# the file was made before the report was printed: whole
	if [ -e "$dir/snap.json" ]; then
		snap_valid "$dir/snap.json" "$pid" || error "$label: the -o file is not a whole snapshot: $(head -c 100 "$dir/snap.json")"
		snap_tids "$dir/snap.json" | cmp -s - "$TL_TMP/proc.tids" ||
			error "$label: the -o file's threads differ from /proc's"
		only_file "$dir" snap.json "$label"
	else
		only_file "$dir" "" "$label"
	fi
done
at_least "$rounds" 2 "signals sent while blocked on stdout"

no_tracer "at the end"
finish
