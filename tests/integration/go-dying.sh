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
. "$(dirname "$0")/../dying-lib.sh"

need_threadleak
need_cmd strace

go=$(go_toolchains | tail -1)
[ -n "$go" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
bin=$TL_TMP/leaky
build_leaky "$go" stripped "$bin" || fail "$LEAKY_ERROR"
M=100000

# ---- the race, made to happen ----
start_go() { start_leaky "$bin" -n 1 -many $M; RACE_PID=$LEAKY_PID; }
race_rounds start_go 1 30 150 450

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
