#!/bin/bash
# python: a Python program's threads with their Python frames, on every
# CPython this machine has (pyenv's 3.8-3.13, Debian's python3) and in a
# C program embedding one (testdata/python/embed):
#   - each thread of testdata/python/waits.py has, in the snapshot, the
#     Python frames the program itself prints (sys._current_frames()):
#     function, line and file, innermost first, in place of the eval
#     loop's C frames, with the native frames above them (the lock wait)
#     kept (tests/python-compare.py);
#   - its wait in Python's words (queue.get, Lock.acquire, Event.wait,
#     time.sleep), and the text report groups by them;
#   - the same for testdata/python/sockets.py's waits: a socket read, an
#     accept, a select, an RLock, a Semaphore, a join, a Condition;
#   - a thread that never waits (testdata/python/busy.py) is stopped
#     alone and its Python frames read in that stop (with --stop, while
#     every thread is held): in 40 snapshots, each whose native stack is
#     in the C sort has sort_in_c as its innermost Python frame
#     (tests/python-running.py);
#   - what is kept is bounded: 200 threads 400 calls deep
#     (testdata/python/deep.py) keep 65,536 Python frames in all, the
#     threads past that partial, saying so (exit 1);
#   - diff of two snapshots of a service that leaks a thread a request
#     (testdata/python/grows.py) says which group grew, by how much, with
#     its Python frames and its threads' names;
#   - --no-python gives the C frames as they are;
#   - nothing is stopped, and the program is left running.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata python/embed
COMPARE=$TL_ROOT/tests/python-compare.py
WAITS=$TL_ROOT/testdata/python/waits.py

# waits.py's oracle is complete once it prints "end".
oracle_done()
{
	has_line "$TARGET_OUT" end
}

# one LABEL CMD...: the checks on one interpreter running waits.py.
one()
{
	local label=$1 json text raw
	shift
	start_target_nowait "$@"
	wait_for 60 oracle_done ||
		fail "$label: waits.py printed no oracle: $(head -c 300 "$TARGET_ERR")"
	json=$TL_TMP/$label.json
	snapshot_json "$TARGET_PID" "$json"
	((TL_RC == 0)) || error "$label: $(describe_rc $TL_RC): $(first_line "$json.err")"
	if ((TL_RC == 0)); then
		python3 "$COMPARE" "$TARGET_OUT" "$json" >"$TL_TMP/$label.cmp" ||
			error "$label: $(head -3 "$TL_TMP/$label.cmp" | tr '\n' '|')"
		[ "$(jq -r '.python_note' "$json")" = null ] ||
			error "$label: python_note: $(jq -r '.python_note' "$json")"
		[ "$(jq '.threads_stopped' "$json")" = 0 ] ||
			error "$label: $(jq '.threads_stopped' "$json") threads stopped, expected none"
	fi
	raw=$TL_TMP/$label-raw.json
	snapshot_json "$TARGET_PID" "$raw" --no-python
	((TL_RC == 0)) && python3 "$COMPARE" "$TARGET_OUT" "$raw" --raw >"$TL_TMP/$label-raw.cmp" ||
		error "$label: --no-python: $(describe_rc $TL_RC) $(head -3 "$TL_TMP/$label-raw.cmp" 2>/dev/null | tr '\n' '|')"
	text=$TL_TMP/$label.txt
	run_tl "$text" snapshot --color=never "$TARGET_PID"
	grep -Eq '^1 thread  queue\.get \(futex\)' "$text" &&
		grep -Eq '^    (Queue\.)?get +queue\.py:[0-9]+' "$text" &&
		grep -Eq '^    q_leaf +waits\.py:[0-9]+' "$text" ||
		error "$label: the text report has no queue.get group with Queue.get and q_leaf: $(grep -m3 -E 'queue|Queue' "$text" | tr '\n' '|')"
	grep -Eq ': Python 3\.[0-9]+.*, 6 with Python frames, ' "$text" ||
		error "$label: header: $(head -1 "$text")"
	# the same through a snapshot file, the exports and top
	run_tl "$TL_TMP/$label.o" snapshot -q -o "$TL_TMP/$label.snap" "$TARGET_PID"
	run_tl "$TL_TMP/$label.back" export -f json "$TL_TMP/$label.snap"
	((TL_RC == 0)) && python3 "$COMPARE" "$TARGET_OUT" "$TL_TMP/$label.back" >"$TL_TMP/$label-back.cmp" ||
		error "$label: read back from its file: $(describe_rc $TL_RC) $(head -3 "$TL_TMP/$label-back.cmp" | tr '\n' '|')"
	run_tl "$TL_TMP/$label.folded" export -f folded "$TL_TMP/$label.snap"
	grep -Eq ';q_outer;q_leaf;(Queue\.)?get;.*\[queue\.get\] 1$' "$TL_TMP/$label.folded" ||
		error "$label: folded: no q_outer;q_leaf;Queue.get stack waiting in queue.get: $(grep -m1 q_leaf "$TL_TMP/$label.folded" | cut -c1-300)"
	run_tl "$TL_TMP/$label.top" top -b -n 1 "$TARGET_PID"
	grep -Eq '^ +1 +\+0 +\+0\.0/s +queue\.get +[0-9.]+ .* q_leaf \(waits\.py:30\)$' "$TL_TMP/$label.top" ||
		error "$label: top: no queue.get row at q_leaf: $(grep -m2 -E 'queue|q_leaf' "$TL_TMP/$label.top" | tr '\n' '|')"
	assert_not_stopped "$TARGET_PID" "$label"
	proc_alive "$TARGET_PID" || error "$label: the program died"
	kill_target "$TARGET_PID"
}

