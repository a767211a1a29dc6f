#!/bin/bash
# serve-privilege: serve keeps only what reading processes takes, and says
# what it lacks.  Two targets, testdata/groups run by root and by the user
# daemon (each says how many threads it has); serve watches both:
#   - run by root: once its port is bound, every thread of serve has
#     exactly CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH in its effective,
#     permitted and bounding sets, none inherited or ambient, and
#     no_new_privs (/proc/PID/task/TID/status); it still reads both
#     targets (threadleak_up 1, threadleak_threads as each says) and
#     serves their profiles;
#   - run by the user nobody given just those two (setpriv, as systemd's
#     AmbientCapabilities does): the same, and no word of anything missing;
#   - nobody with CAP_SYS_PTRACE alone: says it lacks CAP_DAC_READ_SEARCH;
#   - nobody with nothing: says it lacks CAP_SYS_PTRACE, refuses each
#     target in a line, and exits 2 (none could be watched).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../serve-lib.sh"

need_cmd curl setpriv
need_threadleak
need_testdata groups
[ "$(id -u)" = 0 ] || fail "needs root: it runs serve as root and as other users"
id daemon >/dev/null 2>&1 && id nobody >/dev/null 2>&1 || fail "needs the users daemon and nobody"
# 0x80004: CAP_DAC_READ_SEARCH (2) and CAP_SYS_PTRACE (19)
KEPT=0000000000080004

start_target "$TESTDATA/groups"
ROOTPID=$TARGET_PID
ROOTN=$(awk '/^threads /{print $2}' "$TARGET_OUT")
start_target setpriv --reuid=daemon --regid=daemon --clear-groups "$TESTDATA/groups"
DPID=$TARGET_PID
DN=$(awk '/^threads /{print $2}' "$TARGET_OUT")
[ "$(stat -c %U "/proc/$DPID")" = daemon ] || fail "the second target does not run as daemon"

# field TASK FIELD: the hex value of FIELD in /proc/.../status
field() { awk -v f="$2:" '$1 == f { print $2 }' "$1/status"; }

# watched LABEL: serve (started) reads both targets
watched()
{
	scrape "$TL_TMP/m-$1" || return
	grep -qx "threadleak_up{pid=\"$ROOTPID\",comm=\"groups\"} 1" "$TL_TMP/m-$1" &&
		grep -qx "threadleak_up{pid=\"$DPID\",comm=\"groups\"} 1" "$TL_TMP/m-$1" ||
		error "$1: both targets not read: $(grep threadleak_up "$TL_TMP/m-$1" | tr '\n' ' ')"
	grep -qx "threadleak_threads{pid=\"$ROOTPID\",comm=\"groups\"} $ROOTN" "$TL_TMP/m-$1" &&
		grep -qx "threadleak_threads{pid=\"$DPID\",comm=\"groups\"} $DN" "$TL_TMP/m-$1" ||
		error "$1: thread counts: $(grep 'threadleak_threads{' "$TL_TMP/m-$1" | tr '\n' ' '), the programs say $ROOTN and $DN"
	code=$(curl -gs -o "$TL_TMP/p-$1" -w '%{http_code}' \
		"http://$SERVE_ADDR/debug/pprof/goroutine?pid=$DPID&debug=1")
	[ "$code" = 200 ] && grep -qx "thread profile: total $DN" <(head -1 "$TL_TMP/p-$1") ||
		error "$1: the profile of daemon's process: HTTP $code: $(head -c 200 "$TL_TMP/p-$1")"
}

