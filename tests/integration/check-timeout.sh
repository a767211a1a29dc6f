#!/bin/bash
# check-timeout: `threadleak check --timeout DURATION -- CMD`, as go test
# -timeout: a command still running at the deadline fails (exit 1, or
# --exit-code's value) with every thread and goroutine of every process
# of its tree and where each waits, then the tree is ended (SIGTERM, and
# SIGKILL 2 s later to what ignores it); nothing of it is left, running,
# stopped or unreaped.
#   - a Python program whose non-daemon thread waits for ever
#     (testdata/pyhang.py): the report shows that thread (by the native id
#     the program prints) waiting in CPython's lock code under thread_run,
#     and the main thread in wait_for_thread_shutdown; with children, one
#     of which ignores SIGTERM: every process reported, SIGKILL needed,
#     every pid gone afterwards; the JSON (-o FILE) says the same;
#   - a deadlocked Go test (testdata/go/hang), run as a test binary with
#     each Go toolchain here and under `go test`: TestHang reported in
#     "chan receive" at its line, the helper goroutine at its own, the go
#     command's process too; --exit-code 7 gives 7;
#   - a thread spinning in a loop: its stack (it is stopped briefly);
#   - an exit held for its grace (a leaked thread) when the deadline
#     passes: reported in the deadline's report, not as a leak;
#   - a command that ends before the deadline: as without --timeout;
#   - DURATION forms (90s, 1m30s, 2m, seconds alone, 0) and bad ones
#     (exit 64, one line).
# No outcome depends on speed: the programs hang for ever once they say
# they are at their hang (a file, or a line); a run whose command had not
# got there by the deadline (a loaded machine) is run again with a deadline
# four times longer.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3
need_threadleak
need_testdata checkme
TL_SNAP_TIMEOUT=${TL_CHECK_TIMEOUT:-240}

expect_rc()	# expect_rc LABEL WANT
{
	((TL_RC == $2)) || error "$1: $(describe_rc "$TL_RC"), expected exit $2: $(first_line "$OUT.err")"
}

has()	# has LABEL FILE PATTERN: an extended regex matches a line of FILE
{
	grep -Eq -- "$3" "$2" || error "$1: no line matching '$3' in: $(head -c 400 "$2")"
}

# block_of FILE TID: the report's block (a paragraph) whose "threads:" or
# "goroutines:" ("goroutine ids:") line lists TID
block_of()
{
	awk -v id="$2" 'BEGIN { RS = "" }
		{ if (match($0, /\n  (threads|goroutines|goroutine ids): [^\n]*/)) {
			line = substr($0, RSTART, RLENGTH)
			if (line ~ ("[[ ]" id "[] ]") || line ~ (": " id "$") || line ~ (" " id "$"))
				print
		} }' "$1"
}

# all_gone LABEL PID...: no pid is left, not even a zombie (one that is
# is an error, and killed)
all_gone()
{
	local label=$1 p
	shift
	for p in "$@"; do
		[ -e "/proc/$p" ] || continue
		error "$label: process $p is left: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | head -c 100) (state $(proc_state "$p" "$p"))"
		kill -KILL "$p" 2>/dev/null	# ours: the command's, just seen
	done
}

# report_pids FILE: the pids of the processes a report shows
report_pids()
{
	sed -n 's/^[^ ].* (pid \([0-9][0-9]*\)): .*/\1/p' "$1"
}

# timed_check OUT READY ARG...: threadleak check ARG..., where the word
# TIMEOUT is the deadline: 4 s, then 16 and 64 while READY (a command) says
# the command was not yet at its hang when the run ended.  Sets TL_RC,
# DEADLINE.
timed_check()
{
	local out=$1 ready=$2 a args
	shift 2
	for DEADLINE in 4 16 64; do
		args=()
		for a in "$@"; do
			[ "$a" = TIMEOUT ] && a=$DEADLINE
			args+=("$a")
		done
		run_tl "$out" check "${args[@]}"
		$ready && return 0
		note "$(basename "$out"): not at its hang within ${DEADLINE}s: again with a longer deadline"
	done
	error "$(basename "$out"): the command never got to its hang (status $TL_RC): $(first_line "$out.err")"
	return 1
}

# ---- DURATION ----
for bad in abc -1 5x 1m30 '' inf nan 1e3 0x10 ' 5' 5s. 1..5 . 800h 1min; do
	OUT=$TL_TMP/bad
	run_tl "$OUT" check --timeout "$bad" -- true
	expect_rc "--timeout '$bad'" 64
	n=$(wc -l <"$OUT.err")
	[ "$n" = 1 ] && grep -q "^threadleak: --timeout wants a duration .*, not '$bad'$" "$OUT.err" ||
		error "--timeout '$bad': not one line saying what it wants: $(head -c 300 "$OUT.err")"