# in_futex PID TID: TID waits in futex (its syscall line's number, 202)
in_futex()
{
	local sc
	{ read -r sc _ <"/proc/$1/task/$2/syscall"; } 2>/dev/null && [ "$sc" = 202 ]
}

# kinds LABEL PYTHON: sockets.py's threads, their frames and waits.
kinds()
{
	local label=$1-sockets json tid
	start_target_nowait "$2" "$TL_ROOT/testdata/python/sockets.py"
	wait_for 60 oracle_done ||
		fail "$label: sockets.py printed no oracle: $(head -c 300 "$TARGET_ERR")"
	# gil-waiter sleeps until another thread takes the GIL for ever, then
	# waits for it (a condition variable's futex)
	tid=$(sed -n 's/^thread \([0-9]*\) gil-waiter$/\1/p' "$TARGET_OUT")
	wait_for 30 in_futex "$TARGET_PID" "$tid" ||
		error "$label: gil-waiter ($tid) never waited for the GIL"
	json=$TL_TMP/$label.json
	snapshot_json "$TARGET_PID" "$json"
	((TL_RC == 0)) && python3 "$COMPARE" "$TARGET_OUT" "$json" >"$TL_TMP/$label.cmp" ||
		error "$label: $(describe_rc $TL_RC) $(head -3 "$TL_TMP/$label.cmp" | tr '\n' '|')"
	kill_target "$TARGET_PID"
}

# running LABEL PYTHON: busy.py's spinner, its frames those of its stop.
running()
{
	local label=$1-running i files=()
	start_target "$2" "$TL_ROOT/testdata/python/busy.py"
	# 30 stopping it alone, 10 stopping every thread (--stop)
	for i in $(seq 1 40); do
		snapshot_json "$TARGET_PID" "$TL_TMP/$label-$i.json" $( ((i > 30)) && echo --stop)
		((TL_RC == 0)) || error "$label: $(describe_rc $TL_RC): $(first_line "$TL_TMP/$label-$i.json.err")"
		files+=("$TL_TMP/$label-$i.json")
	done
	python3 "$TL_ROOT/tests/python-running.py" "${files[@]}" >"$TL_TMP/$label.out" ||
		error "$label: $(head -3 "$TL_TMP/$label.out" | tr '\n' '|')"
	at_least "$(sed -n 's/^sorts //p' "$TL_TMP/$label.out")" 1 "$label: snapshots caught in the C sort (of 40)"
	assert_not_stopped "$TARGET_PID" "$label"
	kill_target "$TARGET_PID"
}

pyenv=${PYENV_ROOT:-$HOME/.pyenv}/versions
tested=()
for dir in "$pyenv"/3.*; do
	[ -d "$dir" ] || continue
	v=${dir##*/}
	minor=$(cut -d. -f1-2 <<<"$v")
	[ -x "$dir/bin/python$minor" ] || continue
	case $minor in
	3.[0-7])	# refused, saying why
		start_target "$dir/bin/python$minor" -c 'import time; print("ready", flush=True); time.sleep(1000)'
		json=$TL_TMP/pyenv-$v.json
		snapshot_json "$TARGET_PID" "$json"
		note=$(jq -r .python_note "$json")
		((TL_RC == 0)) && [[ $note == "CPython $minor found "*"a Python before 3."[78]* ]] ||
			error "$v: $(describe_rc $TL_RC), python_note '$note', expected it refused as before 3.8"
		kill_target "$TARGET_PID"
		continue
	esac
	one "pyenv-$v" "$dir/bin/python$minor" "$WAITS"
	kinds "pyenv-$v" "$dir/bin/python$minor"
	tested+=("$v")
