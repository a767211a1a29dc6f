#!/bin/bash
# python-dying: a Python program (100 threads in queue.get, each three
# calls deep: testdata/python/many.py) that dies while threadleak reads
# it, its threads unwound or its interpreter's frames read (some 2,300
# reads of its memory), never gives a snapshot that looks whole: it must
# exit 2 saying "exited during the snapshot", nothing on stdout (the race
# made to happen: tests/dying-lib.sh).  Every round whose read N came
# must end so, and at least 3 must have.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dying-lib.sh"

need_threadleak
need_cmd strace
py=$(command -v python3) || skip "no python3 (scripts/deps.sh installs it)"

races=0 rounds=0
for n in 1 500 1200 1800 2200; do
	rounds=$((rounds + 1))
	start_target "$py" "$TL_ROOT/testdata/python/many.py" 100
	pid=$TARGET_PID
	out=$TL_TMP/race$n
	kill_at_read "$pid" "$n" "$out" "$( ((rounds % 2)) && echo true || echo false)"
	if ! $RACED; then
		((RACE_RC == -1)) ||
			note "stopped after read $n: threadleak made fewer reads and ended first ($(describe_rc "$RACE_RC"))"
		continue
	fi
	races=$((races + 1))
	expect_exited_during "stopped after read $n" "$pid" "$out"
done
at_least "$races" 3 "rounds where the target died while threadleak read it (of $rounds)"
note "the target died while threadleak read it in $races rounds of $rounds"
finish
