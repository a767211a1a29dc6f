# tests/servers-lib.sh: helpers for the tests on Debian's packaged servers
# (tests/integration/server-*.sh), on top of tests/lib.sh.  Each test
# starts one stripped distribution binary as a user runs it, on loopback or
# a Unix socket with its files in the test's temporary directory, and
# checks every process of it: `snapshot` exits 0, every thread's stack is
# whole, and the frames equal gdb's `thread apply all bt` on the same
# process, frame for frame, library frames included (tests/gdb-compare.py).
#
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/../servers-lib.sh"
#	need_server memcached          # skips, saying so, when not installed
#	start_server PID memcached -l 127.0.0.1 ...   # a child of ours
#	wait_threads "$PID" 10 || fail ...
#	check_process memcached "$PID" 10
#	finish

need_cmd gdb jq python3
need_threadleak
SERVERS_COMPARE=$TL_ROOT/tests/gdb-compare.py

# need_server CMD [PACKAGE]: skip unless CMD is installed.
need_server()
{
	command -v "$1" >/dev/null 2>&1 ||
		skip "$1 is not installed (scripts/deps.sh test installs ${2:-$1})"
}

# start_server PIDVAR CMD...: run CMD in the background as a child of ours
# (killed by pid at the exit), its output in $TL_TMP/server-N.out.
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
# then a second for the server to go idle.  Returns 1 when it did not.
wait_threads()
{
	local i
	for ((i = 0; i < 200; i++)); do
		proc_alive "$1" || return 1
		(($(nthreads "$1") >= $2)) && break
		tl_sleep 0.1
	done
	(($(nthreads "$1") >= $2)) || return 1
	tl_sleep 1
}

# check_process NAME PID MIN_THREADS: snapshot exits 0 and its stacks
# equal gdb's (at least MIN_THREADS threads compared); errors recorded.
check_process()
{
	local name=$1 pid=$2 min=$3 out=$TL_TMP/$1-$2
	snapshot_json "$pid" "$out.json"
	if [ "$TL_RC" != 0 ]; then
		error "$name (pid $pid): snapshot $(describe_rc "$TL_RC"): $(first_line "$out.json.err")"
		return
	fi
	snap_valid "$out.json" "$pid" || { error "$name (pid $pid): not a snapshot"; return; }
	timeout 120 gdb -p "$pid" -batch -ex 'thread apply all bt' >"$out.gdb" 2>/dev/null </dev/null
	assert_not_stopped "$pid" "$name after gdb"
	if ! python3 "$SERVERS_COMPARE" "$out.json" "$out.gdb" --min-threads "$min" \
		>"$out.cmp" 2>"$out.cmp.err"; then
		error "$name (pid $pid): not gdb's stacks: $(head -c 800 "$out.cmp.err" | tr '\n' ';') $(cat "$out.cmp")"
		return
	fi
	note "$name (pid $pid): $(cat "$out.cmp")"
}
