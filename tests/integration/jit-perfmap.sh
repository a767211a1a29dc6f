#!/bin/bash
# jit-perfmap: frames in JIT code are named from the perf map the JIT
# writes (/tmp/perf-PID.map), as perf names them:
#   - testdata/jit (code in anonymous memory, one thread spinning in it,
#     one blocked in a pause issued from it) with a map this test writes:
#     both innermost frames named; the later of two lines for the same
#     code wins; malformed lines, a zero size and an over-long line are
#     skipped; a name with terminal escapes is printed escaped;
#   - a map owned by another user, or a symbolic link: not used;
#   - a 64 MB map (64,000,000 bytes: under the 64 MiB read bound) of 3.6
#     million lines: short entries elsewhere, lines naming the real code
#     again and again (the last one wins), "0 ffffffffffffffff" lines
#     covering every address, binary junk, a 1 MB line; the real names
#     last.  What snapshot keeps of a map is bounded by the frames it
#     names, not by the file: its peak RSS (testdata/maxrss, checked on
#     dd's 64 MiB buffer) stays within 16 MiB of the same snapshot with a
#     two-line map (the reader that loaded the whole map took 340 MB), and
#     both threads are named from the last lines;
#   - Node.js run with --perf-basic-prof, its main thread in JIT-compiled
#     JavaScript (testdata/js/spin.js): a frame named "JS:*spinOuter" or
#     "JS:*spinInnerLoop" ("~"/"^" for V8's other tiers), within 10 tries.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata jit maxrss
need_cmd jq awk head stat tr dd

check_rss_measure

MAPS=()
rm_maps() { rm -f "${MAPS[@]}"; }
at_exit rm_maps

start_target "$TESTDATA/jit"
jit=$TARGET_PID
code=$(awk '$1 == "code" { print $2 }' "$TARGET_OUT")
[ -n "$code" ] || fail "jit printed no code address"
spin_tid=$(awk '$1 == "expect" && $3 == "running" { print $2 }' "$TARGET_OUT")
pause_tid=$(awk '$1 == "expect" && $3 == "signal" { print $2 }' "$TARGET_OUT")
map=/tmp/perf-$jit.map
MAPS+=("$map")
hex() { printf '%x' "$(($1))"; }

# innermost TID JSON: the function of the thread's innermost frame
innermost() { jq -r --argjson t "$1" '.threads[] | select(.tid == $t) | .frames[0].function // "null"' "$2"; }

long=$(printf 'x%.0s' {1..3000})
{
	echo "not a line"
	echo "$(hex "$code") 2 old_name_for_the_spin"
	echo "$(hex "$code") 0 zero_size"
	echo "$(hex "$code + 16") 8 $long"
	echo "$(hex "$code") 2 jit_spin"
	echo "$(hex "$code + 16") 8 jit_pause"
	echo "$(hex "$code + 256") 8 elsewhere"
} >"$map"
snapshot_json "$jit" "$TL_TMP/a.json"
got=$(innermost "$spin_tid" "$TL_TMP/a.json")
[ "$got" = jit_spin ] || error "spinning thread: innermost '$got', expected jit_spin"
got=$(innermost "$pause_tid" "$TL_TMP/a.json")
[ "$got" = jit_pause ] || error "paused thread: innermost '$got', expected jit_pause"
assert_not_stopped "$jit"

# a name with terminal escapes: escaped in the text output
printf '%s 8 evil\033]0;title\007\033[31mred\n' "$(hex "$code + 16")" >"$map"
run_tl "$TL_TMP/evil.txt" snapshot "$jit"
grep -q 'evil' "$TL_TMP/evil.txt" || error "the escaped name is not shown: $(grep -m1 -A2 "^.*signal" "$TL_TMP/evil.txt")"
LC_ALL=C grep -q $'\033' "$TL_TMP/evil.txt" && error "an escape sequence from the map reached the terminal"

# not the target's user's: ignored
printf '%s 8 jit_pause\n' "$(hex "$code + 16")" >"$map"
chown nobody "$map"
snapshot_json "$jit" "$TL_TMP/b.json"
got=$(innermost "$pause_tid" "$TL_TMP/b.json")
[ "$got" = null ] || error "a map owned by nobody was used: '$got'"
# a symbolic link (to a file the target's user owns): ignored
rm -f "$map"
printf '%s 8 jit_pause\n' "$(hex "$code + 16")" >"$TL_TMP/real.map"
ln -s "$TL_TMP/real.map" "$map"
snapshot_json "$jit" "$TL_TMP/c.json"
got=$(innermost "$pause_tid" "$TL_TMP/c.json")
[ "$got" = null ] || error "a symbolic link was followed: '$got'"
rm -f "$map"

