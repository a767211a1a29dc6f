#!/bin/bash
# serve-options: what the man page promises for `threadleak serve` beyond
# the metrics (serve.sh), each held against a source other than threadleak
# (the dynamic linker, the kernel's socket tables, curl, /proc):
#   - -u libdw / -u libunwind: the unwinder asked for is the one called
#     (LD_DEBUG=bindings: _Ux86_64_step bound only under libunwind,
#     dwfl_getthread_frames under libdw), and the metrics are /proc's
#     either way; an unknown unwinder is a usage error (64);
#   - --listen [::1]:PORT: the one socket serve listens on is ::1's in
#     /proc/net/tcp6, curl reaches it there and not on 127.0.0.1;
#     --listen :PORT: one IPv6 socket on :: that takes IPv4 too, curl
#     reaches it on 127.0.0.1, ::1 and the machine's other addresses;
#   - a bad address: not one (64), no such host, not this machine's, a
#     port below 1024 without root (2): one line, nothing served;
#   - a thread id is taken as its process (as snapshot takes it): the
#     series say the process's pid, once when both are given;
#   - exit statuses: 0 when the PID it watched exits; 2 when none could
#     be captured (no such process, a kernel thread, no permission); one
#     that cannot be captured beside one that can is said once, and serve
#     goes on;
#   - SIGTERM, SIGINT, SIGHUP: between two refreshes (an interval of 600 s)
#     and in the middle of a capture (serve caught holding a stopped
#     thread of the target): exit 0 at once, the port closed, every thread
#     of the target running and untraced.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../serve-lib.sh"

need_cmd curl python3
need_threadleak
need_testdata leakyserver busy

# tracers PID: "TID:TRACER" for each thread of PID that is traced
tracers()
{
	local s k v
	for s in /proc/"$1"/task/[0-9]*/status; do
		while read -r k v; do
			[ "$k" = TracerPid: ] || continue
			[ "$v" = 0 ] || { s=${s%/status}; echo "${s##*/}:$v"; }
			break
		done <"$s" 2>/dev/null
	done
}

# released PID WHAT: every thread of PID running on, traced by nobody
released()
{
	local st
	st=$(wait_not_stopped "$1" 10) || error "$2: target left stopped: $st"
	st=$(tracers "$1")
	[ -z "$st" ] || error "$2: target still traced: $st"
	[ -n "$(task_tids "$1")" ] || error "$2: target $1 is gone"
}

# listening PID: "FILE ADDRESS" for each listening TCP socket of PID, from
# the kernel's tables (/proc/net/tcp and tcp6, matched by inode)
listening()
{
	python3 - "$1" <<'EOF'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if link.startswith("socket:["):
        inodes.add(link[8:-1])
for table in ("tcp", "tcp6"):
    try:
        lines = open("/proc/%s/net/%s" % (pid, table)).read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        f = line.split()
        if f[3] != "0A" or f[9] not in inodes:      # 0A: LISTEN
            continue
        addr, port = f[1].split(":")
        raw = bytes.fromhex(addr)
        # the kernel prints each 32-bit word in host (little-endian) order
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
        import ipaddress
        ip = ipaddress.ip_address(raw)
        print(table, ("[%s]" if ip.version == 6 else "%s") % ip + ":%d" % int(port, 16))
EOF
}

# local_addresses: this machine's addresses other than loopback, from the
# kernel's tables (IPv4: /proc/net/fib_trie's LOCAL hosts; IPv6:
# /proc/net/if_inet6's global ones), IPv6 in brackets
local_addresses()
{
	awk '/^ *\|-- / {a = $2} /\/32 host LOCAL/ && a !~ /^127\./ {print a}' /proc/net/fib_trie 2>/dev/null | sort -u
	awk '$4 == "00" && $6 != "lo" {s = $1; printf "["; for (i = 1; i <= 32; i += 4) printf "%s%s", substr(s, i, 4), (i < 29 ? ":" : ""); print "]"}' \
		/proc/net/if_inet6 2>/dev/null
}

