#!/bin/bash
# Debian's memcached (stripped): 10 threads in epoll, condvar and sleep
# waits; whole stacks, equal to gdb's (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
test_server memcached
