#!/bin/bash
# go-dying: a Go program killed while its goroutines are read (100,000 of
# them, a read of a few tenths of a second) never gives a snapshot that
# looks whole: either "exited during the snapshot" (exit 2; "no process"
# or "a zombie" when the kill came before threadleak looked, as under
# ASan it may), or, when the kill came after the read, every goroutine.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_threadleak

go=$(go_toolchains | tail -1)
[ -n "$go" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
bin=$TL_TMP/leaky
build_leaky "$go" stripped "$bin" || fail "$LEAKY_ERROR"
M=100000
for delay in 0.02 0.06 0.12; do
	start_leaky "$bin" -n 1 -many $M
	(sleep "$delay"; kill -KILL "$LEAKY_PID") &
	killer=$!
	run_tl "$TL_TMP/s.txt" snapshot "$LEAKY_PID"
	wait "$killer"
	n=$(sed -n '1s/.*, \([0-9]*\) goroutines (.*/\1/p' "$TL_TMP/s.txt")
	case $TL_RC in
	2) grep -Eq "exited during the snapshot\$|no process $LEAKY_PID\$|^threadleak: $LEAKY_PID is a zombie: it has exited" "$TL_TMP/s.txt.err" ||
		error "killed after ${delay}s: exit 2 but: $(first_line "$TL_TMP/s.txt.err")" ;;
	0) ((${n:-0} >= M)) || error "killed after ${delay}s: exit 0 with ${n:-no} goroutines of more than $M" ;;
	*) error "killed after ${delay}s: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/s.txt.err")" ;;
	esac
	kill_target "$LEAKY_PID"
done

finish
