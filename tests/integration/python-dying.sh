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

start_py() { start_target "$py" "$TL_ROOT/testdata/python/many.py" 100; RACE_PID=$TARGET_PID; }
race_rounds start_py 1 500 1200 1800 2200
finish
