#!/bin/bash
# tests/fuzz/gen-seeds.sh: regenerate the real-snapshot seeds of the fuzz
# corpus (tests/fuzz/corpus/real-*.json) from live testdata programs.
#
#	make threadleak testdata/waits testdata/nothreads
#	tests/fuzz/gen-seeds.sh
#
# Each target is started, waited for until it prints "ready", snapshotted
# with `threadleak snapshot -o FILE PID` (compact, version 2: stacks once,
# goroutine rows) and `--json` (version 1, every entry whole), and killed
# BY PID.  A Go program (testdata/go/leaky, built with the go on PATH)
# gives the version 2 tables their goroutines.
# The hand-made seeds (edge cases) in the corpus are not touched.  The
# waits snapshot is cut (jq) to one thread per wait kind: the fuzzer runs
# small inputs faster, and would truncate any over its -max_len (64 KiB).  Run
# it again only when the snapshot format changes: the seeds need not be
# fresh, only varied.

set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
corpus=$root/tests/fuzz/corpus
tl=${THREADLEAK:-$root/threadleak}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-seeds.XXXXXX") || exit 2
pids=()

cleanup()
{
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

die()
{
	echo "gen-seeds: $*" >&2
	exit 1
}

[ -x "$tl" ] || die "no threadleak binary at $tl (run make)"

# snap PROGRAM OUT V1 [ARG...]: start PROGRAM (a path, or a name in
# testdata/), wait for "ready", snapshot it into OUT (-o: version 2) and
# V1 (--json: version 1, indented)
snap()
{
	local prog=$1 out=$2 pretty=$3 pid i
	shift 3
	[[ $prog == */* ]] || prog=$root/testdata/$prog
	[ -x "$prog" ] || die "missing $prog (make ${prog#"$root/"})"
	local name=${prog##*/}
	"$prog" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
	pid=$!
	pids+=("$pid")
	for ((i = 0; i < 2000; i++)); do
		grep -qsx ready "$tmp/$name.out" && break
		kill -0 "$pid" 2>/dev/null || die "$name exited before ready: $(head -c 200 "$tmp/$name.err")"
		sleep 0.01
	done
	grep -qx ready "$tmp/$name.out" || die "$name not ready after 20 s"
	"$tl" snapshot -q -o "$out" "$pid" || die "threadleak snapshot of $name failed"
	"$tl" snapshot --json "$pid" >"$pretty" || die "threadleak snapshot --json of $name failed"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
}

command -v jq >/dev/null 2>&1 || die "jq cuts the seeds to the fuzzer's 64 KiB: install it"
command -v go >/dev/null 2>&1 || die "no go to build testdata/go/leaky"
(cd "$root/testdata/go" && GOFLAGS=-buildvcs=false go build -o "$tmp/leaky" ./leaky) ||
	die "cannot build testdata/go/leaky"

snap waits "$tmp/waits-v2.json" "$tmp/waits.json"
snap nothreads "$tmp/nothreads-v2.json" "$tmp/nothreads-pretty.json"
snap "$tmp/leaky" "$tmp/leaky-v2.json" "$tmp/leaky.json" -n 1 -labelled

jq -c . "$tmp/nothreads-pretty.json" >"$corpus/real-nothreads.json"
cp "$tmp/nothreads-pretty.json" "$corpus/real-nothreads-pretty.json"
# one thread of each wait kind, compact: every shape of the real
# document at a third of its size (the fuzzer runs small inputs faster),
# and one thread alone; in version 1, and the first in version 2
jq -c '.threads |= unique_by(.wait.kind)' "$tmp/waits.json" >"$corpus/real-waits.json"
jq -c '.threads |= [.[] | select(.wait.kind == "mutex")][:1]' \
	"$tmp/waits.json" >"$corpus/real-one-mutex.json"
jq -c '.threads |= unique_by(.wait.kind)' "$tmp/waits-v2.json" >"$corpus/real-waits-v2.json"
# a Go program's goroutines, with labels: its stacks, templates and rows
cp "$tmp/leaky-v2.json" "$corpus/real-go-v2.json"
for f in "$corpus"/real-*.json; do
	(($(wc -c <"$f") <= 65536)) || die "$f is over the fuzzer's 64 KiB"
done
ls -l "$corpus"/real-*.json
