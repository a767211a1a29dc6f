#!/bin/bash
# go-forged-allgs: a Go program whose runtime.allgs claims 16,777,216
# entries (testdata/go/forgedallgs: its real g's, then null, unaligned,
# unreadable entries, g's named again and a block whose status is no
# goroutine's) is read in memory bounded by what is kept, not by what
# allgs claims: snapshot and top -b each under 512 MiB of peak RSS (the
# kernel's, testdata/maxrss), the real goroutines only, and the snapshot
# partial (exit 1) with a note that says how many entries were skipped.
# The old reader took 4.9 GB and 103 s here, and made 6.7 million
# "goroutines" of the duplicates.
# tl: once
# tl: timeout 600
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq
need_threadleak
need_testdata maxrss

RSS_MAX=$((512 * 1024))	# KB
CLAIMS=16777216

gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
# the newest: -checklinkname=0 is Go 1.23's
go=$(for g in $gos; do echo "$(go_minor "$(go_version "$g")") $g"; done | sort -n | tail -n 1)
(( ${go%% *} >= 23 )) || fail "no Go 1.23 or later here (needed for -ldflags=-checklinkname=0)"
go=${go#* }
bin=$TL_TMP/forgedallgs
(cd "$TL_ROOT/testdata/go" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
	"$go" build -ldflags=-checklinkname=0 -o "$bin" ./forgedallgs) >"$bin.err" 2>&1 ||
	fail "cannot build testdata/go/forgedallgs: $(head -c 300 "$bin.err")"

# lib.sh's rss_of, with room for a million goroutines
TL_RSS_TIMEOUT=300
bounded()
{
	((RSS_KB > 0)) || { error "$1: peak RSS not measured"; return; }
	((RSS_KB <= RSS_MAX)) || error "$1: peak RSS $((RSS_KB / 1024)) MiB, over $((RSS_MAX / 1024)) MiB"
	note "$1: peak RSS $((RSS_KB / 1024)) MiB"
}

start_target "$bin" -n "$CLAIMS"
pid=$TARGET_PID
real=$(sed -n 's/^real //p' "$TARGET_OUT")
[ "$(sed -n 's/^claims //p' "$TARGET_OUT")" = "$CLAIMS" ] || fail "forgedallgs did not forge allgs: $(tr '\n' ' ' <"$TARGET_OUT")"

rss_of "$TL_TMP/text" "$THREADLEAK" snapshot "$pid"
((TL_RC == 1)) || error "snapshot: $(describe_rc "$TL_RC"), expected 1 (partial): $(first_line "$TL_TMP/text.err")"
bounded "snapshot"
head -n 1 "$TL_TMP/text" | grep -q ", $real goroutines " ||
	error "snapshot: not the $real real goroutines: $(first_line "$TL_TMP/text")"
skipped=$((CLAIMS - real))
grep -q "^partial: runtime.allgs claims $CLAIMS entries; $skipped are no goroutine (null, unaligned, unreadable, a status no goroutine has, or one named twice) and were skipped" "$TL_TMP/text" ||
	error "snapshot: no note of the $skipped entries skipped: $(sed -n 3p "$TL_TMP/text" | cut -c 1-200)"
grep -q "^100 goroutines  chan receive" "$TL_TMP/text" ||
	error "snapshot: no group of the 100 parked goroutines: $(grep goroutines "$TL_TMP/text" | head -3 | tr '\n' '|')"

snapshot_json "$pid" "$TL_TMP/json"
((TL_RC == 1)) || error "snapshot --json: $(describe_rc "$TL_RC"), expected 1"
[ "$(jq '[.threads[] | select(.goid)] | length' "$TL_TMP/json")" = "$real" ] ||
	error "snapshot --json: $(jq '[.threads[] | select(.goid)] | length' "$TL_TMP/json") goroutines, expected $real"
jq -e --arg n "$skipped" '.partial and (.note | contains($n + " are no goroutine"))' "$TL_TMP/json" >/dev/null ||
	error "snapshot --json: partial with the note expected: $(jq -c '{partial, note}' "$TL_TMP/json" | cut -c 1-200)"

rss_of "$TL_TMP/top" "$THREADLEAK" top -b -n 2 -d 0.5 "$pid"
((TL_RC == 0)) || error "top -b -n 2: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/top.err")"
bounded "top -b -n 2"
[ "$(grep -c "^threadleak top: pid $pid .*, $real goroutines " "$TL_TMP/top")" = 2 ] ||
	error "top -b -n 2: not 2 frames of $real goroutines: $(grep '^threadleak top' "$TL_TMP/top" | cut -c 1-160 | tr '\n' '|')"

kill_target "$pid"
finish
