# tests/servers-lib.sh: Debian's packaged servers started as a user runs
# them, for the tests on them (tests/integration/server-*.sh) and the
# benchmark (bench/real-servers.sh); on top of tests/lib.sh.  Each server
# runs as a child of ours (killed by pid at the exit), listening on
# loopback or a Unix socket, its files in $TL_TMP.  The tests check every
# process of it: `snapshot` exits 0, every thread's stack is whole, and
# the frames equal gdb's `thread apply all bt` on the same process, frame
# for frame, library frames included (tests/gdb-compare.py).
#
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/../servers-lib.sh"
#	need_server memcached             # skips, saying so, if not installed
#	start_named_server memcached || fail "$SERVER_ERROR"
#	for p in "${SERVER_PROCS[@]}"; do check_process memcached "$p" "$SERVER_MIN"; done
#	finish

SERVERS="memcached redis nginx mariadb postgres"
SERVERS_COMPARE=$TL_ROOT/tests/gdb-compare.py

# server_missing NAME: why NAME cannot run here (scripts/deps.sh test
# installs them all), or nothing when it can.
server_missing()
{
	case $1 in
	memcached) command -v memcached >/dev/null || echo "memcached is not installed" ;;
	redis) command -v redis-server >/dev/null || echo "redis-server is not installed" ;;
	nginx) command -v nginx >/dev/null || echo "nginx is not installed" ;;
	mariadb) command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null ||
		echo "mariadb-server is not installed" ;;
	postgres) [ -n "$(pg_bin)" ] || echo "postgresql is not installed"
		id postgres >/dev/null 2>&1 || echo "no postgres user (the postgresql package adds it)"
		command -v setpriv >/dev/null || echo "no setpriv (util-linux)" ;;
	*) echo "unknown server $1" ;;
	esac
}

# need_server NAME: skip unless NAME can run here.
need_server()
{
	local why
	why=$(server_missing "$1")
	[ -z "$why" ] || skip "$why (scripts/deps.sh test installs it)"
}

pg_bin()
{
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/postgres" ] && echo "$d"
}

# start_server PIDVAR CMD...: CMD in the background, a child of ours
# (killed by pid at the exit), its output in $SERVER_OUT.
start_server()
{
	local -n var=$1
	shift
	SERVER_OUT=$TL_TMP/server-$TL_SEQ.out
	TL_SEQ=$((TL_SEQ + 1))
	"$@" >"$SERVER_OUT" 2>&1 </dev/null &
	var=$!
	register_pid "$var"
}

