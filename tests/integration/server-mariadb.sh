#!/bin/bash
# Debian's MariaDB server (many threads: InnoDB's, the timer, signal
# handling), a fresh data directory and only a Unix socket: whole stacks,
# equal to gdb's (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
need_server mariadbd mariadb-server
need_server mariadb-install-db mariadb-server

d=$TL_TMP/mariadb
mkdir -p "$d"
mariadb-install-db --no-defaults --datadir="$d/data" --user=root \
	--auth-root-authentication-method=normal --skip-test-db >"$d/install.log" 2>&1 ||
	fail "mariadb-install-db failed: $(tail -c 300 "$d/install.log")"
start_server pid mariadbd --no-defaults --datadir="$d/data" --socket="$d/sock" \
	--skip-networking --user=root --pid-file="$d/pid" --log-error="$d/err.log"
wait_threads "$pid" 8 || fail "mariadbd did not start: $(tail -c 300 "$d/err.log")"
check_process mariadbd "$pid" 8
finish
