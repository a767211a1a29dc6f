#!/bin/bash
# go-dying: a Go program that dies while threadleak reads its goroutines
# (100,000 of them: some 1,000 reads of its memory, 5 for 512 g's) never
# gives a snapshot that looks whole.
#   - The race made to happen (strace, a second tracer here): threadleak
#     is stopped right after its Nth read of the target's memory (strace
#     injects a SIGSTOP at the Nth process_vm_readv of a thread of it,
#     N from the first read to the middle of the goroutines), the target
#     is killed then (and reaped, or left a zombie until threadleak is
#     done), strace lets go of threadleak, which goes on: it must exit 2
#     saying "exited during the snapshot", with no snapshot on stdout.
#     Every round whose read N came must end so, and at least 3 must have
#     (a capture of fewer reads than that is a capture this test no
#     longer tests: it says so).
#   - Left to chance too (a kill a while after the start): "exited during
#     the snapshot" or, when the kill came before threadleak looked, "no
#     process"/"a zombie" (exit 2), or, when it came after, every goroutine
#     (exit 0); nothing else.
# strace lets go of threadleak before it exits: LeakSanitizer, which
# cannot work under a tracer, still checks an ASan build's exit.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_threadleak
need_cmd strace

go=$(go_toolchains | tail -1)
[ -n "$go" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
bin=$TL_TMP/leaky
build_leaky "$go" stripped "$bin" || fail "$LEAKY_ERROR"
M=100000

# state PID: the state letter of PID ("" when gone)
state()
{
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
	line=${line##*) }
	echo "${line%% *}"
}

# the injected stop, logged by strace: the signal (sent by the kernel,
# not by the wrapper's own kill) and the stop it made
injected_stop()
{
	grep -q '^[0-9]* *--- SIGSTOP {si_signo=SIGSTOP, si_code=SI_KERNEL} ---' "$1" &&
		sed -n '/si_code=SI_KERNEL/,$p' "$1" | grep -q -- '--- stopped by SIGSTOP ---'
}
stopped_state() { [ "$(state "$1")" = T ] || [ "$(state "$1")" = t ]; }
attached() { grep -q 'attached' "$1" 2>/dev/null; }
gone() { ! proc_alive "$1"; }

# ---- the race, made to happen ----
races=0 rounds=0
for n in 1 30 150 450; do
	rounds=$((rounds + 1))
	what="stopped after read $n"
	start_leaky "$bin" -n 1 -many $M
	pid=$LEAKY_PID
	out=$TL_TMP/race$n
	# threadleak, stopped by its own wrapper until strace is on it
	sh -c 'kill -STOP $$ && exec "$@"' sh "$THREADLEAK" snapshot "$pid" >"$out" 2>"$out.err" </dev/null &
	tl=$!
	register_pid "$tl"
	wait_for 20 stopped_state "$tl" || fail "$what: threadleak's wrapper did not stop"
	strace -f -o "$out.strace" -p "$tl" -e trace=process_vm_readv -e status=failed \
		-e inject=process_vm_readv:signal=SIGSTOP:when=$n 2>"$out.strace-err" &
	st=$!
	register_pid "$st"
	wait_for 20 attached "$out.strace-err" || fail "$what: strace did not attach: $(head -c 300 "$out.strace-err")"
	signal_child CONT "$tl"
	# threadleak stops at its Nth read, or ends before it
	wait_for "$TL_SNAP_TIMEOUT" eval 'injected_stop "$out.strace" || gone "$tl"' ||
		fail "$what: threadleak neither stopped nor ended after ${TL_SNAP_TIMEOUT}s"
	raced=false
	if injected_stop "$out.strace" && proc_alive "$tl"; then
		raced=true
		signal_child KILL "$pid"
		# odd rounds: reaped (no process); even: a zombie until the end
		((rounds % 2)) && kill_target "$pid"
	fi
	# strace lets go of it (it stays stopped), then it goes on
	signal_child TERM "$st"
	wait_for 20 gone "$st" || fail "$what: strace did not end"
	unregister_pid "$st"
	wait "$st" 2>/dev/null
	signal_child CONT "$tl"
	if ! wait_for "$TL_SNAP_TIMEOUT" gone "$tl"; then
		kill_target "$tl"
		error "$what: threadleak hung after the target died"
		kill_target "$pid"
		continue
	fi
	unregister_pid "$tl"
	wait "$tl"
	rc=$?
	kill_target "$pid"
	if ! $raced; then
		note "$what: threadleak made fewer reads and ended first ($(describe_rc "$rc"))"
		continue
	fi
	races=$((races + 1))
	if ((rc != 2)); then
		error "$what, target killed: $(describe_rc "$rc"), expected exit 2: $(first_line "$out.err") | $(first_line "$out")"
	elif ! grep -q "^threadleak: process $pid exited during the snapshot\$" "$out.err"; then
		error "$what, target killed: exit 2 but: $(first_line "$out.err")"
	fi
	[ -s "$out" ] && error "$what, target killed: a snapshot on stdout: $(first_line "$out")"
done
at_least "$races" 3 "rounds where the target died while threadleak read it (of $rounds)"
note "the target died while threadleak read it in $races rounds of $rounds"

# ---- left to chance ----
for delay in 0.02 0.1 0.3; do
	start_leaky "$bin" -n 1 -many $M
	(sleep "$delay"; kill -KILL "$LEAKY_PID") &
	killer=$!
	run_tl "$TL_TMP/s.txt" snapshot "$LEAKY_PID"
	wait "$killer" 2>/dev/null
	n=$(sed -n '1s/.*, \([0-9]*\) goroutines (.*/\1/p' "$TL_TMP/s.txt")
	case $TL_RC in
	2) grep -Eq "exited during the snapshot\$|no process $LEAKY_PID\$|^threadleak: $LEAKY_PID is a zombie: it has exited" "$TL_TMP/s.txt.err" ||
		error "killed after ${delay}s: exit 2 but: $(first_line "$TL_TMP/s.txt.err")"
	   [ -s "$TL_TMP/s.txt" ] && error "killed after ${delay}s: exit 2 and a snapshot on stdout" ;;
	0) ((${n:-0} >= M)) || error "killed after ${delay}s: exit 0 with ${n:-no} goroutines of more than $M" ;;
	*) error "killed after ${delay}s: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/s.txt.err")" ;;
	esac
	kill_target "$LEAKY_PID"
done

finish
