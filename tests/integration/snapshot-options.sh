#!/bin/bash
# snapshot-options: what the man page promises of snapshot's --timeout,
# -f json, -f text, -q and a TID given for a PID, checked against /proc and
# against testdata/holder --once, which holds one thread ("holder") in
# state D (a vfork parent) until the test releases it, beside blocked
# sleepers (tests/holder-lib.sh).
#   --timeout: a thread in state D does not stop until it leaves the
#     kernel.  With --timeout 0.2 (with and without --stop) the snapshot is
#     partial (exit 1), the holder partial (without --stop the others,
#     blocked, whole), and it took at least 0.2 s; without --timeout it waits at least the default
#     1 s.  With --timeout 600 it is still waiting, the holder seized, 3 s
#     after it seized it (well past the default); once the test releases
#     the holder, the snapshot ends with exit 0 and the holder's whole
#     stack.  --timeout abc is a usage error (64).
#   -f json: the snapshot document on stdout, of the process, with the
#     threads /proc lists; -f text: the text report, whose summary line
#     names the process and /proc's thread count and whose groups list
#     every tid; no -f is text too; -f text -o FILE writes the text to
#     FILE; an unknown format is a usage error (64).
#   a TID for a PID: its whole process is captured (pid, every thread).
#   -q: nothing on stdout, with -o (the file written), -j, -t, -f, and on
#     a partial snapshot (exit 1 still says so).
# The target is never left stopped.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../holder-lib.sh"

need_cmd jq
need_threadleak
need_testdata holder

WORKERS=3
start_holder "$WORKERS"
pid=$HOLDER_PID
holder=$HOLDER_TID
workers=("${HOLDER_WORKERS[@]}")

# thread_field FILE TID JQ: a jq expression on thread TID of a snapshot
thread_field()
{
	jq -r --argjson tid "$2" ".threads[] | select(.tid == \$tid) | $3" "$1"
}

# check_held LABEL FILE [STOP]: a snapshot taken while the holder is held:
# partial, the holder partial, and (not STOP: captured without a stop,
# whatever the load) every sleeper whole, in sleep_worker
check_held()
{
	local label=$1 f=$2 w
	snap_valid "$f" "$pid" || { error "$label: not a snapshot of $pid: $(first_line "$f")"; return; }
	[ "$(jq -r .partial "$f")" = true ] || error "$label: the snapshot is not partial"
	[ "$(thread_field "$f" "$holder" .partial)" = true ] ||
		error "$label: the holder ($holder, state D) is not partial"
	# with --stop a worker too may miss a short timeout on a loaded machine
	[ "${3:-}" = stop ] && return
	for w in "${workers[@]}"; do
		[ "$(thread_field "$f" "$w" .partial)" = false ] ||
			error "$label: worker $w is partial: $(thread_field "$f" "$w" .error)"
		has_function "$(thread_field "$f" "$w" '[.frames[]?.function // "?"] | join(",")')" sleep_worker ||
			error "$label: worker $w has no frame 'sleep_worker'"
	done
}

# ---- --timeout, the holder held ----
for mode in default stop; do
	args=()
	[ $mode = stop ] && args=(--stop)
	t0=$(tl_now_us)
	snapshot_json "$pid" "$TL_TMP/t02-$mode.json" "${args[@]}" --timeout 0.2
	((TL_RC == 1)) || error "--timeout 0.2 ($mode): $(describe_rc $TL_RC), expected 1 (partial): $(first_line "$TL_TMP/t02-$mode.json.err")"
	elapsed_ge "$t0" 0.2 "--timeout 0.2 ($mode)"
	check_held "--timeout 0.2 ($mode)" "$TL_TMP/t02-$mode.json" $mode
	assert_not_stopped "$pid" "after --timeout 0.2 ($mode)"
done

t0=$(tl_now_us)
snapshot_json "$pid" "$TL_TMP/tdefault.json"
((TL_RC == 1)) || error "no --timeout: $(describe_rc $TL_RC), expected 1 (partial): $(first_line "$TL_TMP/tdefault.json.err")"
elapsed_ge "$t0" 1 "no --timeout (default 1)"
check_held "no --timeout" "$TL_TMP/tdefault.json"

# -q on a partial snapshot: nothing on stdout, exit 1 all the same
run_tl "$TL_TMP/q-partial" snapshot -q --timeout 0.1 "$pid"
((TL_RC == 1)) || error "-q, holder held: $(describe_rc $TL_RC), expected 1 (partial)"
[ -s "$TL_TMP/q-partial" ] && error "-q, holder held: wrote to stdout: $(first_line "$TL_TMP/q-partial")"
grep -q 'partial' "$TL_TMP/q-partial.err" || error "-q, holder held: stderr does not say partial: $(first_line "$TL_TMP/q-partial.err")"

run_tl "$TL_TMP/bad" snapshot --timeout abc "$pid"
((TL_RC == 64)) || error "--timeout abc: $(describe_rc $TL_RC), expected 64"

# --timeout 600: still waiting 3 s after it seized the holder
"$THREADLEAK" snapshot --json --timeout 600 "$pid" >"$TL_TMP/t600.json" 2>"$TL_TMP/t600.err" </dev/null &
tl=$!
register_pid "$tl"
if ! wait_seized "$tl"; then
	error "--timeout 600: threadleak never seized the holder (tracer: $(tracer_of "$holder"))"
else
	t0=$(tl_now_us)
	while (($(tl_now_us) - t0 < 3000000)) && proc_alive "$tl"; do
		tl_sleep 0.05
	done
	proc_alive "$tl" ||
		error "--timeout 600: threadleak ended $((($(tl_now_us) - t0) / 1000)) ms after it seized the holder, still in D: $(head -c 200 "$TL_TMP/t600.err")"
