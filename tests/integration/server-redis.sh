#!/bin/bash
# Debian's redis-server with I/O threads: whole stacks, equal to gdb's
# (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
test_server redis
