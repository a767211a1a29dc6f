#!/bin/bash
# serve-pprof: serve's pprof endpoints against the programs' own accounts.
# serve watches a Go program (testdata/go/leaky -n 3 -requests 3
# -labelled, built stripped by the newest Go here) and a C program
# (testdata/groups); then:
#   - /debug/pprof/goroutine?pid=GO&debug=1 and &debug=2, read by the
#     parser that reads the program's own dumps (tests/go-oracle.py),
#     equal them: every group's count, stack and labels; every goroutine's
#     id, status, wait reason, frames, creator and parent; but for the
#     goroutines that run (main, LEAKY_MOVING) and the runtime's;
#   - `go tool pprof -raw` fetching http://ADDR/debug/pprof/goroutine?pid=GO
#     itself (as a continuous profiler or a person does) gets the samples
#     of the program's own debug=0 profile;
#   - the C program: `go tool pprof -raw` of its URL, and its debug=1 text,
#     count each group's threads as the program says ("count GROUP N"),
#     and debug=2 has a "thread TID" entry for each of its threads;
#   - /, /debug/pprof/ and /debug/pprof (the index) list both processes
#     with their links;
#   - what a client can get wrong: no pid with two processes watched (400,
#     saying how many), a pid not watched (404), debug=3 and debug=x (400,
#     the value escaped), a profile serve does not make (heap: 404), POST
#     (405); serve answers each and goes on.
# Then serve watches the Go program alone: ?pid= may be left out.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"
. "$(dirname "$0")/../serve-lib.sh"

need_cmd python3 curl
need_threadleak
need_testdata groups
gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
GO=$(tail -1 <<<"$gos")
v=$(go_version "$GO")
export PPROF_TMPDIR=$TL_TMP/pprof-home
pprof() { GOTOOLCHAIN=local HOME=$TL_TMP "$GO" tool pprof "$@" 2>"$TL_TMP/pprof.err"; }

# get NAME URL [CODE]: GET URL into $TL_TMP/NAME; its status must be CODE
# (default 200).
get()
{
	local code
	code=$(curl -gs -o "$TL_TMP/$1" -w '%{http_code}' "$2")
	[ "$code" = "${3:-200}" ] || { error "GET $2: HTTP $code, expected ${3:-200}: $(head -c 200 "$TL_TMP/$1")"; return 1; }
}

# raw_count FUNCTION RAW: the samples of `go tool pprof -raw` output RAW
# whose stack has FUNCTION (a location's function, inlined ones too).
raw_count()
{
	awk -v fn="$1" '
		FNR == 1 { pass++; sec = "" }
		/^(Samples|Locations|Mappings)/ { sec = $1; next }
		pass == 1 && sec == "Locations" {
			if ($1 ~ /^[0-9]+:$/) {
				id = substr($1, 1, length($1) - 1)
				for (i = 2; i <= NF && ($i ~ /^0x/ || $i ~ /^M=/); i++)
					;
				name = $i
			} else {
				name = $1
			}
			if (name == fn)
				has[id] = 1
		}
		pass == 2 && sec == "Samples:" && $1 ~ /^[0-9]+:$/ {
			hit = 0
			for (i = 2; i <= NF; i++)
				hit = hit || ($i in has)
			if (hit)
				s += $1
		}
		END { print s + 0 }' "$2" "$2"
}

build_leaky "$GO" stripped "$TL_TMP/leaky" || fail "$LEAKY_ERROR"
start_leaky "$TL_TMP/leaky" -n 3 -requests 3 -labelled
GOPID=$LEAKY_PID
start_target "$TESTDATA/groups"
CPID=$TARGET_PID
COUT=$TARGET_OUT

start_serve --listen 127.0.0.1:0 --interval 600 "$GOPID" "$CPID"
scrape "$TL_TMP/metrics" || fail "serve never published"
base=http://$SERVE_ADDR/debug/pprof/goroutine

# ---- the Go program: debug=1 and debug=2 against its own dumps ----
get go1 "$base?pid=$GOPID&debug=1"
get go2 "$base?pid=$GOPID&debug=2"
dump_leaky "$GOPID" || fail "$LEAKY_ERROR"
MOVING=$'(\t|;)main\\.main |'"$LEAKY_MOVING"
go_oracle debug1 "$TL_TMP/go1" | grep -Ev "$MOVING" >"$TL_TMP/ours1" ||
	error "$v: go-oracle cannot read serve's debug=1: $(head -c 300 "$TL_TMP/go1")"