done
OUT=$TL_TMP/novalue
run_tl "$OUT" check --timeout
expect_rc "--timeout without a value" 64
# good ones, on a command that ends long before: as without --timeout
for good in 90s 1m30s 2m 100.5 0 1h 0.5h 90000ms 5400s; do
	OUT=$TL_TMP/good
	run_tl "$OUT" check --timeout "$good" -- "$TESTDATA/checkme" clean
	expect_rc "--timeout $good, clean" 0
	[ -s "$OUT.err" ] && error "--timeout $good, clean: a report: $(head -c 300 "$OUT.err")"
done
OUT=$TL_TMP/short
run_tl "$OUT" check -t 600 -- "$TESTDATA/checkme" leak
expect_rc "-t 600, a leak" 1
has "-t 600, a leak" "$OUT.err" '^threadleak: checkme \(pid [0-9]+\) exited with 1 thread still alive:$'
has "-t 600, a leak" "$OUT.err" '^threadleak: 1 leaked thread in 1 process$'
grep -q 'deadline\|timed out' "$OUT.err" && error "-t 600, a leak: a word of a deadline: $(grep -m1 'deadline\|timed out' "$OUT.err")"
OUT=$TL_TMP/fails
run_tl "$OUT" check --timeout 10m -- "$TESTDATA/checkme" fail
expect_rc "--timeout 10m, a command that fails with 3" 3

# ---- Python: a non-daemon thread that never ends, in a tree ----
PYREADY=$TL_TMP/py.ready
py_ready() { [ -s "$PYREADY" ]; }
py_field() { sed -n "s/^$1 //p" "$PYREADY"; }
OUT=$TL_TMP/py-tree
if timed_check "$OUT" py_ready --timeout TIMEOUT -- python3 "$TESTDATA/pyhang.py" "$PYREADY" tree; then
	label="python tree"
	expect_rc "$label" 1
	waiter=$(py_field waiter) main=$(py_field main)
	children=$(py_field child)
	has "$label" "$OUT.err" "^threadleak: the command still ran at its deadline \(--timeout $DEADLINE\): 3 processes, [0-9]+ threads alive, each below$"
	for p in $main $children; do
		has "$label" "$OUT.err" "^python3 \(pid $p\): "
	done
	b=$(block_of "$OUT.err" "$waiter")
	grep -Eq '^    (lock_PyThread_acquire_lock|PyThread_acquire_lock_timed) ' <<<"$b" &&
		grep -Eq '^    thread_run ' <<<"$b" ||
		error "$label: the waiter (tid $waiter) is not shown in CPython's lock under thread_run: $(head -c 600 <<<"$b")"
	b=$(block_of "$OUT.err" "$main")
	grep -Eq '^    wait_for_thread_shutdown ' <<<"$b" ||
		error "$label: the main thread (tid $main) is not shown in wait_for_thread_shutdown: $(head -c 600 <<<"$b")"
	has "$label" "$OUT.err" "^threadleak: timed out after ${DEADLINE}s: the command ended with SIGKILL \(still running 2s after SIGTERM\)$"
	# shellcheck disable=SC2086
	all_gone "$label" $main $children $(report_pids "$OUT.err")
fi

# the same without children, as JSON to a file
OUT=$TL_TMP/py-json
rm -f "$PYREADY"
if timed_check "$OUT" py_ready --timeout TIMEOUT --json -o "$TL_TMP/py.json" -- python3 "$TESTDATA/pyhang.py" "$PYREADY"; then
	label="python, --json -o"
	expect_rc "$label" 1
	waiter=$(py_field waiter) main=$(py_field main)
	[ -s "$OUT.err" ] && error "$label: something on stderr besides the file: $(head -c 300 "$OUT.err")"
	jq -e --argjson main "$main" --argjson waiter "$waiter" '
		.format == "threadleak-check" and .status == null and .signal == 15 and
		.timeout.ended_by == "SIGTERM" and .timeout.not_ended == 0 and
		(.timeout.processes | length) == 1 and
		(.timeout.processes[0] | .pid == $main and
			any(.threads[]; .tid == $waiter and
				any(.frames[]; .function == "thread_run")) and
			any(.threads[]; .tid == $main and
				any(.frames[]; .function == "wait_for_thread_shutdown")))' \
		"$TL_TMP/py.json" >/dev/null ||
		error "$label: the JSON does not show both threads where they wait: $(head -c 400 "$TL_TMP/py.json")"
	all_gone "$label" "$main"
fi

# ---- Go: a deadlocked test ----
gos=()
while IFS= read -r g; do
	gos+=("$g")
