#!/bin/bash
# Debian's redis-server with I/O threads: whole stacks, equal to gdb's
# (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
need_server redis-server

mkdir -p "$TL_TMP/redis"
start_server pid redis-server --port 0 --unixsocket "$TL_TMP/redis/sock" \
	--dir "$TL_TMP/redis" --save '' --appendonly no --io-threads 4 --daemonize no
wait_threads "$pid" 7 || fail "redis-server did not start: $(head -c 300 "$SERVER_OUT")"
check_process redis-server "$pid" 7
finish
