#!/bin/bash
# debugcache: the uncompressed copies of compressed debug files
# (src/stacks/debugcache.h).  With libc's debug file compressed (Debian's
# libc6-dbg), a snapshot with THREADLEAK_CACHE_DIR set writes
# BUILD-ID.debug there, an ELF file with the same build id and no
# compressed section; frames (function, file, line, inlined) are the same
# with the cache off, made, used, and after the entry was cut short or
# replaced by another file (both are made again); an unwritable directory
# only means no cache; "off" creates nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../libc-debug-lib.sh"

need_cmd jq
need_cmd readelf
need_threadleak
need_testdata waits

need_compressed_libc_debug

start_target "$TESTDATA/waits"
wait_blocked "$TARGET_PID" "$TARGET_PID" || fail "main thread never blocked"

# frames_of FILE: tid, then every frame as function@file:line[i], sorted;
# blocked threads only (a running one's pc moves between snapshots)
frames_of()
{
	jq -r '.threads[] | select(.state != "R") | "\(.tid) " + ([.frames[]? |
		"\(.function // "?")@\(.file // "?"):\(.line // 0)\(if .inlined then "i" else "" end)"] |
		join(";"))' "$1" | sort -n
}

# snap LABEL CACHE_DIR: a snapshot with that cache setting; its frames in
# $TL_TMP/LABEL.frames
snap()
{
	THREADLEAK_CACHE_DIR=$2 snapshot_json "$TARGET_PID" "$TL_TMP/$1.json"
	# whole: every thread of waits unwinds (its spinner in a stop)
	((TL_RC == 0)) ||
		fail "$1: $(describe_rc $TL_RC), expected 0 (whole): $(first_line "$TL_TMP/$1.json.err"); $(jq -c '[.threads[] | select(.partial or .error) | {tid, state, error}]' "$TL_TMP/$1.json" 2>/dev/null | cut -c 1-300)"
	jq -e '.partial == false and all(.threads[]; .partial == false)' "$TL_TMP/$1.json" >/dev/null ||
		error "$1: exit 0 but marked partial: $(jq -c '{partial, note}' "$TL_TMP/$1.json")"
	frames_of "$TL_TMP/$1.json" >"$TL_TMP/$1.frames"
}

same_frames()	# same_frames LABEL: its frames are the reference's
{
	cmp -s "$TL_TMP/off.frames" "$TL_TMP/$1.frames" ||
		error "$1: frames differ from the snapshot without cache: $(diff "$TL_TMP/off.frames" "$TL_TMP/$1.frames" | grep '^[<>]' | head -2 | tr '\n' ' ')"
}

cache=$TL_TMP/cache
entry=$cache/$id.debug

snap off off
[ ! -e "$cache" ] || error "THREADLEAK_CACHE_DIR=off created $cache"
grep -q '@.*pthread_cond_wait\.c:[0-9]' "$TL_TMP/off.frames" ||
	fail "no libc frame with a source line without the cache: $(head -n 3 "$TL_TMP/off.frames" | tr '\n' ' ')"

snap made "$cache"
same_frames made
[ -f "$entry" ] || fail "no cache entry $entry after a snapshot (in $cache: $(ls "$cache" 2>&1 | head -3 | tr '\n' ' '))"
got=$(readelf -n "$entry" 2>/dev/null | awk '/Build ID:/ { print $3; exit }')
[ "$got" = "$id" ] || error "cache entry has build id '$got', expected $id"
readelf -S -W "$entry" 2>/dev/null | grep -Eq '\.debug_[a-z_]+ .* C ' &&
	error "cache entry still has compressed sections: $(readelf -S -W "$entry" 2>/dev/null | grep ' C ' | head -2 | tr '\n' ' ')"
ls "$cache" | grep -q 'XXXXXX\|\.debug\.' && error "temporary files left in $cache: $(ls "$cache" | tr '\n' ' ')"

size=$(stat -c %s "$entry")
snap used "$cache"
same_frames used

# a cut entry, and one that is another file: not used, made again
head -c 4096 "$orig" >"$entry"
snap cut "$cache"
same_frames cut
(($(stat -c %s "$entry") == size)) || error "a cut entry was not made again: $(stat -c %s "$entry") bytes, expected $size"
cp "$(type -P true)" "$entry"
snap foreign "$cache"
same_frames foreign
(($(stat -c %s "$entry") == size)) || error "a foreign entry was not replaced: $(stat -c %s "$entry") bytes, expected $size"

# a directory that cannot be made: no cache, same frames
snap nodir /proc/threadleak-no-such-dir
same_frames nodir

assert_not_stopped "$TARGET_PID" "after the snapshots"
kill_target "$TARGET_PID"
finish
