#!/bin/bash
# serve: `threadleak serve` as Prometheus's exporter, scraped by Debian's
# real prometheus on loopback:
#   - /metrics in the text format, as promtool parses it: HELP and TYPE,
#     the thread count /proc's, the leaky server's groups labelled by kind
#     and own function (never an address), one "other" series; / and 404
#     and 405 answers;
#   - scrapes between two refreshes get the same bytes (no capture of
#     their own), and no thread of the target is left stopped;
#   - prometheus scrapes it every second: after a leak of 50 threads a
#     PromQL query through its HTTP API returns the grown series (50 in
#     wait_for_reply) and the thread count's growth since prometheus
#     started (the alerting rules loaded into one: prometheus-scrape.sh);
#   - --groups bounds the series, the rest (/proc's threads less the two
#     largest groups) in "other";
#   - --match watches every process whose name matches, a second one
#     started later included, and drops one that exits;
#   - a hostile thread name cannot break the exposition;
#   - bad input: --listen on a port in use, or on what is not an address,
#     no PID: one line, exit 2, 2, 64.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../serve-lib.sh"

need_cmd curl prometheus promtool python3
need_threadleak
need_testdata leakyserver client

N=50

start_server()
{
	start_target "$TESTDATA/leakyserver"
	PORT=$(awk '/^port /{print $2}' "$TARGET_OUT")
	[ -n "$PORT" ] || fail "leakyserver printed no port"
}

# promql QUERY: the values of an instant query through prometheus's HTTP
# API, "labels value" a line, sorted.
promql()
{
	curl -s --get --data-urlencode "query=$1" "http://$PROM/api/v1/query" |
		python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("status") != "success":
    sys.exit("query failed: %s" % d.get("error"))
for r in d["data"]["result"]:
    m = r["metric"]
    print(m.get("function", "-"), m.get("kind", "-"), r["value"][1])' | sort
}

# wait_promql QUERY WANT: until promql QUERY prints WANT (60 s).
wait_promql()
{
	local deadline=$((SECONDS + 60)) got
	while :; do
		got=$(promql "$1" 2>&1)
		[ "$got" = "$2" ] && return 0
		((SECONDS < deadline)) || { error "PromQL '$1' gives '$got', expected '$2'"; return 1; }
		tl_sleep 0.5
	done
}

# promtool_check FILE WHAT: Prometheus's own parser and linter accept the
# exposition in FILE.  Its one lint (exit 3) about threadleak_group_count's
# "_count" suffix is allowed: the name is the man page's.
promtool_check()
{
	local rc
	promtool check metrics <"$1" >"$1.promtool" 2>&1
	rc=$?
	if ((rc == 3)); then
		grep -qvx 'threadleak_group_count non-histogram and non-summary metrics should not have "_count" suffix' "$1.promtool" || rc=0
	fi
	((rc == 0)) || error "$2: promtool check metrics: exit $rc: $(head -c 300 "$1.promtool" | tr '\n' '|')"
}


# ---- the exposition ----
start_server
LS=$TARGET_PID
start_serve --listen 127.0.0.1:0 --interval 1 "$LS"
m=$TL_TMP/m1
scrape "$m" || fail "no metrics"
nthreads=$(task_tids "$LS" | wc -l)
((nthreads == 7)) || fail "leakyserver has $nthreads threads in /proc, not its 7"
grep -q '^# TYPE threadleak_group_count gauge$' "$m" || error "no TYPE line for threadleak_group_count"
grep -q '^# HELP threadleak_threads ' "$m" || error "no HELP line for threadleak_threads"
grep -qx "threadleak_threads{pid=\"$LS\",comm=\"leakyserver\"} $nthreads" "$m" ||
	error "thread count: /proc has $nthreads, the metrics: $(grep '^threadleak_threads' "$m")"
