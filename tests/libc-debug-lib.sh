# tests/libc-debug-lib.sh: for the tests on the cache of uncompressed debug
# files (bash), on top of tests/lib.sh: libc's own compressed debug file.
#
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/../libc-debug-lib.sh"
#
#	need_compressed_libc_debug   # sets libc, id and orig, or skips

# need_compressed_libc_debug: the libc.so.6 this shell runs with (libc),
# its build id (id, read with readelf) and its debug file under
# /usr/lib/debug/.build-id (orig, Debian's libc6-dbg), which must have
# compressed sections; skips the test when any of them is missing.
need_compressed_libc_debug()
{
	libc=$(awk '$NF ~ /\/libc\.so\.6$/ { print $NF; exit }' /proc/self/maps)
	[ -n "$libc" ] || skip "no libc.so.6 in our own maps"
	id=$(readelf -n "$libc" 2>/dev/null | awk '/Build ID:/ { print $3; exit }')
	[ -n "$id" ] || skip "libc has no build id"
	orig=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
	[ -r "$orig" ] || skip "no debug file for libc ($orig): install libc6-dbg"
	readelf -S -W "$orig" 2>/dev/null | grep -q '\.debug_info .* C ' ||
		skip "libc's debug file has no compressed sections: nothing to cache"
}