# metrics_agree FILE WHAT: FILE's series for the leakyserver LS are /proc's:
# its thread count, and each group the threads of one name in /proc
metrics_agree()
{
	local n want=() name fn c
	n=$(task_tids "$LS" | wc -l)
	grep -qx "threadleak_up{pid=\"$LS\",comm=\"leakyserver\"} 1" "$1" || error "$2: threadleak_up: $(grep '^threadleak_up' "$1")"
	grep -qx "threadleak_threads{pid=\"$LS\",comm=\"leakyserver\"} $n" "$1" ||
		error "$2: /proc has $n threads, the metrics: $(grep '^threadleak_threads' "$1")"
	# leakyserver.c: each name's threads wait in one function
	for name in pool:condvar:pool_wait acceptor:accept:accept_loop ticker:sleep:ticker_loop leakyserver:signal:main_wait; do
		IFS=: read -r name kind fn <<<"$name"
		c=$(cat /proc/"$LS"/task/*/comm 2>/dev/null | grep -cx "$name")
		grep -qx "threadleak_group_count{pid=\"$LS\",comm=\"leakyserver\",entry=\"thread\",kind=\"$kind\",function=\"$fn\"} $c" "$1" ||
			error "$2: /proc has $c threads named $name, the metrics: $(grep "function=\"$fn\"" "$1")"
	done
}

start_target "$TESTDATA/leakyserver"
LS=$TARGET_PID
wait_blocked "$LS" "$LS" 60 || fail "leakyserver's main thread never blocked"

# ---- -u: the unwinder asked for is the one called ----
for u in libdw libunwind; do
	rm -f "$TL_TMP/ld-$u".*
	SERVE_ENV=(LD_DEBUG=bindings "LD_DEBUG_OUTPUT=$TL_TMP/ld-$u")
	start_serve -u "$u" --listen 127.0.0.1:0 --interval 600 "$LS"
	SERVE_ENV=()
	scrape "$TL_TMP/u-$u" && metrics_agree "$TL_TMP/u-$u" "-u $u"
	signal_child TERM "$SERVE_PID"
	serve_exit 60 "-u $u: SIGTERM"
	((SERVE_RC == 0)) || error "-u $u: SIGTERM: $(describe_rc "$SERVE_RC")"
	ld=$(cat "$TL_TMP/ld-$u".* 2>/dev/null)
	grep -q "binding file .*normal symbol \`dwfl_begin'" <<<"$ld" ||
		{ error "-u $u: LD_DEBUG=bindings wrote no bindings of libdw"; continue; }
	step=$(grep -c "normal symbol \`_Ux86_64_step'" <<<"$ld")
	frames=$(grep -c "normal symbol \`dwfl_getthread_frames'" <<<"$ld")
	case $u in
	libdw) ((step == 0 && frames > 0)) || error "-u libdw: libunwind's _Ux86_64_step bound $step times, libdw's dwfl_getthread_frames $frames (threadleak linked with -z now?)" ;;
	libunwind) ((step > 0 && frames == 0)) || error "-u libunwind: libunwind's _Ux86_64_step bound $step times, libdw's dwfl_getthread_frames $frames" ;;
	esac
done
run_tl "$TL_TMP/u-bad" serve -u nosuch --listen 127.0.0.1:0 "$LS"
((TL_RC == 64)) || error "-u nosuch: $(describe_rc "$TL_RC"), expected 64"
[ "$(wc -l <"$TL_TMP/u-bad.err")" = 1 ] && grep -q "unknown unwinder 'nosuch'" "$TL_TMP/u-bad.err" ||
	error "-u nosuch says: $(head -c 300 "$TL_TMP/u-bad.err" | tr '\n' '|')"

# ---- a thread id: its process's series, as snapshot takes it ----
tid=$(task_tids "$LS" | grep -vx "$LS" | head -n 1)
if [ -n "$tid" ]; then
	start_serve --listen 127.0.0.1:0 --interval 600 "$tid" "$LS"
	scrape "$TL_TMP/tid" && metrics_agree "$TL_TMP/tid" "thread id $tid"
	grep -q "pid=\"$tid\"" "$TL_TMP/tid" && error "thread id $tid: series labelled with the thread id: $(grep -m1 "pid=\"$tid\"" "$TL_TMP/tid")"
	n=$(grep -c '^threadleak_up{' "$TL_TMP/tid")
	((n == 1)) || error "thread id $tid and its process $LS: $n threadleak_up series, expected one"
	kill_target "$SERVE_PID"
else
	error "leakyserver $LS has no thread but its main one"
fi

# ---- [::1]:PORT and :PORT ----
if grep -q '^00000000000000000000000000000001 .* lo$' /proc/net/if_inet6 2>/dev/null; then
	start_serve --listen '[::1]:0' --interval 600 "$LS"
	[[ $SERVE_ADDR =~ ^\[::1\]:([0-9]+)$ ]] || error "[::1]:0: serving '$SERVE_ADDR'"
	port=${SERVE_ADDR##*:}
	socks=$(listening "$SERVE_PID")
	[ "$socks" = "tcp6 [::1]:$port" ] || error "[::1]:0: serve's listening sockets: '$socks', expected 'tcp6 [::1]:$port'"
	scrape "$TL_TMP/v6" "http://[::1]:$port/metrics" && metrics_agree "$TL_TMP/v6" "[::1]:$port"
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")
	rc=$?
	((rc == 7)) || error "[::1]:$port answers on 127.0.0.1 too (curl: exit $rc, HTTP $code)"
	kill_target "$SERVE_PID"

	start_serve --listen ":0" --interval 600 "$LS"
	[[ $SERVE_ADDR =~ ^\[::\]:([0-9]+)$ ]] || error ":0: serving '$SERVE_ADDR', expected [::]:PORT"
	port=${SERVE_ADDR##*:}
	socks=$(listening "$SERVE_PID")
	[ "$socks" = "tcp6 [::]:$port" ] || error ":0: serve's listening sockets: '$socks', expected 'tcp6 [::]:$port'"
	# every address: loopback's, and the machine's others
	hosts=(127.0.0.1 '[::1]')
	others=$(local_addresses)
	if [ -n "$others" ]; then
		hosts+=($others)
	else
		partial ":PORT on an address other than loopback: this machine has none"
	fi
	for h in "${hosts[@]}"; do
		scrape "$TL_TMP/any" "http://$h:$port/metrics" && metrics_agree "$TL_TMP/any" ":$port on $h"
	done
	kill_target "$SERVE_PID"
else
	partial "[::1]:PORT and :PORT: no IPv6 loopback here"
fi

# ---- bad addresses: one line, nothing served ----
below=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)
bad_address()
{
	local addr=$1 want=$2 says=$3 out=$TL_TMP/bad
	shift 3
	timeout -k 5 "$TL_SNAP_TIMEOUT" "$@" "$THREADLEAK" serve --listen "$addr" --interval 600 "$LS" >"$out" 2>"$out.err" </dev/null
	local rc=$?
	((rc == want)) || error "--listen '$addr': $(describe_rc "$rc"), expected $want: $(first_line "$out.err")"
	[ "$(wc -l <"$out.err")" = 1 ] && [[ $(head -n 1 "$out.err") == "threadleak: $says"* ]] ||
		error "--listen '$addr': not one line '$says': $(head -c 300 "$out.err" | tr '\n' '|')"
	[ ! -s "$out" ] || error "--listen '$addr' printed $(first_line "$out")"
}
for a in 'not an address' '[::1]' '127.0.0.1:99999' ':http' '127.0.0.1:-1'; do
	bad_address "$a" 64 "'$a' is not an address to listen on"
done
bad_address nosuchhost.invalid:9464 2 "cannot listen on nosuchhost.invalid:9464: no such host"
# TEST-NET-3 (RFC 5737): no machine's own
bad_address 203.0.113.7:0 2 "cannot listen on 203.0.113.7:0: Cannot assign requested address"
if [ "$(id -u)" != 0 ]; then
	partial "needs root: a port below 1024 without root (setpriv to nobody)"
elif ((below <= 80)); then
	partial "a port below 1024 without root: this kernel lets anyone bind from port $below"
else
	bad_address 127.0.0.1:80 2 "cannot listen on 127.0.0.1:80: Permission denied (ports below 1024 need root)" \
		setpriv --reuid=65534 --regid=65534 --clear-groups
fi

# ---- exit statuses ----
# the PID it watched exits: 0
start_target "$TESTDATA/leakyserver"
LS2=$TARGET_PID
start_serve --listen 127.0.0.1:0 --interval 0.2 "$LS2"
scrape "$TL_TMP/e0" && grep -q "^threadleak_threads{pid=\"$LS2\"" "$TL_TMP/e0" || error "serve $LS2: no series for it"
kill_target "$LS2"
serve_exit 60 "serve of $LS2, which exited"
((SERVE_RC == 0)) || error "serve of a process that exited: $(describe_rc "$SERVE_RC"), expected 0"
grep -qx "threadleak: process $LS2 (leakyserver) exited; no longer watched" "$SERVE_ERR" &&
	[ "$(tail -n 1 "$SERVE_ERR")" = "threadleak: no process left to watch" ] ||
	error "serve of a process that exited says: $(tr '\n' '|' <"$SERVE_ERR")"

# none could be captured: 2
true &
gone=$!
wait "$gone"
[ ! -e "/proc/$gone" ] || fail "pid $gone of a reaped child is in use"
none_captured()
{
	local what=$1 pid=$2 says=$3 out=$TL_TMP/none
	shift 3
	timeout -k 5 "$TL_SNAP_TIMEOUT" "$@" "$THREADLEAK" serve --listen 127.0.0.1:0 --interval 0.2 "$pid" >"$out" 2>"$out.err" </dev/null
	local rc=$?
	((rc == 2)) || error "serve of $what: $(describe_rc "$rc"), expected 2"
	grep -Eq "^threadleak: $says" "$out.err" && [ "$(tail -n 1 "$out.err")" = "threadleak: no process left to watch" ] ||
		error "serve of $what says: $(tr '\n' '|' <"$out.err" | cut -c 1-300)"
}
none_captured "no such process" "$gone" "no process $gone; not watched"
kthread=
read -r -a st </proc/2/stat 2>/dev/null && (((st[8] & 0x200000) != 0)) && kthread=2	# PF_KTHREAD
if [ -n "$kthread" ]; then
	none_captured "a kernel thread" 2 "2 \(.*\) is a kernel thread"
else
	partial "serve of a kernel thread: pid 2 is not one here (a PID namespace)"
fi
if [ "$(id -u)" = 0 ]; then
	none_captured "another user's process (as nobody)" "$LS" "cannot trace $LS: Operation not permitted" \
		setpriv --reuid=65534 --regid=65534 --clear-groups
else
	partial "needs root: serve of another user's process"
fi

# one that cannot be captured beside one that can: said once, serve goes on
start_serve --listen 127.0.0.1:0 --interval 0.2 "$LS" "$gone"
deadline=$((SECONDS + 60)) n=0
while scrape "$TL_TMP/two"; do
	n=$(sed -n 's/^threadleak_refreshes_total //p' "$TL_TMP/two")
	((n >= 5)) && break
	((SECONDS < deadline)) || break
	tl_sleep 0.2
done
at_least "$n" 5 "refreshes of serve watching $LS and $gone"
proc_alive "$SERVE_PID" || error "serve of $LS and $gone exited"
metrics_agree "$TL_TMP/two" "serve of $LS and $gone"
grep -q "pid=\"$gone\"" "$TL_TMP/two" && error "serve of $LS and $gone: a series for $gone"
[ "$(grep -v '^threadleak: serving ' "$SERVE_ERR")" = "threadleak: no process $gone; not watched" ] ||
	error "serve of $LS and $gone: not said once: $(tr '\n' '|' <"$SERVE_ERR")"
kill_target "$SERVE_PID"

# ---- signals between two refreshes ----
for sig in TERM INT HUP; do
	start_serve --listen 127.0.0.1:0 --interval 600 "$LS"
	scrape "$TL_TMP/s-$sig" || continue
	signal_child "$sig" "$SERVE_PID"
	# 60 s: far less than the 600 s until the next refresh
	serve_exit 60 "SIG$sig between two refreshes"
	((SERVE_RC == 0)) || error "SIG$sig between two refreshes: $(describe_rc "$SERVE_RC"), expected 0"
	[ "$(grep -vc '^threadleak: serving ' "$SERVE_ERR")" = 0 ] ||
		error "SIG$sig between two refreshes: serve said $(grep -v '^threadleak: serving ' "$SERVE_ERR" | head -3 | tr '\n' '|')"
	curl -s -o /dev/null "http://$SERVE_ADDR/metrics"
	rc=$?
	((rc == 7)) || error "SIG$sig: $SERVE_ADDR still answers after serve's exit (curl: exit $rc)"
	released "$LS" "SIG$sig between two refreshes"
done

# ---- signals in the middle of a capture ----
# busy's two spinners run: each refresh stops them (PTRACE_SEIZE and
# INTERRUPT) to unwind them.  Serve is frozen with SIGSTOP while it holds
# one (state t, traced by a thread of serve), then signalled and let go.
start_target "$TESTDATA/busy" 2 1
BUSY=$TARGET_PID
wait_blocked "$BUSY" "$BUSY" 60 || fail "busy's main thread never blocked"
# all_stopped PID: every thread of PID in a group stop (state T)
all_stopped()
{
	local t s
	for t in $(task_tids "$1"); do
		s=$(proc_state "$1" "$t") || continue
		[ "$s" = T ] || return 1
	done
	return 0
}
# held: a thread of BUSY stopped and traced by a thread of serve
held()
{
	local t k v s
	for t in /proc/"$BUSY"/task/[0-9]*; do
		s=
		while read -r k v; do
			case $k in
			State:) s=$v ;;
			TracerPid:) [ "$v" != 0 ] && [ -e "/proc/$SERVE_PID/task/$v" ] && [ "${s:0:1}" = t ] && return 0; break ;;
			esac
		done <"$t/status" 2>/dev/null
	done
	return 1
}
for sig in TERM INT HUP; do
	start_serve --listen 127.0.0.1:0 --interval 0.1 "$BUSY"
	caught=0 deadline=$((SECONDS + 120))
	while ((SECONDS < deadline)) && proc_alive "$SERVE_PID"; do
		held || { tl_sleep 0.002; continue; }
		signal_child STOP "$SERVE_PID"
		until all_stopped "$SERVE_PID" || ((SECONDS >= deadline)); do
			tl_sleep 0.01
		done
		if held; then
			caught=1
			break
		fi
		signal_child CONT "$SERVE_PID"
	done
	at_least "$caught" 1 "SIG$sig: serve caught holding a thread of busy"
	signal_child "$sig" "$SERVE_PID"
	signal_child CONT "$SERVE_PID"
	serve_exit 60 "SIG$sig in the middle of a capture"
	((SERVE_RC == 0)) || error "SIG$sig in the middle of a capture: $(describe_rc "$SERVE_RC"), expected 0"
	[ "$(grep -vc '^threadleak: serving ' "$SERVE_ERR")" = 0 ] ||
		error "SIG$sig in the middle of a capture: serve said $(grep -v '^threadleak: serving ' "$SERVE_ERR" | head -3 | tr '\n' '|')"
	released "$BUSY" "SIG$sig in the middle of a capture"
done
kill_target "$BUSY"
kill_target "$LS"
finish
