#!/bin/bash
# Debian's MariaDB server (many threads: InnoDB's, the timer, signal
# handling), a fresh data directory and only a Unix socket: whole stacks,
# equal to gdb's (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
test_server mariadb
