#!/bin/bash
# exports: snapshots as pprof profiles and folded stacks, read by the
# tools people use:
#   - the leaky C server, before and after a leak of 50 threads:
#     `go tool pprof -top -diff_base before after` shows +50 in
#     wait_for_reply and nothing else, -top the threads /proc has;
#     -traces shows the group with its
#     labels (wait kind, thread names); -raw shows the executable's
#     mapping first with its build id as readelf reads it, and inline
#     frames as lines of one location;
#   - folded stacks: root first, the wait kind as the leaf, the count
#     last; flamegraph.pl's reading (split at the last space, then at ';')
#     gives back the groups and their counts, adding up to /proc's threads;
#   - export of saved snapshots, today's and the frozen ones of
#     testdata/ (made before snapshots listed their modules: pprof's diff
#     is the difference of their thread counts);
#   - a Go program (each Go toolchain here): the profile of its
#     goroutines and its own goroutine profile (debug=0), read by the same
#     `go tool pprof -raw`, have the same groups with the same counts
#     (tests/go-oracle.py pprof), but for the goroutines that run while
#     the program writes its own;
#   - bad input: an unknown format (64), no format (64), a snapshot of a
#     newer version, a truncated one, a file that is not one (2, one line,
#     no output file left behind).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3 readelf
need_threadleak
need_testdata leakyserver client

gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
GO=$(tail -1 <<<"$gos")
pprof() { GOTOOLCHAIN=local "$GO" tool pprof "$@" 2>"$TL_TMP/pprof.err"; }
N=50

# ---- the C server, before and after the leak ----
start_target "$TESTDATA/leakyserver"
LS=$TARGET_PID
PORT=$(awk '/^port /{print $2}' "$TARGET_OUT")
wait_blocked "$LS" "$LS" 60 || fail "leakyserver's main thread never blocked"
run_tl "$TL_TMP/b.txt" snapshot -q -f pprof -o "$TL_TMP/before.pb.gz" "$LS"
((TL_RC == 0)) || fail "snapshot -f pprof: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/b.txt.err")"
"$TESTDATA/client" "$PORT" "$N" >/dev/null || fail "client failed"
# the client returns once every handler is stuck: the count stays
nthreads=$(task_tids "$LS" | wc -l)
run_tl "$TL_TMP/a.txt" snapshot -q -f pprof -o "$TL_TMP/after.pb.gz" "$LS"
((TL_RC == 0)) || fail "snapshot -f pprof after: $(describe_rc "$TL_RC")"
run_tl "$TL_TMP/after.folded" snapshot -f folded "$LS"
((TL_RC == 0)) || error "snapshot -f folded: $(describe_rc "$TL_RC")"
run_tl "$TL_TMP/after.snap.out" snapshot -q -o "$TL_TMP/after.snap" "$LS"
((TL_RC == 0)) || fail "snapshot -o: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/after.snap.out.err")"
[ "$(task_tids "$LS" | wc -l)" = "$nthreads" ] || fail "leakyserver's threads changed during the snapshots: $nthreads, now $(task_tids "$LS" | wc -l)"
((nthreads == N + 7)) || error "/proc has $nthreads threads of leakyserver, not its 7 and $N handlers"
assert_not_stopped "$LS"

[ "$(head -c 2 "$TL_TMP/after.pb.gz" | od -An -tx1 | tr -d ' ')" = 1f8b ] || error "the profile is not gzip"
pprof -top -diff_base "$TL_TMP/before.pb.gz" "$TL_TMP/after.pb.gz" >"$TL_TMP/top" ||
	fail "go tool pprof -top -diff_base: $(head -c 300 "$TL_TMP/pprof.err")"
grep -q "^Type: thread$" "$TL_TMP/top" || error "-top: no 'Type: thread': $(head -5 "$TL_TMP/top")"
grep -q "^Showing nodes accounting for $N, " "$TL_TMP/top" || error "-diff_base: not +$N in all: $(grep Showing "$TL_TMP/top")"
grep -Eq "^ +0 +0% +[0-9.]+% +$N [0-9.]+% +wait_for_reply\$" "$TL_TMP/top" ||
	error "-diff_base: wait_for_reply did not grow by $N: $(grep wait_for_reply "$TL_TMP/top")"
# nothing else grew: every line with a cumulative count says +N or 0
bad=$(awk '/^ +-?[0-9]/ && $4 != '"$N"' && $4 != 0' "$TL_TMP/top")
[ -z "$bad" ] || error "-diff_base: other changes: $bad"

pprof -top "$TL_TMP/after.pb.gz" >"$TL_TMP/top-after" || fail "go tool pprof -top: $(head -c 300 "$TL_TMP/pprof.err")"
grep -q "^Showing nodes accounting for $nthreads, 100% of $nthreads total\$" "$TL_TMP/top-after" ||
	error "-top: /proc has $nthreads threads, pprof: $(grep Showing "$TL_TMP/top-after")"
