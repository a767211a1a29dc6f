#!/bin/bash
# go-diff-top: diff and top on a Go server's goroutines (testdata/go/leaky,
# whose /leak handler leaks one requestWorker per request), built with the
# newest Go here:
#   - snapshot, restart the server and load it with K requests, snapshot,
#     diff: +K in main.requestWorker, created by main.handleLeak, and no
#     other group (the runtime's threads left out, goroutine ids of two
#     processes not compared), exit 1;
#   - in one process, 3 more requests: that group grew from K to K+3,
#     nothing else changed; a snapshot diffed with itself: nothing;
#   - top -b while the server leaks a request every 100 ms: the header
#     counts goroutines and their growth, the requestWorker group is marked
#     [growing] with its wait reason as kind, the runtime's own goroutines
#     say so, and no thread is stopped.
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

start_leaky "$bin" -n 3
snapshot_json "$LEAKY_PID" "$TL_TMP/a.json" -o "$TL_TMP/a.snap"
kill_target "$LEAKY_PID"
start_leaky "$bin" -n 3 -requests $K
run_tl "$TL_TMP/b.txt" snapshot -o "$TL_TMP/b.snap" "$LEAKY_PID"
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
# its reply: until then they are groups that appeared.  Give them 3 s.
for ((i = 0; i < 10; i++)); do
	run_tl "$TL_TMP/c.txt" snapshot -o "$TL_TMP/c.snap" "$LEAKY_PID"
	run_tl "$TL_TMP/s.json" diff --json "$TL_TMP/b.snap" "$TL_TMP/c.snap"
	got=$(shown "$TL_TMP/s.json" | tr '\n' ';')
	[ "$got" = "grew 3 main.requestWorker;" ] && break
	tl_sleep 0.3
done
[ "$got" = "grew 3 main.requestWorker;" ] || error "diff in one process shows '$got', expected 'grew 3 main.requestWorker;'"
run_tl "$TL_TMP/self.json" diff --json "$TL_TMP/c.snap" "$TL_TMP/c.snap"
((TL_RC == 0)) && [ -z "$(shown "$TL_TMP/self.json")" ] ||
	error "a snapshot diffed with itself: $(describe_rc "$TL_RC"), shows $(shown "$TL_TMP/self.json" | head -3 | tr '\n' ';')"
kill_target "$LEAKY_PID"

# top while it leaks
start_leaky "$bin" -n 1 -grow 100ms
run_tl "$TL_TMP/top.txt" top -b -d 0.4 -n 8 "$LEAKY_PID"
((TL_RC == 0)) || error "top: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/top.txt.err")"
last=$(awk '/^threadleak top:/{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$TL_TMP/top.txt")
head=$(head -1 <<<"$last")
grep -Eq "^threadleak top: pid $LEAKY_PID \\([^)]*\\), $v, [0-9]+ goroutines \\(\\+[1-9][0-9]*\\), [0-9]+ threads, " <<<"$head" ||
	error "top header: $head"
grep -Eq '^\* +[0-9]+ +\+[1-9][0-9]* .* chan send .* main\.requestWorker \(main\.go:[0-9]+\)  \[growing\]$' <<<"$last" ||
	error "top: no growing requestWorker row in the last frame: $(grep requestWorker <<<"$last" | head -2)"
grep -q '^goroutines: .*chan send' <<<"$last" || error "top: no goroutine wait line: $(sed -n 3p <<<"$last")"
grep -q '  (runtime)$' <<<"$last" || error "top: the runtime's own goroutines are not marked"
grep -q 'stopped briefly' "$TL_TMP/top.txt" && error "top stopped threads of a Go program"
kill_target "$LEAKY_PID"

finish