npool=$(cat /proc/"$LS"/task/*/comm | grep -cx pool)
grep -qx "threadleak_group_count{pid=\"$LS\",comm=\"leakyserver\",entry=\"thread\",kind=\"condvar\",function=\"pool_wait\"} $npool" "$m" ||
	error "pool group: /proc has $npool threads named pool, the metrics: $(grep pool_wait "$m")"
grep -qx "threadleak_group_count{pid=\"$LS\",comm=\"leakyserver\",entry=\"other\",kind=\"other\",function=\"other\"} 0" "$m" ||
	error "no empty other series: $(grep other "$m")"
! grep -q '0x[0-9a-f]' "$m" || error "an address in a label: $(grep '0x' "$m" | head -1)"
python3 - "$m" <<'EOF' || error "the exposition does not parse"
import re, sys
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? [0-9.e+-]+$')
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if not (line.startswith("# HELP ") or line.startswith("# TYPE ") or sample.match(line)):
        sys.exit("bad line: %r" % line)
    n += 1
if n < 10:
    sys.exit("%d lines" % n)
EOF
promtool_check "$m" "the exposition"
# the oracle can say no: one broken sample line
{ cat "$m"; printf 'threadleak_threads{pid="1" 3\n'; } >"$TL_TMP/broken"
promtool check metrics <"$TL_TMP/broken" >/dev/null 2>&1
(($? == 1)) || error "promtool check metrics accepts a broken line: the check above proves nothing"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$SERVE_ADDR/nothing")" = 404 ] || error "/nothing is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$SERVE_ADDR/metrics")" = 405 ] || error "POST is not 405"
curl -s "http://$SERVE_ADDR/" | grep -q /metrics || error "/ does not point to /metrics"
assert_not_stopped "$LS"

# ---- prometheus scrapes it; a leak of 50 threads ----
start_prometheus
wait_promql "threadleak_threads{pid=\"$LS\"}" "- - $nthreads" || fail "prometheus never scraped threadleak"
"$TESTDATA/client" "$PORT" "$N" >/dev/null || fail "client failed"
wait_promql "threadleak_group_count{pid=\"$LS\",function=\"wait_for_reply\"}" "wait_for_reply condvar $N"
# [10m]: since prometheus started (with 7 threads), however long the above took
wait_promql "max_over_time(threadleak_threads{pid=\"$LS\"}[10m]) - min_over_time(threadleak_threads{pid=\"$LS\"}[10m])" "- - $N"
assert_not_stopped "$LS"
kill_target "$PROM_PID"

# ---- a scrape never captures: the same bytes until the next refresh ----
kill_target "$SERVE_PID"
start_serve --listen 127.0.0.1:0 --interval 600 --groups 2 "$LS"
scrape "$TL_TMP/s0" || fail "no metrics"
for i in 1 2 3 4 5 6 7 8 9 10; do
	scrape "$TL_TMP/s$i"	# where labels out, as in s0
	cmp -s "$TL_TMP/s0" "$TL_TMP/s$i" || error "scrape $i differs from the first"
done
grep -qx 'threadleak_refreshes_total 1' "$TL_TMP/s0" || error "refreshes: $(grep '^threadleak_refreshes_total' "$TL_TMP/s0")"
promtool_check "$TL_TMP/s0" "--groups 2"
# --groups 2: the two largest (the leak, the pool: the threads named pool in
# /proc), the rest of /proc's threads in other
nthreads=$(task_tids "$LS" | wc -l)
npool=$(cat /proc/"$LS"/task/*/comm | grep -cx pool)
other=$((nthreads - N - npool))
((other > 0 && npool == 4)) || error "leakyserver: $nthreads threads in /proc, $npool named pool"
got=$(grep "^threadleak_group_count{pid=\"$LS\"" "$TL_TMP/s0" | sed 's/.*function="\([^"]*\)"} \([0-9]*\)$/\1 \2/' | tr '\n' ' ')
[ "$got" = "wait_for_reply $N pool_wait $npool other $other " ] || error "--groups 2: series '$got', expected 'wait_for_reply $N pool_wait $npool other $other'"
grep -qx "threadleak_group_count{pid=\"$LS\",comm=\"leakyserver\",entry=\"other\",kind=\"other\",function=\"other\"} $other" "$TL_TMP/s0" ||
	error "--groups 2: other is $(grep 'kind="other"' "$TL_TMP/s0")"
