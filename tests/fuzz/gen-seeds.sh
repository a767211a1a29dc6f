#!/bin/bash
# tests/fuzz/gen-seeds.sh: regenerate the real-snapshot seeds of the fuzz
# corpus (tests/fuzz/corpus/real-*.json) from live testdata programs.
#
#	make threadleak testdata/waits testdata/nothreads
#	tests/fuzz/gen-seeds.sh
#
# Each target is started, waited for until it prints "ready", snapshotted
# with `threadleak snapshot -o FILE PID` (compact JSON) and killed BY PID.
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

# snap PROGRAM OUT [PRETTY]: start PROGRAM, wait for "ready", snapshot it
# into OUT (-o: compact) and, when given, into PRETTY (--json: indented)
snap()
{
	local prog=$root/testdata/$1 out=$2 pretty=${3:-} pid i
	[ -x "$prog" ] || die "missing $prog (make testdata/$1)"
	"$prog" >"$tmp/$1.out" 2>"$tmp/$1.err" </dev/null &
	pid=$!
	pids+=("$pid")
	for ((i = 0; i < 2000; i++)); do
		grep -qsx ready "$tmp/$1.out" && break
		kill -0 "$pid" 2>/dev/null || die "$1 exited before ready: $(head -c 200 "$tmp/$1.err")"
		sleep 0.01
	done
	grep -qx ready "$tmp/$1.out" || die "$1 not ready after 20 s"
	"$tl" snapshot -q -o "$out" "$pid" || die "threadleak snapshot of $1 failed"
	if [ -n "$pretty" ]; then
		"$tl" snapshot --json "$pid" >"$pretty" || die "threadleak snapshot --json of $1 failed"
	fi
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
}

snap waits "$tmp/waits.json"
snap nothreads "$tmp/nothreads.json" "$tmp/nothreads-pretty.json"

cp "$tmp/nothreads.json" "$corpus/real-nothreads.json"
cp "$tmp/nothreads-pretty.json" "$corpus/real-nothreads-pretty.json"
if command -v jq >/dev/null 2>&1; then
	# one thread of each wait kind, compact: every
	# shape of the real document at a third of its size (the fuzzer runs
	# small inputs faster), and one thread alone
	jq -c '.threads |= unique_by(.wait.kind)' "$tmp/waits.json" >"$corpus/real-waits.json"
	jq -c '.threads |= [.[] | select(.wait.kind == "mutex")][:1]' \
		"$tmp/waits.json" >"$corpus/real-one-mutex.json"
elif (($(wc -c <"$tmp/waits.json") <= 65536)); then
	cp "$tmp/waits.json" "$corpus/real-waits.json"
else
	die "the waits snapshot is over 64 KiB and jq is not there to cut it"
fi
ls -l "$corpus"/real-*.json