# kept LABEL: every thread of serve holds the two capabilities alone
kept()
{
	local task n=0
	for task in /proc/"$SERVE_PID"/task/*; do
		n=$((n + 1))
		[ "$(field "$task" CapEff)" = $KEPT ] && [ "$(field "$task" CapPrm)" = $KEPT ] &&
			[ "$(field "$task" CapInh)" = 0000000000000000 ] &&
			[ "$(field "$task" CapAmb)" = 0000000000000000 ] &&
			[ "$(field "$task" NoNewPrivs)" = 1 ] ||
			error "$1: thread ${task##*/} of serve: $(grep -E '^(Cap|NoNewPrivs)' "$task/status" | tr '\n\t' '  ')"
		[ -z "${2:-}" ] || [ "$(field "$task" CapBnd)" = "$2" ] ||
			error "$1: thread ${task##*/}: bounding set $(field "$task" CapBnd), expected $2"
	done
	((n >= 3)) || error "$1: serve has $n threads: its HTTP threads were not made"
}

# ---- root ----
start_serve --listen 127.0.0.1:0 --interval 600 "$ROOTPID" "$DPID"
watched root
kept root $KEPT
grep -q 'serve has no' "$SERVE_ERR" && error "root: says something is missing: $(grep 'serve has' "$SERVE_ERR")"
signal_child TERM "$SERVE_PID"
serve_exit 60 "root's serve after SIGTERM"
((SERVE_RC == 0)) || error "root's serve after SIGTERM: $(describe_rc "$SERVE_RC")"

# ---- nobody given the two ----
SERVE_ENV=()
start_serve_as()
{
	local caps=$1
	shift
	start_target_nowait setpriv --reuid=nobody --regid=nogroup --clear-groups \
		${caps:+--inh-caps=$caps --ambient-caps=$caps} "$THREADLEAK" serve "$@"
	SERVE_PID=$TARGET_PID SERVE_ERR=$TARGET_ERR SERVE_ADDR=
	wait_for 60 grep -q '^threadleak: serving http://' "$SERVE_ERR" ||
		{ error "serve as nobody ($caps) said nothing: $(head -c 300 "$SERVE_ERR")"; return 1; }
	SERVE_ADDR=$(sed -n 's|^threadleak: serving http://\(.*\)/metrics$|\1|p' "$SERVE_ERR")
}
if start_serve_as +sys_ptrace,+dac_read_search --listen 127.0.0.1:0 --interval 600 "$ROOTPID" "$DPID"; then
	[ "$(stat -c %u "/proc/$SERVE_PID")" = "$(id -u nobody)" ] || error "nobody's serve runs as $(stat -c %U "/proc/$SERVE_PID")"
	watched nobody
	kept nobody
	grep -q 'serve has no' "$SERVE_ERR" && error "nobody with both: says something is missing: $(grep 'serve has' "$SERVE_ERR")"
	signal_child TERM "$SERVE_PID"
	serve_exit 60 "nobody's serve after SIGTERM"
fi

# ---- nobody with CAP_SYS_PTRACE alone ----
if start_serve_as +sys_ptrace --listen 127.0.0.1:0 --interval 600 "$ROOTPID" "$DPID"; then
	grep -q '^threadleak: serve has no CAP_DAC_READ_SEARCH: ' "$SERVE_ERR" ||
		error "nobody with CAP_SYS_PTRACE alone: $(head -c 400 "$SERVE_ERR")"
	signal_child TERM "$SERVE_PID"
	serve_exit 60 "serve with CAP_SYS_PTRACE alone"
fi

# ---- nobody with nothing ----
if start_serve_as "" --listen 127.0.0.1:0 --interval 600 "$ROOTPID" "$DPID"; then
	serve_exit 60 "nobody's serve without capabilities"
	((SERVE_RC == 2)) || error "nobody without capabilities: $(describe_rc "$SERVE_RC"), expected 2"
	grep -q '^threadleak: serve has no CAP_SYS_PTRACE: ' "$SERVE_ERR" ||
		error "nobody without capabilities does not say what it lacks: $(head -c 400 "$SERVE_ERR")"
	for pid in "$ROOTPID" "$DPID"; do
		grep -q "^threadleak: cannot trace $pid: " "$SERVE_ERR" ||
			error "nobody without capabilities: no word of $pid: $(head -c 400 "$SERVE_ERR")"
	done
fi
assert_not_stopped "$ROOTPID" "serve"
assert_not_stopped "$DPID" "serve"
finish