# a port in use
run_tl "$TL_TMP/inuse" serve --listen "$SERVE_ADDR" "$LS"
((TL_RC == 2)) || error "--listen on a port in use: $(describe_rc "$TL_RC"), expected 2"
grep -q "^threadleak: cannot listen on $SERVE_ADDR: Address already in use (pick another port)\$" "$TL_TMP/inuse.err" ||
	error "--listen on a port in use says: $(first_line "$TL_TMP/inuse.err")"
kill_target "$SERVE_PID"

# ---- --match: every leakyserver, one that starts later, one that exits ----
start_server
LS2=$TARGET_PID
start_serve --listen 127.0.0.1:0 --interval 0.5 --match '^leakyserver$'
scrape "$TL_TMP/m2" || fail "no metrics"
deadline=$((SECONDS + 60))
until grep -q "^threadleak_threads{pid=\"$LS2\"" "$TL_TMP/m2" && grep -q "^threadleak_threads{pid=\"$LS\"" "$TL_TMP/m2"; do
	((SECONDS < deadline)) || { error "--match: not both servers: $(grep '^threadleak_threads' "$TL_TMP/m2" | tr '\n' ' ')"; break; }
	tl_sleep 0.2
	scrape "$TL_TMP/m2"
done
start_server
LS3=$TARGET_PID
kill_target "$LS2"
deadline=$((SECONDS + 60))
until grep -q "^threadleak_threads{pid=\"$LS3\"" "$TL_TMP/m2" && ! grep -q "pid=\"$LS2\"" "$TL_TMP/m2"; do
	((SECONDS < deadline)) || { error "--match: a new server not added or a dead one kept: $(grep '^threadleak_threads' "$TL_TMP/m2" | tr '\n' ' ')"; break; }
	tl_sleep 0.2
	scrape "$TL_TMP/m2"
done
kill_target "$SERVE_PID"

# ---- a hostile name: quotes, a backslash, a newline's escape, bad UTF-8 ----
mkdir -p "$TL_TMP/esc"
start_target "$TESTDATA/escapes" "$TL_TMP/esc"
ESC=$TARGET_PID
start_serve --listen 127.0.0.1:0 --interval 1 "$ESC"
scrape "$TL_TMP/m3" || fail "no metrics"
promtool_check "$TL_TMP/m3" "a hostile target"
python3 - "$TL_TMP/m3" <<'EOF' || error "a hostile target breaks the exposition"
import re, sys
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? [0-9.e+-]+$')
data = open(sys.argv[1], "rb").read()
data.decode("utf-8")
text = data.decode("utf-8")
for line in text.split("\n")[:-1]:
    if not (line.startswith("# ") or sample.match(line)) or any(ord(c) < 32 for c in line):
        sys.exit("bad line: %r" % line)
if 'comm="m?]0:PWN?x"' not in text.replace(";", ":") or "function=\"esc_" not in text:
    sys.exit("the hostile names are not there, escaped: %r" % text[-600:])
EOF
kill_target "$SERVE_PID"
kill_target "$ESC"

# ---- usage ----
run_tl "$TL_TMP/u1" serve --listen 'not an address' "$LS"
((TL_RC == 64)) || error "--listen 'not an address': $(describe_rc "$TL_RC"), expected 64"
run_tl "$TL_TMP/u2" serve --listen 127.0.0.1:0
((TL_RC == 64)) || error "serve with no PID: $(describe_rc "$TL_RC"), expected 64"
[ "$(wc -l <"$TL_TMP/u2.err")" = 1 ] || error "serve with no PID: not one line"
kill_target "$LS"
kill_target "$LS3"
finish