done
# Debian's own, stripped (its DWARF in python3.11-dbg when installed)
for py in /usr/bin/python3.*; do
	[[ $py =~ /python3\.[0-9]+$ ]] && [ -x "$py" ] || continue
	one "debian-${py##*/}" "$py" "$WAITS"
	kinds "debian-${py##*/}" "$py"
	tested+=("debian ${py##*/}")
done
# the embedded interpreter: the newest pyenv libpython, under a name that
# tells nothing
for dir in "$pyenv"/3.13.* "$pyenv"/3.12.*; do
	minor=$(cut -d. -f1-2 <<<"${dir##*/}")
	lib=$dir/lib/libpython$minor.so.1.0
	[ -r "$lib" ] || continue
	mkdir -p "$TL_TMP/embed"
	cp "$lib" "$TL_TMP/embed/libembedded.so"
	one "embedded-${dir##*/}" env PYTHONHOME="$dir" "$TL_ROOT/testdata/python/embed" \
		"$TL_TMP/embed/libembedded.so" "$WAITS"
	tested+=("embedded ${dir##*/}")
	break
done
((${#tested[@]})) || skip "no CPython here (scripts/deps.sh installs python3)"
# the oldest and the newest read: one Python frame an eval call (3.8),
# several (3.11+)
for dir in "$pyenv"/3.8.* "$pyenv"/3.13.*; do
	minor=$(cut -d. -f1-2 <<<"${dir##*/}")
	[ -x "$dir/bin/python$minor" ] && running "pyenv-${dir##*/}" "$dir/bin/python$minor"
done
running "python3" "$(command -v python3)"

# handled N: grows.py has handled N requests
handled() { has_line "$TARGET_OUT" "handled $1"; }
fifo=$TL_TMP/requests
mkfifo "$fifo" || fail "cannot make a FIFO in $TL_TMP"
start_target python3 "$TL_ROOT/testdata/python/grows.py" "$fifo"
exec 7>"$fifo"
printf 'r\nr\n' >&7
wait_for 30 handled 2 || error "grows: 2 requests not handled"
run_tl "$TL_TMP/g1.out" snapshot -q -o "$TL_TMP/g1.snap" "$TARGET_PID"
printf 'r\nr\nr\nr\nr\n' >&7
wait_for 30 handled 7 || error "grows: 7 requests not handled"
run_tl "$TL_TMP/g2.out" snapshot -q -o "$TL_TMP/g2.snap" "$TARGET_PID"
exec 7>&-
run_tl "$TL_TMP/grows.diff" diff --color=never "$TL_TMP/g1.snap" "$TL_TMP/g2.snap"
d=$TL_TMP/grows.diff
grep -q '^threads: 3 -> 8 (+5); 1 group grew by 1 or more (0 new), 0 vanished$' "$d" &&
	grep -Eq '^\+5  \(2 -> 7\)  queue\.get \(futex\)  grew' "$d" &&
	grep -Eq '^  threads: request-1, request-2, request-3, request-4, request-5, request-6, request-7  ' "$d" &&
	grep -Eq '^    handle_request +grows\.py:[0-9]+' "$d" ||
	error "grows: diff: $(describe_rc $TL_RC): $(head -6 "$d" | tr '\n' '|')"
kill_target "$TARGET_PID"

start_target python3 "$TL_ROOT/testdata/python/deep.py" 200 400
snapshot_json "$TARGET_PID" "$TL_TMP/deep.json"
kept=$(jq '[.threads[].frames[] | select(.python)] | length' "$TL_TMP/deep.json")
cut=$(jq '[.threads[] | select(.error // "" | startswith("Python frames cut after"))] | length' "$TL_TMP/deep.json")
((TL_RC == 1)) && [ "$kept" = 65536 ] && ((cut > 0)) ||
	error "deep: $(describe_rc $TL_RC), $kept Python frames kept, $cut threads cut; expected exit 1, 65536 and some"
kill_target "$TARGET_PID"
note "read: ${tested[*]}"
finish
