#!/bin/bash
# go-labels: goroutines' pprof labels, read from outside, against the
# program's own goroutine profiles.  testdata/go/leaky -labelled starts
# labelWorkers on one stack with ten label sets and none (no set, an
# empty set, one and two labels, twelve labels: a map of two buckets up
# to Go 1.23, keys and values that need quoting, four more of one
# goroutine each), and -requests 3 leaks requestWorkers labelled
# {"handler":"leak", "route":"/leak"} by SetGoroutineLabels.  Built with
# Go 1.19 (g.labels a map[string]string) and the newest Go here (1.24 on:
# a sorted slice), with DWARF and stripped (-s -w), threadleak must show
# (tests/go-labels.py puts each in one form):
#   - text: one group per label set on that stack, with its count and the
#     `labels:` line pprof's debug=1 prints, byte for byte; --threads: the
#     labels line of each labelled goroutine;
#   - JSON: each goroutine's "labels" object, the sets debug=1 shows
#     (decoded), no object for the goroutine without a set;
#   - -f pprof: the samples' labels key for key as the program's own
#     goroutine profile (debug=0) has them;
#   - serve: threadleak_group_count series labelled pprof_labels with the
#     set's text for the 8 sets with the most goroutines (then in text
#     order), the two others summed as pprof_labels="other", the group
#     without a set with no such label;
#   - diff: one more request grows only the requestWorker group, keyed by
#     its labels, which the text and --json show;
#   - top -b: a row per set, the set after where.
# tl: once
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd python3 curl
need_threadleak
LABELS_PY=$TL_ROOT/tests/go-labels.py
F=(main.labelWorker main.requestWorker)
K=3
t0=$(tl_now_us)

labels_py() { python3 "$LABELS_PY" "$@"; }

# compare WHAT A B: files A and B have the same lines.
compare()
{
	cmp -s "$2" "$3" ||
		error "$1 differ: $(diff "$2" "$3" | head -8 | cut -c 1-300 | tr '\n' '|')"
}

# start_serve ARG...: threadleak serve in the background; sets SERVE_PID
# and SERVE_ADDR (from its "serving" line).
start_serve()
{
	local deadline=$((SECONDS + 60))
	start_target_nowait "$THREADLEAK" serve "$@"
	SERVE_PID=$TARGET_PID SERVE_ADDR=
	until [ -n "$SERVE_ADDR" ]; do
		SERVE_ADDR=$(sed -n 's|^threadleak: serving http://\(.*\)/metrics$|\1|p' "$TARGET_ERR" 2>/dev/null)
		proc_alive "$SERVE_PID" || { error "serve $* exited: $(first_line "$TARGET_ERR")"; return 1; }
		((SECONDS < deadline)) || { error "serve $* said nothing in 60 s"; return 1; }
		tl_sleep 0.05
	done
}

# scrape FILE: GET /metrics into FILE; waits (60 s) for the first refresh.
scrape()
{
	local deadline=$((SECONDS + 60)) code
	while :; do
		code=$(curl -s -o "$1" -w '%{http_code}' "http://$SERVE_ADDR/metrics")
		[ "$code" = 200 ] && return 0
		((SECONDS < deadline)) || { error "scrape: HTTP $code"; return 1; }
		tl_sleep 0.1
	done
}

# requests_leaked PID N: a snapshot shows N requestWorkers in chan send.
requests_leaked()
{
	run_tl "$TL_TMP/rq.json" snapshot --json "$1"
	[ "$(labels_py json "$TL_TMP/rq.json" main.requestWorker | cut -f2)" = "$2" ]
}

gos=() forms=()
while IFS= read -r g; do
	gos+=("$g")
done < <(go_toolchains)
((${#gos[@]})) || skip "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
for go in "${gos[@]}"; do
	m=$(go_minor "$(go_version "$go")")
	((m >= 19)) || continue
	((m <= 23)) && forms+=(map) || forms+=(slice)
done
case " ${forms[*]} " in *" map "*) ;; *) partial "no Go 1.19-1.23 here: the map form of labels is not tried" ;; esac
case " ${forms[*]} " in *" slice "*) ;; *) partial "no Go 1.24 or newer here: the slice form of labels is not tried" ;; esac