fi
# release the holder: its vfork child reads a byte of the FIFO and ends
release_holder
if wait_gone "$tl"; then
	((RC == 0)) || error "--timeout 600, holder released: $(describe_rc $RC), expected 0: $(head -c 200 "$TL_TMP/t600.err")"
else
	error "--timeout 600: still running 60 s after the holder was released"
fi
if snap_valid "$TL_TMP/t600.json" "$pid"; then
	[ "$(thread_field "$TL_TMP/t600.json" "$holder" .partial)" = false ] ||
		error "--timeout 600: the released holder is partial: $(thread_field "$TL_TMP/t600.json" "$holder" .error)"
	funcs=$(thread_field "$TL_TMP/t600.json" "$holder" '[.frames[]?.function // "?"] | join(",")')
	has_function "$funcs" held_in_vfork && has_function "$funcs" vfork_holder ||
		error "--timeout 600: the holder's stack is not whole: $funcs"
else
	error "--timeout 600: not a snapshot of $pid: $(first_line "$TL_TMP/t600.json")"
fi
wait_released
assert_not_stopped "$pid" "after --timeout 600"

# ---- from here every thread is blocked: whole snapshots, exit 0 ----
task_tids "$pid" >"$TL_TMP/proc.tids"
nthreads=$(wc -l <"$TL_TMP/proc.tids")
((nthreads == WORKERS + 2)) || fail "testdata/holder has $nthreads threads, expected $((WORKERS + 2))"

# same_tids LABEL FILE: the snapshot is of $pid with /proc's threads
same_tids()
{
	if ! snap_valid "$2" "$pid"; then
		error "$1: not a snapshot of $pid: $(first_line "$2")"
		return
	fi
	snap_tids "$2" | cmp -s - "$TL_TMP/proc.tids" ||
		error "$1: threads $(snap_tids "$2" | tr '\n' ' ')differ from /proc's $(tr '\n' ' ' <"$TL_TMP/proc.tids")"
}

# text_ok LABEL FILE: a text report of $pid: its summary line and every tid
text_ok()
{
	local first t
	first=$(first_line "$2")
	[[ $first == "holder (pid $pid): $nthreads threads"* ]] ||
		error "$1: summary line '$first', expected 'holder (pid $pid): $nthreads threads ...'"
	jq -e . "$2" >/dev/null 2>&1 && error "$1: the text report is JSON"
	while read -r t; do
		grep -Eq "^  threads: .*[[ ]$t[] ]" "$2" || error "$1: thread $t in no group"
	done <"$TL_TMP/proc.tids"
}

# run_ok LABEL OUT ARG...: run_tl, and exit 0 is expected
run_ok()
{
	local label=$1
	shift
	run_tl "$@"
	((TL_RC == 0)) || error "$label: $(describe_rc $TL_RC), expected 0: $(first_line "$1.err")"
	((TL_RC == 0))
}

run_ok "-f json" "$TL_TMP/fjson" snapshot -f json "$pid" && same_tids "-f json" "$TL_TMP/fjson"
run_ok "--format=json" "$TL_TMP/fjson2" snapshot --format=json "$pid" && same_tids "--format=json" "$TL_TMP/fjson2"
run_ok "-f text" "$TL_TMP/ftext" snapshot -f text --color=never "$pid" && text_ok "-f text" "$TL_TMP/ftext"
run_ok "no -f" "$TL_TMP/fnone" snapshot --color=never "$pid" && text_ok "no -f" "$TL_TMP/fnone"
if run_ok "-f text -o" "$TL_TMP/ftext-o" snapshot -f text -o "$TL_TMP/report.txt" --color=never "$pid"; then
	text_ok "-f text -o FILE (the file)" "$TL_TMP/report.txt"
	text_ok "-f text -o FILE (stdout)" "$TL_TMP/ftext-o"
fi
run_tl "$TL_TMP/fbad" snapshot -f yaml "$pid"
((TL_RC == 64)) || error "-f yaml: $(describe_rc $TL_RC), expected 64 (an unknown format)"

# a TID for a PID: the whole process
for w in "${workers[0]}" "$holder"; do
	run_ok "TID $w" "$TL_TMP/tid-$w.json" snapshot --json "$w" && same_tids "TID $w given" "$TL_TMP/tid-$w.json"
done
run_ok "TID ${workers[0]}, text" "$TL_TMP/tid.txt" snapshot --color=never "${workers[0]}" &&
	text_ok "TID ${workers[0]} given (text)" "$TL_TMP/tid.txt"

# -q: nothing on stdout
rm -f "$TL_TMP/q.json"
if run_ok "-q -o" "$TL_TMP/q-o" snapshot -q -o "$TL_TMP/q.json" "$pid"; then
	[ -s "$TL_TMP/q-o" ] && error "-q -o FILE: wrote to stdout: $(first_line "$TL_TMP/q-o")"
	same_tids "-q -o FILE (the file)" "$TL_TMP/q.json"
fi
for args in "" "-j" "-t" "-f json" "-f folded" "-f text"; do
	# shellcheck disable=SC2086
	run_ok "-q $args" "$TL_TMP/q" snapshot -q $args "$pid"
	[ -s "$TL_TMP/q" ] && error "-q $args: wrote to stdout: $(first_line "$TL_TMP/q")"
done
# and without -q the same commands do print (the checks above can fail)
for args in "" "-j" "-t" "-f folded"; do
	# shellcheck disable=SC2086
	run_ok "$args" "$TL_TMP/noq" snapshot $args "$pid"
	[ -s "$TL_TMP/noq" ] || error "snapshot $args without -q: nothing on stdout"
done

assert_not_stopped "$pid" "at the end"
finish
