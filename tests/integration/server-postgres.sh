#!/bin/bash
# Debian's PostgreSQL: the postmaster and every process it forks
# (checkpointer, background writer, walwriter, autovacuum launcher, whose
# stack runs through a signal frame), single-threaded each (PostgreSQL
# 15 and 16 start no threads, parallel queries included): each snapshot
# exits 0 and its stack is whole and gdb's (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] && [ -x "$pgbin/postgres" ] ||
	skip "PostgreSQL is not installed (scripts/deps.sh test installs postgresql)"
id postgres >/dev/null 2>&1 || skip "no postgres user (the postgresql package adds it)"
need_cmd setpriv

d=$TL_TMP/pg
mkdir -p "$d"
chown postgres "$d"
chmod 755 "$TL_TMP"
as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
"${as_pg[@]}" "$pgbin/initdb" -D "$d/data" -A trust >"$d/initdb.log" 2>&1 ||
	fail "initdb failed: $(tail -c 300 "$d/initdb.log")"
start_server pid "${as_pg[@]}" "$pgbin/postgres" -D "$d/data" -k "$d" -c listen_addresses=
for ((i = 0; i < 200; i++)); do
	(($(pgrep -P "$pid" | wc -l) >= 5)) && break
	proc_alive "$pid" || break
	tl_sleep 0.1
done
(($(pgrep -P "$pid" | wc -l) >= 5)) || fail "postgres did not start: $(tail -c 300 "$SERVER_OUT")"
tl_sleep 1
for p in "$pid" $(pgrep -P "$pid"); do
	check_process postgres "$p" 1
done
finish
