#!/bin/bash
# go-diff-top: diff and top on a Go server's goroutines (testdata/go/leaky,
# whose /leak handler leaks one requestWorker per request), built with the
# newest Go here:
#   - snapshot, restart the server and load it with K requests, snapshot,
#     diff: +K in main.requestWorker, created by main.handleLeak, and no
#     other group (the runtime's threads left out, goroutine ids of two
#     processes not compared), exit 1;
#   - in one process, 3 more requests: that group grew from K to K+3,
#     nothing else changed (once the server's connection goroutines, which
#     end a moment after the client has its reply, are gone: snapshots
#     are taken until then, 60 s at most); a snapshot diffed with itself:
#     nothing;
#   - top -b while the test sends the server one request after another,
#     each once top's last frame shows the one before (so the group grows
#     between frames, however slow the machine): once a frame marks the
#     requestWorker group [growing] (20 requests at most), its row with
#     its pprof labels, its header
#     counts goroutines and their growth, the group's row has its wait
#     reason as kind, the runtime's own goroutines say so, no thread was
#     stopped; SIGTERM ends top with 143.
# Every snapshot and diff must exit as expected: a partial one (exit 1) is
# not a snapshot.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq
need_threadleak

go=$(go_toolchains | tail -1)
[ -n "$go" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
v=$(go_version "$go")
bin=$TL_TMP/leaky
build_leaky "$go" plain "$bin" || fail "$LEAKY_ERROR"
K=7

# request PID: one GET /leak to the leaky PID (bash's /dev/tcp)
request()
{
	local addr=${1#*:} host=${1%:*}
	exec 3<>"/dev/tcp/$host/$addr" || return 1
	printf 'GET /leak HTTP/1.0\r\nHost: x\r\n\r\n' >&3
	cat <&3 >/dev/null
	exec 3<&-
}

# the groups a diff --json shows, "status delta function" a line, the
# function the group's first frame of main
shown()
{
	jq -r '.groups[] | "\(.status) \(.delta) \([.frames[].function | select(startswith("main."))][0])"' "$1"
}

# snap OUT ARG...: threadleak snapshot ARG..., which must exit 0
snap()
{
	local out=$1
	shift
	run_tl "$out" snapshot "$@"
	((TL_RC == 0)) || error "snapshot $*: $(describe_rc "$TL_RC"), expected 0: $(first_line "$out.err")"
}

start_leaky "$bin" -n 3
snap "$TL_TMP/a.json" --json -o "$TL_TMP/a.snap" "$LEAKY_PID"
kill_target "$LEAKY_PID"
start_leaky "$bin" -n 3 -requests $K
snap "$TL_TMP/b.txt" -o "$TL_TMP/b.snap" "$LEAKY_PID"
run_tl "$TL_TMP/r.json" diff --json "$TL_TMP/a.snap" "$TL_TMP/b.snap"
((TL_RC == 1)) || error "diff across a restart: $(describe_rc "$TL_RC"), expected 1: $(first_line "$TL_TMP/r.json.err")"
got=$(shown "$TL_TMP/r.json" | tr '\n' ';')
[ "$got" = "appeared $K main.requestWorker;" ] ||
	error "diff across a restart shows '$got', expected 'appeared $K main.requestWorker;': $(jq -c '[.groups[] | [.status, .delta, .kind, [.frames[].function][:5]]]' "$TL_TMP/r.json")"
run_tl "$TL_TMP/r.txt" diff "$TL_TMP/a.snap" "$TL_TMP/b.snap"
grep -q "^goroutines: \([0-9]*\) -> [0-9]* (+$K); 1 group grew" "$TL_TMP/r.txt" ||
	error "diff text summary: $(sed -n 3p "$TL_TMP/r.txt")"
grep -A12 "^+$K  (0 -> $K)  " "$TL_TMP/r.txt" | grep -q "^    main.handleLeak " ||
	error "diff text: the group is not created by main.handleLeak: $(head -c 600 "$TL_TMP/r.txt")"

# one process: 3 more
for _ in 1 2 3; do request "$LEAKY_HTTP" || error "request to $LEAKY_HTTP failed"; done
# The server's connection goroutines end a moment after the client has
# its reply: until then they are groups that appeared.  Snapshots until
# they are gone (a state, not a time: 60 s at most).
deadline=$((SECONDS + 60)) looks=0
while :; do
	looks=$((looks + 1))
	snap "$TL_TMP/c.txt" -o "$TL_TMP/c.snap" "$LEAKY_PID"
	run_tl "$TL_TMP/s.json" diff --json "$TL_TMP/b.snap" "$TL_TMP/c.snap"
	((TL_RC == 1)) || error "diff in one process: $(describe_rc "$TL_RC"), expected 1: $(first_line "$TL_TMP/s.json.err")"
	got=$(shown "$TL_TMP/s.json" | tr '\n' ';')
	[ "$got" = "grew 3 main.requestWorker;" ] && break
	((SECONDS < deadline)) || break
	tl_sleep 0.05
done
[ "$got" = "grew 3 main.requestWorker;" ] || error "diff in one process shows '$got' after $looks snapshots, expected 'grew 3 main.requestWorker;'"
run_tl "$TL_TMP/self.json" diff --json "$TL_TMP/c.snap" "$TL_TMP/c.snap"
((TL_RC == 0)) && [ -z "$(shown "$TL_TMP/self.json")" ] ||
	error "a snapshot diffed with itself: $(describe_rc "$TL_RC"), shows $(shown "$TL_TMP/self.json" | head -3 | tr '\n' ';')"
kill_target "$LEAKY_PID"

# top while it leaks, one request at a time
start_leaky "$bin" -n 1
top=$TL_TMP/top.txt
"$THREADLEAK" top -b -d 0.2 -n 100000 "$LEAKY_PID" >"$top" 2>"$top.err" </dev/null &
toppid=$!
register_pid "$toppid"

# workers N: the count of the requestWorker row in top's last whole
# frame (a frame ends with an empty line), 0 without one; "" before any
frames() { grep -c '^threadleak top:' "$top"; }
last_frame()
{
	awk '/^threadleak top:/ { buf = ""; open = 1 } open { buf = buf $0 "\n" }
		/^$/ && open { last = buf; open = 0 } END { printf "%s", last }' "$top"
}
workers()
{
	local f
	f=$(last_frame)
	[ -n "$f" ] || return 0
	awk '/ main\.requestWorker \(/ { n = ($1 == "*") ? $2 : $1 } END { print n + 0 }' <<<"$f"
}
# wait_frame COND: until COND holds (60 s at most, top still running)
wait_frame()
{
	local deadline=$((SECONDS + 60))
	until eval "$1"; do
		proc_alive "$toppid" || return 1
		((SECONDS < deadline)) || return 1
		tl_sleep 0.02
	done
}

wait_frame '[ -n "$(workers)" ]' || error "top: no frame: $(first_line "$top.err")"
sent=0 marked=
while ((sent < 20)); do
	request "$LEAKY_HTTP" || { error "request to $LEAKY_HTTP failed"; break; }
	sent=$((sent + 1))
	if ! wait_frame '(( $(workers) >= sent ))'; then
		error "top: no frame with $sent requestWorkers (last: $(workers)): $(first_line "$top.err")"
		break
	fi
	if grep -q ' main\.requestWorker (.*\[growing\]$' <<<"$(last_frame)"; then
		marked=$(last_frame)
		break
	fi
done
at_least "$sent" 2 "requests sent while top ran"
note "top: $sent requests, $(frames) frames"
if [ -z "$marked" ]; then
	error "top: the requestWorker group never marked [growing] in $sent requests, one a frame: $(grep requestWorker <<<"$(last_frame)" | head -2)"
else
	head=$(head -1 <<<"$marked")
	grep -Eq "^threadleak top: pid $LEAKY_PID \\([^)]*\\), $v, [0-9]+ goroutines \\(\\+[1-9][0-9]*\\), [0-9]+ threads, " <<<"$head" ||
		error "top header: $head"
	grep -Eq '^\* +[0-9]+ +\+[1-9][0-9]* .* chan send .* main\.requestWorker \(main\.go:[0-9]+\)  \{"handler":"leak", "route":"/leak"\}  \[growing\]$' <<<"$marked" ||
		error "top: the growing requestWorker row: $(grep requestWorker <<<"$marked" | head -2)"
	grep -q '^goroutines: .*chan send' <<<"$marked" || error "top: no goroutine wait line: $(sed -n 3p <<<"$marked")"
	grep -q '  (runtime)$' <<<"$marked" || error "top: the runtime's own goroutines are not marked"
fi
signal_child TERM "$toppid"
wait_frame '! proc_alive "$toppid"' || true
unregister_pid "$toppid"
if proc_alive "$toppid"; then
	kill_target "$toppid"
	error "top -b did not end at SIGTERM"
else
	wait "$toppid"
	rc=$?
	((rc == 143)) || error "top -b at SIGTERM: $(describe_rc "$rc"), expected 143: $(first_line "$top.err")"
fi
# (a positive check first: there are frames to look in)
(($(frames) >= 2)) || error "top: $(frames) frames"
grep -q 'stopped briefly' "$top" && error "top stopped threads of a Go program"
kill_target "$LEAKY_PID"

finish