pprof -traces "$TL_TMP/after.pb.gz" >"$TL_TMP/traces" || fail "go tool pprof -traces failed"
python3 - "$TL_TMP/traces" "$N" <<'EOF' || error "-traces: no group of $N in wait_for_reply labelled condvar and handler"
import sys
text, n = open(sys.argv[1]).read(), sys.argv[2]
for trace in text.split("-----------+-------------------------------------------------------"):
    lines = [l.strip() for l in trace.strip().split("\n")]
    funcs = [l.split()[-1] if l.split() else "" for l in lines]
    if (any(l.startswith(n + " ") for l in lines) and "wait_for_reply" in funcs
            and "handle_request" in funcs and "wait:  condvar" in lines
            and "thread:  handler" in lines):
        sys.exit(0)
sys.exit(1)
EOF

pprof -raw "$TL_TMP/after.pb.gz" >"$TL_TMP/raw" || fail "go tool pprof -raw failed"
bid=$(readelf -n "$TESTDATA/leakyserver" | awk '/Build ID:/{print $3}')
mapping=$(awk '/^Mappings/{m=1; next} m && NF {print; exit}' "$TL_TMP/raw")
case $mapping in
*"$TESTDATA/leakyserver"*"$bid"*) ;;
*) error "-raw: the first mapping is not the executable's with build id $bid: '$mapping'" ;;
esac
grep -q 'libc.so.6' "$TL_TMP/raw" || error "-raw: no mapping of libc"
# an inline chain: one location, several lines (the condvar wait's)
python3 - "$TL_TMP/raw" <<'EOF' || error "-raw: no location with inline lines"
import re, sys
loc = None
for line in open(sys.argv[1]):
    if re.match(r"^\s+\d+: 0x", line):
        loc = line
    elif loc and re.match(r"^\s+\S+ \S+:\d+:\d+ s=\d+$", line) and "__pthread_cond_wait_common" in loc + line:
        sys.exit(0)
    elif not line.startswith(" "):
        loc = None
sys.exit(1)
EOF

# ---- folded ----
f=$TL_TMP/after.folded
python3 - "$f" "$N" "$nthreads" <<'EOF' || error "folded stacks: $(head -c 400 "$f")"
import sys
n, nthreads = int(sys.argv[2]), int(sys.argv[3])
total, leak = 0, None
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    stack, _, count = line.rpartition(" ")       # as flamegraph.pl reads it
    frames = stack.split(";")
    assert count.isdigit() and int(count) > 0, "count: %r" % line
    assert all(frames) and frames[-1].startswith("[") and frames[-1].endswith("]"), "leaf: %r" % line
    total += int(count)
    if "wait_for_reply" in frames:
        leak = (frames, int(count))
assert total == nthreads, "total %d, /proc has %d" % (total, nthreads)
frames, count = leak
assert count == n and frames[-1] == "[condvar]", leak
assert frames.index("handle_request") < frames.index("wait_for_reply"), "not root first"
EOF

# ---- export: a saved snapshot, and the frozen ones ----
run_tl "$TL_TMP/exp.folded" export -f folded "$TL_TMP/after.snap"
((TL_RC == 0)) || error "export -f folded: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/exp.folded.err")"
cmp -s <(sort "$TL_TMP/exp.folded") <(sort "$f") || error "export of the saved snapshot differs from snapshot -f folded"
run_tl "$TL_TMP/exp.out" export -f pprof -o "$TL_TMP/exp.pb.gz" "$TL_TMP/after.snap"
((TL_RC == 0)) || error "export -f pprof: $(describe_rc "$TL_RC")"
pprof -raw "$TL_TMP/exp.pb.gz" | awk '/^Mappings/{m=1; next} m && NF {print; exit}' | grep -q "$bid" ||
	error "export -f pprof: no build id in the first mapping"
for s in before after; do
	run_tl "$TL_TMP/frozen-$s.out" export -f pprof -o "$TL_TMP/frozen-$s.pb.gz" "$TESTDATA/diff-$s.snap"
	((TL_RC == 0)) || error "export of testdata/diff-$s.snap: $(describe_rc "$TL_RC")"
done
pprof -top -diff_base "$TL_TMP/frozen-before.pb.gz" "$TL_TMP/frozen-after.pb.gz" >"$TL_TMP/ftop" ||
	error "pprof of the frozen snapshots failed"
# what grew: the frozen files' own thread counts (a C program: one thread,
# one sample value), read with python's json
grew=$(python3 -c 'import json, sys; b, a = (len(json.load(open(p))["threads"]) for p in sys.argv[1:]); print(a - b)' \
	"$TESTDATA/diff-before.snap" "$TESTDATA/diff-after.snap")
