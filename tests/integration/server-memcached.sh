#!/bin/bash
# Debian's memcached (stripped): 10 threads in epoll, condvar and sleep
# waits; whole stacks, equal to gdb's (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
need_server memcached

start_server pid memcached -u root -l 127.0.0.1 -p 0 -U 0 -t 4
wait_threads "$pid" 10 || fail "memcached did not start: $(head -c 300 "$SERVER_OUT")"
check_process memcached "$pid" 10
finish
