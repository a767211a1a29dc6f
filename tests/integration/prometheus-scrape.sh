#!/bin/bash
# prometheus-scrape: a real Prometheus (Debian's prometheus) on loopback,
# with threadleak's alerting rules loaded, scrapes `threadleak serve`
# watching testdata/groups, whose thread counts the program prints itself:
#   - /api/v1/targets: the scrape of serve is up;
#   - /api/v1/query: the values Prometheus stored are the program's own
#     counts (threadleak_threads its "threads N", threadleak_group_count
#     per group function its "count GROUP N", threadleak_up 1,
#     threadleak_refreshes_total rising), in phase 1 and again after the
#     groups change (phase 2: a group gone, one new, one grown, one shrunk);
#   - /api/v1/rules: every rule of threadleak.rules.yml loaded, its health
#     ok once evaluated, none firing on this healthy target.
# Everything polls Prometheus with a bound (60 s); nothing is timed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../serve-lib.sh"

need_cmd curl prometheus python3
need_threadleak
need_testdata groups

rules=$TL_ROOT/share/threadleak/prometheus/threadleak.rules.yml
[ -f "$rules" ] || fail "no $rules"


# api PATH [curl ARG...]: GET Prometheus's /api/v1/PATH, the JSON on stdout
api()
{
	local path=$1
	shift
	curl -s --get "$@" "http://$PROM/api/v1/$path"
}

# promql QUERY: an instant query's result, "function value" a line
# ("-" for no function label), sorted
promql()
{
	api query --data-urlencode "query=$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("status") != "success":
    sys.exit("query failed: %s" % d.get("error"))
for r in d["data"]["result"]:
    print(r["metric"].get("function", "-"), r["value"][1])' | sort
}

# wait_until_eq WHAT WANT CMD...: until CMD prints WANT (60 s); on
# timeout an error with the last output.  Sets GOT.
wait_until_eq()
{
	local what=$1 want=$2 deadline=$((SECONDS + 60))
	shift 2
	while :; do
		GOT=$("$@" 2>&1)
		[ "$GOT" = "$want" ] && return 0
		proc_alive "$PROM_PID" || fail "prometheus exited: $(tail -c 300 "$PROM_ERR")"
		((SECONDS < deadline)) || { error "$what: '$(tr '\n' '|' <<<"$GOT")', expected '$(tr '\n' '|' <<<"$want")'"; return 1; }
		tl_sleep 0.5
	done
}

# counts: what groups printed last, as promql prints the group series
# ("grp_NAME N" for the groups with threads, "main_wait 1"), sorted
counts()
{
	{
		awk '$1 == "count" && $3 > 0 { print "grp_" $2, $3 }' "$1"
		echo "main_wait 1"
	} | sort
}

start_target "$TESTDATA/groups"
G=$TARGET_PID
GOUT=$TARGET_OUT
start_serve --listen 127.0.0.1:0 --interval 1 "$G"

start_prometheus "$rules"

# ---- the scrape is up ----
targets()
{
	api targets | python3 -c '
import json, sys
for t in json.load(sys.stdin)["data"]["activeTargets"]:
    print(t["labels"]["job"], t["scrapeUrl"], t["health"])'
}
wait_until_eq "/api/v1/targets" "threadleak http://$SERVE_ADDR/metrics up" targets ||
	fail "prometheus never scraped serve"

# ---- phase 1: the program's own counts ----
nthreads=$(awk '$1 == "threads" { print $2 }' "$GOUT")
((nthreads == $(task_tids "$G" | wc -l))) || fail "groups says $nthreads threads, /proc $(task_tids "$G" | wc -l)"
wait_until_eq "phase 1: threadleak_threads" "- $nthreads" promql "threadleak_threads{pid=\"$G\",comm=\"groups\"}"
wait_until_eq "phase 1: threadleak_group_count" "$(counts "$GOUT")" \
	promql "threadleak_group_count{pid=\"$G\",kind!=\"other\"}"
wait_until_eq "phase 1: threadleak_up" "- 1" promql "threadleak_up{pid=\"$G\"}"
# serve refreshes every second: its counter rises as Prometheus sees it
r1=$(promql threadleak_refreshes_total | awk '{ print $2 }')
wait_until_eq "threadleak_refreshes_total rises from $r1" "- 1" promql "(threadleak_refreshes_total > bool $r1)"

# ---- phase 2: the groups change ----
kill -USR1 "$G"
deadline=$((SECONDS + 60))
until has_line "$GOUT" "ready 2"; do
	proc_alive "$G" || fail "groups exited"
	((SECONDS < deadline)) || fail "groups never reached phase 2"
	tl_sleep 0.1
done
sed -n '/^phase 2$/,$p' "$GOUT" >"$TL_TMP/phase2"
nthreads=$(awk '$1 == "threads" { print $2 }' "$TL_TMP/phase2")
[ "$(counts "$TL_TMP/phase2")" != "$(counts "$GOUT")" ] || fail "groups' counts did not change in phase 2"
wait_until_eq "phase 2: threadleak_threads" "- $nthreads" promql "threadleak_threads{pid=\"$G\",comm=\"groups\"}"
wait_until_eq "phase 2: threadleak_group_count" "$(counts "$TL_TMP/phase2")" \
	promql "threadleak_group_count{pid=\"$G\",kind!=\"other\"}"

# ---- every rule loaded and evaluated, health ok, none firing ----
rules_state()
{
	api rules | python3 -c '
import json, sys
for g in json.load(sys.stdin)["data"]["groups"]:
    for r in g["rules"]:
        print(r["name"], r["type"], r["health"], r.get("state", "-"))' | sort
}
want=$(sed -n 's/^ *- alert: *\([A-Za-z]*\) *$/\1 alerting ok inactive/p' "$rules" | sort)
[ "$(wc -l <<<"$want")" = 6 ] || error "the rules file has not 6 alerts: $want"
wait_until_eq "/api/v1/rules" "$want" rules_state
assert_not_stopped "$G"
kill_target "$PROM_PID"
kill_target "$SERVE_PID"
kill_target "$G"
finish
