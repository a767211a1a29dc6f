#!/bin/bash
# cache-location: where the uncompressed copies of compressed debug files
# go (man page, ENVIRONMENT: THREADLEAK_CACHE_DIR, "default
# $XDG_CACHE_HOME/threadleak, else ~/.cache/threadleak; off or empty: none
# are kept").  With libc's debug file compressed (Debian's libc6-dbg), a
# snapshot makes BUILD-ID.debug (libc's build id, read with readelf):
#   - THREADLEAK_CACHE_DIR unset, XDG_CACHE_HOME set: in
#     $XDG_CACHE_HOME/threadleak, nothing under $HOME;
#   - both unset, or XDG_CACHE_HOME empty: in $HOME/.cache/threadleak;
#   - THREADLEAK_CACHE_DIR set: there, nothing under XDG_CACHE_HOME;
#   - THREADLEAK_CACHE_DIR empty or off: nothing anywhere.
# Every snapshot is whole (exit 0) and names libc's frames with their
# source files, from the debug file.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../libc-debug-lib.sh"

need_cmd jq readelf
need_threadleak
need_testdata otherwait

need_compressed_libc_debug

fifo=$TL_TMP/fifo
mkfifo "$fifo" || fail "cannot make a FIFO in $TL_TMP"
start_target "$TESTDATA/otherwait" "$fifo"
pid=$TARGET_PID

# snap LABEL ENV...: a snapshot with that environment (THREADLEAK_CACHE_DIR,
# XDG_CACHE_HOME and HOME unset unless given), whole, with libc's source files
snap()
{
	local label=$1
	shift
	env -u THREADLEAK_CACHE_DIR -u XDG_CACHE_HOME -u HOME "$@" \
		timeout -k 5 "$TL_SNAP_TIMEOUT" "$THREADLEAK" snapshot --json "$pid" \
		>"$TL_TMP/$label.json" 2>"$TL_TMP/$label.err" </dev/null
	local rc=$?
	((rc == 0)) || { error "$label: $(describe_rc $rc), expected 0: $(first_line "$TL_TMP/$label.err")"; return; }
	jq -e '[.threads[].frames[] | select((.module // "") | endswith("/libc.so.6")) |
		select(.file != null and .line != null)] | length > 0' "$TL_TMP/$label.json" >/dev/null ||
		error "$label: no libc frame with a source file and line"
}

# entry_in LABEL DIR: DIR holds libc's copy, an ELF file with its build id
entry_in()
{
	local e=$2/$id.debug got
	if ! [ -f "$e" ]; then
		error "$1: no cache entry $e (there: $(ls -A "$2" 2>&1 | head -3 | tr '\n' ' '))"
		return
	fi
	got=$(readelf -n "$e" 2>/dev/null | awk '/Build ID:/ { print $3; exit }')
	[ "$got" = "$id" ] || error "$1: $e has build id '$got', expected $id"
}

# empty_tree LABEL DIR...: no file anywhere under each DIR
empty_tree()
{
	local d l=$1
	shift
	for d in "$@"; do
		[ -z "$(find "$d" -type f 2>/dev/null | head -1)" ] ||
			error "$l: files under $d: $(find "$d" -type f | head -3 | tr '\n' ' ')"
	done
}

n=0
fresh()	# fresh: new, empty HOME and XDG directories in $h and $x
{
	n=$((n + 1))
	h=$TL_TMP/home$n x=$TL_TMP/xdg$n t=$TL_TMP/tl$n
	mkdir -p "$h" "$x" "$t"
}

fresh
snap xdg HOME="$h" XDG_CACHE_HOME="$x"
entry_in "XDG_CACHE_HOME set" "$x/threadleak"
empty_tree "XDG_CACHE_HOME set" "$h" "$t"

fresh
snap home HOME="$h"
entry_in "XDG_CACHE_HOME unset" "$h/.cache/threadleak"
empty_tree "XDG_CACHE_HOME unset" "$x" "$t"

fresh
snap xdg-empty HOME="$h" XDG_CACHE_HOME=
entry_in "XDG_CACHE_HOME empty" "$h/.cache/threadleak"
empty_tree "XDG_CACHE_HOME empty" "$x" "$t"

fresh
snap tl HOME="$h" XDG_CACHE_HOME="$x" THREADLEAK_CACHE_DIR="$t"
entry_in "THREADLEAK_CACHE_DIR set" "$t"
empty_tree "THREADLEAK_CACHE_DIR set" "$h" "$x"

for v in off empty; do
	fresh
	val=$v
	[ $v = empty ] && val=
	snap "tl-$v" HOME="$h" XDG_CACHE_HOME="$x" THREADLEAK_CACHE_DIR="$val"
	empty_tree "THREADLEAK_CACHE_DIR $v" "$h" "$x" "$t"
done

assert_not_stopped "$pid" "after the snapshots"
finish
