#!/bin/bash
# Debian's PostgreSQL: the postmaster and every process it forks
# (checkpointer, background writer, walwriter, autovacuum launcher, whose
# stack runs through a signal frame), single-threaded each (PostgreSQL
# 15 and 16 start no threads, parallel queries included): each snapshot
# exits 0 and its stack is whole and gdb's (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
test_server postgres
