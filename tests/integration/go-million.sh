#!/bin/bash
# go-million: a Go program with a million parked goroutines (testdata/go/
# leaky -many 1000000, the newest Go here), read from outside in bounded
# memory, and its snapshot files in bounded size.
#   - the grouped text snapshot: its groups and counts are the program's
#     own pprof debug=1 groups (tests/go-oracle.py), its peak RSS bounded;
#   - snapshot -o FILE, twice: version 2 files (each distinct stack once),
#     at most 128 MiB each;
#   - export -f text of one: the same groups again; diff of the two: the
#     same goroutines, nothing grew; both in bounded memory;
#   - a version 1 file (testdata/diff-before.snap, frozen) still reads,
#     and reads back the same through a version 2 file;
#   - top -b -n 3: every refresh in bounded memory.
# Peak RSS is the kernel's (testdata/maxrss, as diff-input measures it);
# times are never asserted (make bench measures them).  The bounds are
# what holds today with some room: the text snapshot and top keep an
# entry per goroutine (200 bytes) and the runtime reader's cache.
# tl: once
# tl: timeout 900
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3
need_threadleak
need_testdata maxrss

N=${TL_MILLION:-1000000}
MiB=1024
# KB: the text snapshot, export, diff (one snapshot, and what it shows of
# the other: diff.h), top
SNAP_MAX=$((256 * MiB)) EXPORT_MAX=$((320 * MiB)) DIFF_MAX=$((256 * MiB)) TOP_MAX=$((896 * MiB))
FILE_MAX=$((128 * 1024 * 1024))
MOVING_GROUPS=$'(\t|;)main\\.main |os/signal\\.|internal/dump\\.Write '

gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
go=$(for g in $gos; do echo "$(go_minor "$(go_version "$g")") $g"; done | sort -n | tail -n 1 | cut -d' ' -f2)
v=$(go_version "$go")
build_leaky_cached "$go" plain || fail "$LEAKY_ERROR"

# lib.sh's rss_of, with room for a million goroutines
TL_RSS_TIMEOUT=300
# bounded WHAT KB MAX
bounded()
{
	((RSS_KB > 0)) || { error "$1: peak RSS not measured"; return; }
	(($2 <= $3)) || error "$1: peak RSS $(($2 / 1024)) MiB, over $(($3 / 1024)) MiB"
	note "$1: peak RSS $(($2 / 1024)) MiB"
}
# groups OUT: the goroutine groups of threadleak's text OUT (go-oracle's
# debug1 form), but for those that move
groups()
{
	python3 "$GO_ORACLE" text "$1" | grep -Ev "$MOVING_GROUPS" | sort
}

TL_READY_TIMEOUT=300 start_target "$LEAKY_BIN" -n 3 -many "$N" -dump1 "$TL_TMP/debug1"
pid=$TARGET_PID

# ---- the grouped text snapshot, against pprof debug=1 ----
rss_of "$TL_TMP/text" "$THREADLEAK" snapshot "$pid"
((TL_RC == 0)) || fail "$v: snapshot: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/text.err")"
bounded "text snapshot of $N goroutines" "$RSS_KB" "$SNAP_MAX"
# the program's own debug=1 profile (SIGUSR1: written once it is settled)
signal_child USR1 "$pid" || fail "leaky is gone"
wait_for 120 grep -q '^dumped' "$TARGET_OUT" || fail "leaky wrote no debug=1 dump: $(head -c 300 "${TARGET_OUT%.out}.err")"
go_oracle debug1 "$TL_TMP/debug1" | grep -Ev "$MOVING_GROUPS" | sort >"$TL_TMP/theirs" ||
	fail "go-oracle cannot read the program's debug=1 dump"
groups "$TL_TMP/text" >"$TL_TMP/ours" || error "go-oracle cannot read threadleak's text"
cmp -s "$TL_TMP/ours" "$TL_TMP/theirs" ||
	error "text groups differ from debug=1 (< threadleak, > Go): $(diff "$TL_TMP/ours" "$TL_TMP/theirs" | grep '^[<>]' | head -4 | cut -c 1-200 | tr '\n' '|')"