# nthreads PID: its number of threads (0 once it is gone).
nthreads()
{
	local t=(/proc/"$1"/task/*)
	[ -e "${t[0]}" ] && echo "${#t[@]}" || echo 0
}

# wait_threads PID N: wait (20 s at most) until PID has N threads or more,
# then until its thread list has stayed the same for a second (20 s more at
# most; a server still starting threads, as MariaDB's pool does under load,
# is then compared as it is: gdb-compare accepts SERVER_TRANSIENT threads
# that come or go).  Returns 1 when it did not reach N threads.
wait_threads()
{
	local i same=0 prev= cur
	for ((i = 0; i < 200; i++)); do
		proc_alive "$1" || return 1
		(($(nthreads "$1") >= $2)) && break
		tl_sleep 0.1
	done
	(($(nthreads "$1") >= $2)) || return 1
	for ((i = 0; i < 200 && same < 10; i++)); do
		cur=$(task_tids "$1")
		if [ "$cur" = "$prev" ]; then
			same=$((same + 1))
		else
			same=0 prev=$cur
		fi
		tl_sleep 0.1
	done
	proc_alive "$1"
}

# start_named_server NAME: starts it and waits until it is idle.  Sets
# SERVER_PROCS (the pids to look at: the server, or PostgreSQL's
# postmaster and the processes it forked), SERVER_MIN (threads each has at
# least), SERVER_TRANSIENT (threads that may start or end while it idles,
# 0 but for MariaDB), SERVER_MAIN (the pid to kill); on failure returns 1
# with SERVER_ERROR.
start_named_server()
{
	local d=$TL_TMP/$1 pid i
	mkdir -p "$d"
	SERVER_PROCS=() SERVER_ERROR= SERVER_TRANSIENT=0
	case $1 in
	memcached)
		SERVER_MIN=10
		start_server pid memcached -u root -l 127.0.0.1 -p 0 -U 0 -t 4 ;;
	redis)
		SERVER_MIN=7
		start_server pid redis-server --port 0 --unixsocket "$d/sock" --dir "$d" \
			--save '' --appendonly no --io-threads 4 --daemonize no ;;
	nginx)
		SERVER_MIN=5
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
		start_server pid nginx -p "$d" -c "$d/nginx.conf" ;;
	mariadb)
		# its thread pool (tpool) starts workers on demand and ends
		# those idle for a minute: one may come or go between the looks
		SERVER_MIN=8 SERVER_TRANSIENT=2
		mariadb-install-db --no-defaults --datadir="$d/data" --user=root \
			--auth-root-authentication-method=normal --skip-test-db \
			>"$d/install.log" 2>&1 || {
			SERVER_ERROR="mariadb-install-db failed: $(tail -c 300 "$d/install.log")"
			return 1
		}
		start_server pid mariadbd --no-defaults --datadir="$d/data" --socket="$d/sock" \
			--skip-networking --user=root --pid-file="$d/pid" --log-error="$d/err.log" ;;
	postgres)
		SERVER_MIN=1
		local as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
		chown postgres "$d"
		chmod 755 "$TL_TMP"
		"${as_pg[@]}" "$(pg_bin)/initdb" -D "$d/data" -A trust >"$d/initdb.log" 2>&1 || {
			SERVER_ERROR="initdb failed: $(tail -c 300 "$d/initdb.log")"
			return 1
		}
		start_server pid "${as_pg[@]}" "$(pg_bin)/postgres" -D "$d/data" -k "$d" \
			-c listen_addresses=
		# the postmaster forks its checkpointer, background writer,
		# walwriter, autovacuum and logical replication launchers
		for ((i = 0; i < 200; i++)); do
			(($(pgrep -P "$pid" | wc -l) >= 5)) && break
			proc_alive "$pid" || break
			tl_sleep 0.1
		done
		(($(pgrep -P "$pid" | wc -l) >= 5)) || {
			SERVER_ERROR="postgres did not start: $(tail -c 300 "$SERVER_OUT")"
			return 1
		}
		tl_sleep 1
		SERVER_MAIN=$pid
		SERVER_PROCS=("$pid" $(pgrep -P "$pid"))
		return 0 ;;
	esac
	SERVER_MAIN=$pid
	SERVER_PROCS=("$pid")
	wait_threads "$pid" "$SERVER_MIN" || {
		SERVER_ERROR="$1 did not start: $(tail -c 300 "$SERVER_OUT" "$d"/*.log "$d"/logs/*.log 2>/dev/null)"
		return 1
	}
}

# check_process NAME PID MIN_THREADS: snapshot exits 0 and its stacks
# equal gdb's (at least MIN_THREADS threads compared), both ways: a thread
# one of them lists and the other drops fails, unless /proc/PID/task,
# listed before the snapshot and after gdb, shows it came or went between
# the looks (at most SERVER_TRANSIENT such threads); errors recorded.
# Leaves gdb-compare's figures in $TL_TMP/NAME-PID.cmp.
check_process()
{
	local name=$1 pid=$2 min=$3 out=$TL_TMP/$1-$2 rc
	task_tids "$pid" >"$out.before"
	snapshot_json "$pid" "$out.json"
	if [ "$TL_RC" != 0 ]; then
		error "$name (pid $pid): snapshot $(describe_rc "$TL_RC"): $(first_line "$out.json.err")"
		return
	fi
	snap_valid "$out.json" "$pid" || { error "$name (pid $pid): not a snapshot"; return; }
	timeout 120 gdb -p "$pid" -batch -ex 'thread apply all bt' >"$out.gdb" 2>"$out.gdb.err" </dev/null
	rc=$?
	task_tids "$pid" >"$out.after"
	assert_not_stopped "$pid" "$name after gdb"
	if ((rc != 0)); then
		error "$name (pid $pid): gdb $(describe_rc "$rc"): $(tail -c 300 "$out.gdb.err" | tr '\n' ';')"
		return
	fi
	if ! python3 "$SERVERS_COMPARE" "$out.json" "$out.gdb" --min-threads "$min" \
		--tasks "$out.before" "$out.after" --max-transient "${SERVER_TRANSIENT:-0}" \
		>"$out.cmp" 2>"$out.cmp.err"; then
		error "$name (pid $pid): not gdb's stacks: $(head -c 800 "$out.cmp.err" | tr '\n' ';') $(cat "$out.cmp")"
		return
	fi
	note "$name (pid $pid): $(cat "$out.cmp")"
}

# test_server NAME: the whole test on one server.
test_server()
{
	local p
	need_cmd gdb jq python3
	need_threadleak
	need_server "$1"
	start_named_server "$1" || fail "$SERVER_ERROR"
	for p in "${SERVER_PROCS[@]}"; do
		check_process "$1" "$p" "$SERVER_MIN"
	done
	if [ "$1" = postgres ]; then
		at_least "${#SERVER_PROCS[@]}" 6 "postgres: the postmaster and the processes it forked"
		# PostgreSQL up to 15 forks the walwriter and the launchers from
		# its SIGCHLD handler: their stacks go through a signal frame,
		# which gdb-compare matched with gdb's "<signal handler called>"
		local v
		v=$(basename "$(dirname "$(pg_bin)")")
		if [[ $v =~ ^[0-9]+$ ]] && ((v <= 15)); then
			v=$(grep -l '^#[0-9]* *<signal handler called>' "$TL_TMP"/postgres-*.gdb 2>/dev/null | wc -l)
			at_least "$v" 1 "postgres: processes whose stack goes through a signal frame"
		fi
	fi
	finish
}