for go in "${gos[@]}"; do
	v=$(go_version "$go")
	(($(go_minor "$v") >= 19)) || continue
	for variant in plain stripped; do
		what="$v $variant"
		d=$TL_TMP/$v-$variant
		bin=$d.bin
		build_leaky "$go" $variant "$bin" || { error "$LEAKY_ERROR"; continue; }
		start_leaky "$bin" -n 1 -requests $K -labelled
		pid=$LEAKY_PID

		# threadleak first, the program's dumps after: the labelled
		# goroutines stay parked throughout
		run_tl "$d.txt" snapshot "$pid"
		((TL_RC <= 1)) || error "$what: snapshot: $(describe_rc "$TL_RC"): $(first_line "$d.txt.err")"
		run_tl "$d.threads" snapshot --threads "$pid"
		run_tl "$d.json" snapshot --json "$pid"
		((TL_RC <= 1)) || error "$what: snapshot --json: $(describe_rc "$TL_RC")"
		run_tl "$d.pout" snapshot -q -f pprof -o "$d.pb.gz" "$pid"
		((TL_RC <= 1)) || error "$what: snapshot -f pprof: $(describe_rc "$TL_RC"): $(first_line "$d.pout.err")"
		if start_serve --listen 127.0.0.1:0 --interval 1 --groups 100 "$pid"; then
			scrape "$d.metrics"
			kill_target "$SERVE_PID"
		fi
		if ! dump_leaky "$pid"; then
			error "$what: $LEAKY_ERROR"
			kill_target "$pid"
			continue
		fi

		# text: the debug=1 groups and their labels lines, byte for byte
		labels_py debug1 "$LEAKY_DUMP1" "${F[@]}" >"$d.o1" || error "$what: go-labels debug1"
		labels_py text "$d.txt" "${F[@]}" >"$d.otext" || error "$what: go-labels text"
		compare "$what: the groups of the text output and of debug=1" "$d.otext" "$d.o1"
		n=$(grep -c $'\t{' "$d.o1")
		((n == 10)) || error "$what: debug=1 shows $n label sets on the two stacks, expected 10: $(tr '\n' '|' <"$d.o1" | head -c 600)"
		grep -qxF $'main.requestWorker\t'"$K"$'\t{"handler":"leak", "route":"/leak"}' "$d.otext" ||
			error "$what: no group of $K requestWorkers with the handler's labels in the text"
		grep -qF $'\t{"a!":"2", "a":"1", "empty":"", "quote\\"":"tab\\tnl\\n\\x01\\x7f", "ünï":"é\\u200b\\u00a0"}' "$d.otext" ||
			error "$what: the set that needs quoting is not quoted as pprof quotes it: $(grep -F '"a!"' "$d.otext" | head -c 300)"
		# --threads: each labelled goroutine says its labels
		n=$(grep -cxF '  labels: {"tenant":"a"}' "$d.threads")
		((n == 3)) || error "$what: --threads shows {\"tenant\":\"a\"} on $n goroutines, expected 3"

		# top -b: a row per set, the set after where
		if [ "$variant" = plain ]; then
			run_tl "$d.top" top -b -n 1 "$pid"
			grep -Eq '^ +3 .*main\.labelWorker \(main\.go:[0-9]+\)  \{"tenant":"a"\}$' "$d.top" ||
				error "$what: top -b: no row of 3 labelWorkers with {\"tenant\":\"a\"}: $(grep labelWorker "$d.top" | head -3 | tr '\n' '|')"
		fi

		# JSON: the same sets as data
		labels_py debug1 --data "$LEAKY_DUMP1" "${F[@]}" >"$d.o1data" || error "$what: go-labels debug1 --data"
		labels_py json "$d.json" "${F[@]}" >"$d.ojson" || error "$what: go-labels json"
		compare "$what: the labels of the JSON and of debug=1" "$d.ojson" "$d.o1data"

		# pprof: the samples' labels as the program's own profile's
		labels_py pprof "$LEAKY_DUMP0" "${F[@]}" >"$d.otheirs" || error "$what: go-labels pprof (the program's)"
		labels_py pprof "$d.pb.gz" "${F[@]}" >"$d.oours" || error "$what: go-labels pprof (ours)"
		compare "$what: the profile's labels and the program's debug=0 profile's" "$d.oours" "$d.otheirs"
		at_least "$(grep -c . "$d.otheirs")" 8 "$what: labelled samples in the program's profile"

		# serve: 8 sets named, the others "other", none unlabelled
		if [ -s "$d.metrics" ]; then
			labels_py expect-metrics "$LEAKY_DUMP1" "${F[@]}" >"$d.owant" || error "$what: go-labels expect-metrics"
			labels_py metrics "$d.metrics" "${F[@]}" >"$d.ometrics" || error "$what: go-labels metrics"
			compare "$what: serve's pprof_labels series and the sets expected (8 named, the rest other)" "$d.ometrics" "$d.owant"
			n=$(grep -c $'\tother$' "$d.ometrics")
			((n == 1)) || error "$what: $n series with pprof_labels=\"other\", expected 1"
			grep -q '^threadleak_group_count{[^}]*function="main.labelWorker"[^}]*pprof_labels' "$d.metrics" ||
				error "$what: no pprof_labels on labelWorker's series"
		fi

		# diff: one more request grows the handler's labelled group only
		if [ "$variant" = plain ]; then
			run_tl "$d.a" snapshot -q -o "$d.a.json" "$pid"
			curl -s -o /dev/null "http://$LEAKY_HTTP/leak" || error "$what: GET /leak failed"
			wait_for 60 requests_leaked "$pid" $((K + 1)) ||
				error "$what: no $((K + 1))th requestWorker parked after 60 s"
			run_tl "$d.b" snapshot -q -o "$d.b.json" "$pid"
			run_tl "$d.diff" diff "$d.a.json" "$d.b.json"
			((TL_RC == 1)) || error "$what: diff: $(describe_rc "$TL_RC"), expected 1 (growth)"
			grep -q "^+1  ($K -> $((K + 1)))  chan send  grew" "$d.diff" ||
				error "$what: diff: no +1 chan send group: $(head -c 400 "$d.diff")"
			grep -qxF '  labels: {"handler":"leak", "route":"/leak"}' "$d.diff" ||
				error "$what: diff: the grown group's labels are not shown"
			n=$(grep -c '^[+-][0-9]' "$d.diff")
			((n == 1)) || error "$what: diff shows $n groups, expected 1 (the labelled ones that did not change are not)"
			run_tl "$d.dj" diff --json "$d.a.json" "$d.b.json"
			python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
g = [x for x in d["groups"] if x["delta"] == 1]
ok = len(g) == 1 and g[0].get("labels") == {"handler": "leak", "route": "/leak"} and \
     "labels:{\"handler\":\"leak\", \"route\":\"/leak\"}|" in g[0]["signature"]
sys.exit(0 if ok else 1)' "$d.dj" || error "$what: diff --json: the grown group is not keyed by its labels: $(head -c 400 "$d.dj")"
		fi
		kill_target "$pid"
	done
	note "$v: $(grep -c . "$d.o1") labelled and unlabelled groups compared"
done
note "took $(seconds_since "$t0" 0)s"
finish