go_oracle debug1 "$LEAKY_DUMP1" | grep -Ev "$MOVING" >"$TL_TMP/theirs1" ||
	error "$v: go-oracle cannot read the program's debug=1 dump"
cmp -s "$TL_TMP/ours1" "$TL_TMP/theirs1" ||
	error "$v: debug=1 differs from the program's (< serve, > Go): $(diff "$TL_TMP/ours1" "$TL_TMP/theirs1" | grep '^[<>]' | head -4 | cut -c 1-300 | tr '\n' '|')"
[ "$(wc -l <"$TL_TMP/theirs1")" -ge 20 ] || error "$v: too few groups to compare: $(wc -l <"$TL_TMP/theirs1")"
grep -q '^3	main\.requestWorker .*	{"handler":"leak", "route":"/leak"}$' "$TL_TMP/ours1" ||
	error "$v: debug=1 has no group of 3 labelled requestWorkers"
go_oracle debug2 "$TL_TMP/go2" | cut -f1-7 | grep -Ev "^1	|$LEAKY_MOVING" >"$TL_TMP/ours2" ||
	error "$v: go-oracle cannot read serve's debug=2: $(head -c 300 "$TL_TMP/go2")"
go_oracle debug2 "$LEAKY_DUMP2" | cut -f1-7 | grep -Ev "^1	|$LEAKY_MOVING" >"$TL_TMP/theirs2" ||
	error "$v: go-oracle cannot read the program's debug=2 dump"
cmp -s "$TL_TMP/ours2" "$TL_TMP/theirs2" ||
	error "$v: debug=2 differs from the program's (< serve, > Go): $(diff "$TL_TMP/ours2" "$TL_TMP/theirs2" | grep '^[<>]' | head -4 | cut -c 1-300 | tr '\n' '|')"
[ "$(wc -l <"$TL_TMP/theirs2")" -ge 40 ] || error "$v: too few goroutines to compare: $(wc -l <"$TL_TMP/theirs2")"

# ---- go tool pprof fetching from serve, against the program's debug=0 ----
pprof -raw "$base?pid=$GOPID" >"$TL_TMP/ours.raw" ||
	error "$v: go tool pprof cannot fetch $base?pid=$GOPID: $(head -c 300 "$TL_TMP/pprof.err")"
grep -q '^PeriodType: goroutine count$' "$TL_TMP/ours.raw" || error "$v: serve's profile is not a goroutine profile"
pprof -raw "$LEAKY_DUMP0" >"$TL_TMP/theirs.raw" || error "$v: pprof -raw of the program's: $(head -c 200 "$TL_TMP/pprof.err")"
go_oracle pprof "$TL_TMP/ours.raw" | grep -Ev "main\.main |$LEAKY_MOVING" >"$TL_TMP/oursp" ||
	error "$v: go-oracle cannot read serve's profile"
go_oracle pprof "$TL_TMP/theirs.raw" | grep -Ev "main\.main |$LEAKY_MOVING" >"$TL_TMP/theirsp" ||
	error "$v: go-oracle cannot read the program's profile"
cmp -s "$TL_TMP/oursp" "$TL_TMP/theirsp" ||
	error "$v: go tool pprof's samples differ from the program's profile: $(diff "$TL_TMP/oursp" "$TL_TMP/theirsp" | head -6 | cut -c 1-300 | tr '\n' '|')"
[ "$(wc -l <"$TL_TMP/theirsp")" -ge 12 ] || error "$v: too few samples to compare: $(wc -l <"$TL_TMP/theirsp")"
# the binary profile is served as Go serves it
curl -gs -D "$TL_TMP/headers" -o /dev/null "$base?pid=$GOPID"
grep -qi '^Content-Type: application/octet-stream' "$TL_TMP/headers" &&
	grep -qi '^Content-Disposition: attachment' "$TL_TMP/headers" ||
	error "debug=0 headers: $(tr '\r\n' '  ' <"$TL_TMP/headers" | head -c 300)"

# ---- the C program: its groups' counts ----
pprof -raw "$base?pid=$CPID" >"$TL_TMP/c.raw" ||
	error "go tool pprof cannot fetch $base?pid=$CPID: $(head -c 300 "$TL_TMP/pprof.err")"