grep -q "^$N	.*main\.manyWaiter " "$TL_TMP/ours" || error "no group of $N in main.manyWaiter: $(head -3 "$TL_TMP/ours" | cut -c 1-200 | tr '\n' '|')"

# ---- two snapshot files ----
for f in a b; do
	rss_of "$TL_TMP/$f.out" "$THREADLEAK" snapshot -q -o "$TL_TMP/$f.snap" "$pid"
	((TL_RC == 0)) || fail "snapshot -o: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/$f.out.err")"
	size=$(stat -c %s "$TL_TMP/$f.snap")
	((size <= FILE_MAX)) || error "snapshot -o: the file is $((size / 1048576)) MiB, over 128 MiB"
	note "snapshot -o: $((size / 1048576)) MiB, peak RSS $((RSS_KB / 1024)) MiB"
done
[ "$(head -c 100 "$TL_TMP/a.snap" | grep -o '"version":[0-9]*')" = '"version":2' ] ||
	error "snapshot -o: not a version 2 file: $(head -c 100 "$TL_TMP/a.snap")"

rss_of "$TL_TMP/export" "$THREADLEAK" export -f text "$TL_TMP/a.snap"
((TL_RC == 0)) || error "export -f text: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/export.err")"
bounded "export -f text" "$RSS_KB" "$EXPORT_MAX"
groups "$TL_TMP/export" >"$TL_TMP/exported" || error "go-oracle cannot read export's text"
cmp -s "$TL_TMP/exported" "$TL_TMP/theirs" ||
	error "export: groups differ from debug=1: $(diff "$TL_TMP/exported" "$TL_TMP/theirs" | grep '^[<>]' | head -4 | cut -c 1-200 | tr '\n' '|')"

rss_of "$TL_TMP/diff" "$THREADLEAK" diff "$TL_TMP/a.snap" "$TL_TMP/b.snap"
((TL_RC == 0)) || error "diff: $(describe_rc "$TL_RC"), expected 0 (nothing grew): $(first_line "$TL_TMP/diff.err")"
bounded "diff of two files" "$RSS_KB" "$DIFF_MAX"
total=$(sed -n 's/^goroutines: \([0-9]*\) -> \([0-9]*\) .*/\1 \2/p' "$TL_TMP/diff")
read -r before after <<<"$total"
at_least "${before:-0}" "$N" "diff: goroutines before"
[ "${before:-x}" = "${after:-y}" ] || error "diff: goroutines $before -> $after, expected the same count"

# ---- a version 1 file reads, and reads back the same through version 2 ----
old=$TESTDATA/diff-before.snap
jq -e '.version == 1' "$old" >/dev/null || fail "$old is not a version 1 snapshot"
run_tl "$TL_TMP/old.snap" export -f snapshot "$old"
((TL_RC == 0)) || error "export -f snapshot of a version 1 file: $(describe_rc "$TL_RC")"
run_tl "$TL_TMP/old.json" export -f json "$TL_TMP/old.snap"
((TL_RC == 0)) || error "export -f json of its version 2 file: $(describe_rc "$TL_RC")"
python3 - "$old" "$TL_TMP/old.json" <<'EOF' || error "a version 1 file through version 2 is not the same"
import json, sys
a, b = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
added = {k: b[k] for k in b if k not in a and b[k] not in (None, [])}
sys.exit(0 if all(a[k] == b.get(k) for k in a) and not added else 1)
EOF

# ---- top ----
rss_of "$TL_TMP/top" "$THREADLEAK" top -b -n 3 -d 0.5 "$pid"
((TL_RC == 0)) || error "top -b -n 3: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/top.err")"
bounded "top -b -n 3" "$RSS_KB" "$TOP_MAX"
[ "$(grep -Ec "^threadleak top: pid $pid .* ${N%???}[0-9]{3} goroutines .*top's own CPU [0-9.]+ ms" "$TL_TMP/top")" = 3 ] ||
	error "top -b -n 3: not 3 headers with the goroutines and top's own CPU: $(grep '^threadleak top' "$TL_TMP/top" | head -3 | cut -c 1-200 | tr '\n' '|')"

kill_target "$pid"
finish