done < <(go_toolchains)
((${#gos[@]})) || error "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
test_line=$(grep -n 'hang: TestHang' "$TL_ROOT/testdata/go/hang/hang_test.go" | cut -d: -f1)
helper_line=$(grep -n 'hang: helper' "$TL_ROOT/testdata/go/hang/hang_test.go" | cut -d: -f1)
export HANG_READY=$TL_TMP/hang.ready
go_ready() { [ -s "$HANG_READY" ]; }

# go_report LABEL OUT: TestHang and helper where they wait, the test
# binary gone
go_report()
{
	local label=$1 out=$2 pid b
	pid=$(sed -n 's/^pid //p' "$HANG_READY")
	has "$label" "$out.err" "^hang.test \(pid $pid\): go1\.[0-9.]+, [0-9]+ goroutines "
	b=$(awk 'BEGIN { RS = "" } /\n    threadleak\.test\/testdata\/hang\.TestHang / { print }' "$out.err")
	head -n 1 <<<"$b" | grep -q '^1 goroutine  chan receive' &&
		grep -Eq "^    threadleak\.test/testdata/hang\.TestHang +hang_test\.go:$test_line( |$)" <<<"$b" ||
		error "$label: TestHang not in chan receive at hang_test.go:$test_line: $(head -c 500 <<<"$b")"
	grep -Eq "^    threadleak\.test/testdata/hang\.helper +hang_test\.go:$helper_line( |$)" "$out.err" ||
		error "$label: the helper goroutine not at hang_test.go:$helper_line"
	has "$label" "$out.err" "^threadleak: timed out after ${DEADLINE}s: the command ended with SIGTERM$"
	# shellcheck disable=SC2046
	all_gone "$label" "$pid" $(report_pids "$out.err")
}

for g in "${gos[@]}"; do
	v=$(go_version "$g")
	mkdir -p "$TL_TMP/$v"
	bin=$TL_TMP/$v/hang.test
	(cd "$TL_ROOT/testdata/go" && "$g" test -c -o "$bin" ./hang) >"$TL_TMP/build.err" 2>&1 ||
		{ error "$v: cannot build testdata/go/hang: $(head -c 300 "$TL_TMP/build.err")"; continue; }
	# -test.timeout as go test passes it: without a timer pending, the
	# runtime would find the deadlock itself and crash
	OUT=$TL_TMP/go-$v
	rm -f "$HANG_READY"
	timed_check "$OUT" go_ready --timeout TIMEOUT -- "$bin" -test.v -test.timeout=10m &&
		{ expect_rc "$v hang.test" 1; go_report "$v hang.test" "$OUT"; }
done

# under the go command, newest toolchain: two Go processes, --exit-code
g=${gos[${#gos[@]}-1]}
OUT=$TL_TMP/go-test
rm -f "$HANG_READY"
cd "$TL_ROOT/testdata/go" || fail "no testdata/go"
timed_check "$OUT" go_ready --timeout TIMEOUT --exit-code 7 -- "$g" test -count=1 -v ./hang
ok=$?
cd - >/dev/null || fail "cannot go back"
if ((ok == 0)); then
	expect_rc "go test" 7
	has "go test" "$OUT.err" "^threadleak: the command still ran at its deadline \(--timeout $DEADLINE\): [2-9] processes, "
	has "go test" "$OUT.err" '^go \(pid [0-9]+\): go1\.[0-9.]+, '
	go_report "go test" "$OUT"
fi

# ---- a thread busy in a loop: stopped briefly for its stack ----
need_testdata busy
OUT=$TL_TMP/busy
busy_ready() { has_line "$OUT" ready; }
if timed_check "$OUT" busy_ready --timeout TIMEOUT -- "$TESTDATA/busy" 1 1; then
	label="a busy thread"
	expect_rc "$label" 1
	has "$label" "$OUT.err" '^busy \(pid [0-9]+\): 3 threads'
	b=$(awk 'BEGIN { RS = "" } /^1 thread  running/ { print }' "$OUT.err")
	grep -Eq '^    spin_worker +busy\.c:[0-9]+' <<<"$b" ||
		error "$label: the spinning thread has no stack through spin_worker: $(head -c 400 <<<"$b")"
	# shellcheck disable=SC2046
	all_gone "$label" $(report_pids "$OUT.err")
fi

# ---- an exit held for its grace at the deadline ----
OUT=$TL_TMP/held
held_ready() { has_line "$OUT" "done leak"; }
if timed_check "$OUT" held_ready --grace 600 --timeout TIMEOUT -- "$TESTDATA/checkme" leak; then
	label="an exit held at the deadline"
	expect_rc "$label" 1
	has "$label" "$OUT.err" '^checkme \(pid [0-9]+\): 2 threads'
	has "$label" "$OUT.err" '^    worker_wait +checkme\.c:[0-9]+'
	grep -q 'exited with' "$OUT.err" && error "$label: reported as a leak too: $(grep -m1 'exited with' "$OUT.err")"
	# shellcheck disable=SC2046
	all_gone "$label" $(report_pids "$OUT.err")
fi

finish
