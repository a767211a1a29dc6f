#!/bin/bash
# Debian's nginx with a thread pool for aio (4 threads waiting on a
# condition variable, the event loop in epoll): whole stacks, equal to
# gdb's (tests/servers-lib.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers-lib.sh"
need_server nginx

d=$TL_TMP/nginx
mkdir -p "$d/logs" "$d/html" "$d/tmp"
echo hello >"$d/html/index.html"
cat >"$d/nginx.conf" <<CONF
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/logs/error.log;
thread_pool tl threads=4;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $d/tmp; proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp; uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
	server { listen unix:$d/sock; root $d/html; aio threads=tl; }
}
CONF
start_server pid nginx -p "$d" -c "$d/nginx.conf"
wait_threads "$pid" 5 || fail "nginx did not start: $(head -c 300 "$d/logs/error.log" "$SERVER_OUT")"
check_process nginx "$pid" 5
finish
