#!/bin/bash
# Debian's nginx with a thread pool for aio (4 threads waiting on a
# condition variable, the event loop in epoll): whole stacks, equal to
# gdb's (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
test_server nginx