grep -q '^PeriodType: thread count$' "$TL_TMP/c.raw" || error "groups' profile is not a thread profile"
get c1 "$base?pid=$CPID&debug=1"
get c2 "$base?pid=$CPID&debug=2"
head -1 "$TL_TMP/c1" | grep -qx "thread profile: total $(awk '/^threads /{print $2}' "$COUT")" ||
	error "groups' debug=1 header: $(head -1 "$TL_TMP/c1"), the program has $(awk '/^threads /{print $2}' "$COUT") threads"
while read -r _ grp n; do
	# debug=1: the counts of the stacks in grp_GROUP
	got=$(awk -v fn="grp_$grp" '/^[0-9]+ @/ { c = $1 } $3 == fn { s += c; c = 0 } END { print s + 0 }' "$TL_TMP/c1")
	[ "$got" = "$n" ] || error "debug=1: $got threads in grp_$grp, the program says $n"
	# go tool pprof: the samples through grp_GROUP
	got=$(raw_count "grp_$grp" "$TL_TMP/c.raw")
	[ "$got" = "$n" ] || error "go tool pprof -raw: $got threads in grp_$grp, the program says $n"
done < <(grep '^count ' "$COUT" | grep -v ' 0$')
while read -r _ grp tid; do
	grep -q "^thread $tid \"" "$TL_TMP/c2" || error "debug=2 has no entry for thread $tid ($grp)"
done < <(grep '^member ' "$COUT")

# ---- the index ----
for path in / /debug/pprof/ /debug/pprof; do
	get index "http://$SERVE_ADDR$path" || continue
	for pid in "$GOPID" "$CPID"; do
		grep -q "<td>$pid</td>" "$TL_TMP/index" &&
			grep -q "href=\"/debug/pprof/goroutine?pid=$pid&amp;debug=2\"" "$TL_TMP/index" ||
			error "the index at $path does not list $pid with its links: $(head -c 400 "$TL_TMP/index")"
	done
	grep -q '<td>groups</td>' "$TL_TMP/index" || error "the index at $path does not name groups"
done

# ---- what a client can get wrong ----
get e1 "$base" 400 && grep -q '^2 processes are watched: give one, ?pid=PID' "$TL_TMP/e1" ||
	error "no pid, two watched: $(head -c 200 "$TL_TMP/e1")"
get e2 "$base?pid=1" 404 && grep -q '^process 1 is not watched' "$TL_TMP/e2" ||
	error "pid 1: $(head -c 200 "$TL_TMP/e2")"
get e3 "$base?pid=$GOPID&debug=3" 400
get e4 "$base?pid=$GOPID&debug=%1b%5b2J" 400 && ! grep -q $'\e' "$TL_TMP/e4" ||
	error "debug=ESC[2J: the escape is sent back raw"
get e5 "$base?pid=x" 404
get e6 "http://$SERVE_ADDR/debug/pprof/heap" 404
code=$(curl -gs -o /dev/null -w '%{http_code}' -X POST "$base?pid=$GOPID")
[ "$code" = 405 ] || error "POST: HTTP $code, expected 405"
proc_alive "$SERVE_PID" || fail "serve died: $(head -c 300 "$SERVE_ERR")"
get again "$base?pid=$GOPID&debug=1" || error "serve answers no more after the bad requests"
kill_target "$SERVE_PID"
serve_exit 60 "serve after SIGKILL"

# ---- one process: ?pid= may be left out ----
start_serve --listen 127.0.0.1:0 --interval 600 "$GOPID"
scrape "$TL_TMP/metrics1" || fail "serve of one process never published"
get one1 "http://$SERVE_ADDR/debug/pprof/goroutine?debug=1"
head -1 "$TL_TMP/one1" | grep -q '^goroutine profile: total [0-9]' ||
	error "one process, no pid: $(head -c 200 "$TL_TMP/one1")"
signal_child TERM "$SERVE_PID"
serve_exit 60 "serve after SIGTERM"
((SERVE_RC == 0)) || error "serve after SIGTERM: $(describe_rc "$SERVE_RC")"
assert_not_stopped "$GOPID" "serve's profiles"
assert_not_stopped "$CPID" "serve's profiles"
finish