((grew > 0)) || error "the frozen snapshots: after has $grew threads more than before"
grep -q "^Showing nodes accounting for $grew, " "$TL_TMP/ftop" ||
	error "frozen snapshots: $grew threads more, pprof: $(grep Showing "$TL_TMP/ftop")"
run_tl "$TL_TMP/exp.txt" export -f text "$TL_TMP/after.snap"
((TL_RC == 0)) || error "export -f text: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/exp.txt.err")"
grep -q "^$N threads  condvar " "$TL_TMP/exp.txt" || error "export -f text: no group of $N: $(head -5 "$TL_TMP/exp.txt")"
kill_target "$LS"

# ---- bad input ----
run_tl "$TL_TMP/e1" export -f svg "$TL_TMP/after.snap"
((TL_RC == 64)) || error "export -f svg: $(describe_rc "$TL_RC"), expected 64"
grep -qx "threadleak: unknown format 'svg': use text, json, pprof, folded or snapshot" "$TL_TMP/e1.err" ||
	error "export -f svg says: $(first_line "$TL_TMP/e1.err")"
run_tl "$TL_TMP/e2" snapshot -f svg 1
((TL_RC == 64)) || error "snapshot -f svg: $(describe_rc "$TL_RC"), expected 64"
run_tl "$TL_TMP/e3" export "$TL_TMP/after.snap"
((TL_RC == 64)) || error "export without a format: $(describe_rc "$TL_RC"), expected 64"
jq -c '.version = 99' "$TL_TMP/after.snap" >"$TL_TMP/v99.snap"
head -c 3000 "$TL_TMP/after.snap" >"$TL_TMP/short.snap"
printf 'hello\n' >"$TL_TMP/foreign.snap"
for bad in v99 short foreign; do
	rm -f "$TL_TMP/bad.pb.gz"
	run_tl "$TL_TMP/e-$bad" export -f pprof -o "$TL_TMP/bad.pb.gz" "$TL_TMP/$bad.snap"
	((TL_RC == 2)) || error "export of $bad.snap: $(describe_rc "$TL_RC"), expected 2"
	[ "$(wc -l <"$TL_TMP/e-$bad.err")" = 1 ] || error "export of $bad.snap: not one line: $(cat "$TL_TMP/e-$bad.err")"
	[ ! -e "$TL_TMP/bad.pb.gz" ] || error "export of $bad.snap left an output file"
done
grep -q "snapshot version 99 is newer than this threadleak understands (2); upgrade threadleak" "$TL_TMP/e-v99.err" ||
	error "a newer snapshot says: $(first_line "$TL_TMP/e-v99.err")"

# ---- a Go program: its goroutines' profile against its own ----
for go in $gos; do
	v=$(go_version "$go")
	bin=$TL_TMP/leaky-$v
	build_leaky "$go" plain "$bin" || { error "$LEAKY_ERROR"; continue; }
	start_leaky "$bin" -n 3 -requests 5
	run_tl "$TL_TMP/go.out" snapshot -q -f pprof -o "$TL_TMP/go-$v.pb.gz" "$LEAKY_PID"
	((TL_RC == 0)) || { error "$v: snapshot -f pprof: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/go.out.err")"; continue; }
	dump_leaky "$LEAKY_PID" || { error "$v: $LEAKY_ERROR"; continue; }
	kill_target "$LEAKY_PID"
	pprof -raw "$TL_TMP/go-$v.pb.gz" >"$TL_TMP/ours.raw" || error "$v: pprof -raw of ours: $(head -c 200 "$TL_TMP/pprof.err")"
	pprof -raw "$LEAKY_DUMP0" >"$TL_TMP/theirs.raw" || error "$v: pprof -raw of the program's: $(head -c 200 "$TL_TMP/pprof.err")"
	grep -q '^PeriodType: goroutine count$' "$TL_TMP/ours.raw" || error "$v: ours is not a goroutine profile"
	# the main goroutine writes the program's profile; the moving ones run
	go_oracle pprof "$TL_TMP/ours.raw" | grep -Ev "main\.main |$LEAKY_MOVING" >"$TL_TMP/ours" ||
		error "$v: go-oracle cannot read ours"
	go_oracle pprof "$TL_TMP/theirs.raw" | grep -Ev "main\.main |$LEAKY_MOVING" >"$TL_TMP/theirs" ||
		error "$v: go-oracle cannot read the program's"
	cmp -s "$TL_TMP/ours" "$TL_TMP/theirs" ||
		error "$v: groups differ from the program's goroutine profile: $(diff "$TL_TMP/ours" "$TL_TMP/theirs" | head -6 | cut -c 1-300 | tr '\n' '|')"
	[ "$(wc -l <"$TL_TMP/theirs")" -ge 12 ] || error "$v: too few groups to compare: $(wc -l <"$TL_TMP/theirs")"
	grep -q "^5	.*main.requestWorker" "$TL_TMP/ours" || error "$v: no group of 5 requestWorkers"
done
finish