# ---- a 64 MB map: memory bounded by the frames named, not the file ----
spin=$(hex "$code")
pause=$(hex "$code + 16")

# snap_rss NAME: snapshot --json of jit under maxrss into $TL_TMP/NAME.json;
# checks both names; sets RSS_KB
snap_rss()
{
	local got
	rss_of "$TL_TMP/$1.json" "$THREADLEAK" snapshot --json "$jit"
	# 1: partial (code with no unwind information: the stacks stop there)
	((TL_RC <= 1)) || fail "$1: snapshot: $(describe_rc $TL_RC): $(first_line "$TL_TMP/$1.json.err")"
	got=$(innermost "$spin_tid" "$TL_TMP/$1.json")
	[ "$got" = jit_spin ] || error "$1: spinning thread: innermost '$got', expected jit_spin"
	got=$(innermost "$pause_tid" "$TL_TMP/$1.json")
	[ "$got" = jit_pause ] || error "$1: paused thread: innermost '$got', expected jit_pause"
}

printf '%s 2 jit_spin\n%s 8 jit_pause\n' "$spin" "$pause" >"$map"
snap_rss small
small=$RSS_KB

last=$(printf '\n%s 2 jit_spin\n%s 8 jit_pause' "$spin" "$pause")
{
	printf '%s 2 stale_spin\n%s 8 stale_pause\n' "$spin" "$pause"
	head -c 1000000 /dev/zero | tr '\0' 'x'
	echo
	printf '\001\377\000 junk \033[31m\n'
	awk -v spin="$spin" -v pause="$pause" 'BEGIN {
		for (i = 0; i < 3600000; i++) {
			if (i % 100000 == 0)
				printf "%s 2 stale_spin_%d\n%s 8 stale_pause_%d\n0 ffffffffffffffff all\n", spin, i, pause, i
			else
				printf "%x 10 f%d\n", 65536 + i * 16, i
		}
	}'
} | head -c $((64000000 - ${#last} - 1)) >"$map"
printf '%s\n' "$last" >>"$map"
size=$(stat -c %s "$map")
((size > 63000000 && size <= 64000000)) || fail "the generated map is $size bytes, not about 64 MB"
snap_rss big
note "peak RSS: ${small} KB with a two-line map, ${RSS_KB} KB with a $size-byte one"
((RSS_KB > 0 && RSS_KB <= small + 16384)) ||
	error "snapshot with a $size-byte perf map: peak RSS ${RSS_KB} KB, over ${small} KB (with a two-line map) + 16 MiB"
rm -f "$map"
assert_not_stopped "$jit"
kill_target "$jit"

# ---- Node.js ----
if command -v node >/dev/null 2>&1; then
	# in our temporary directory: V8 writes its isolate-*.log files there
	start_target env -C "$TL_TMP" node --perf-basic-prof "$TL_ROOT/testdata/js/spin.js"
	node_pid=$TARGET_PID
	MAPS+=("/tmp/perf-$node_pid.map")
	seen=
	for ((i = 0; i < 10; i++)); do
		snapshot_json "$node_pid" "$TL_TMP/node$i.json"
		seen=$(jq -r --argjson t "$node_pid" '.threads[] | select(.tid == $t) |
			[.frames[] | .function // "" | select(test("^JS:[*~^]spin(Outer|InnerLoop) "))][0] // empty' \
			"$TL_TMP/node$i.json")
		[ -n "$seen" ] && break
	done
	[ -n "$seen" ] || error "node: no JavaScript frame named in 10 snapshots: $(jq -c --argjson t "$node_pid" '[.threads[] | select(.tid == $t) | .frames[0:4][] | .function]' "$TL_TMP/node9.json")"
	note "node: '$seen' after $((i + 1)) snapshots"
	assert_not_stopped "$node_pid"
	kill_target "$node_pid"
else
	error "node is not installed (scripts/deps.sh test installs nodejs)"
fi
finish
