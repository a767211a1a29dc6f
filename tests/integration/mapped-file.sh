#!/bin/bash
# mapped-file: frames are named from the object the process mapped, never
# from another file at its path.  testdata/mapped (linked with
# libtlmapped.so) blocks in pause <- tlmapped_lib_orig <- tlmapped_block
# <- mapped_exe_orig <- main; testdata/mapped-swap and
# libtlmapped-swap.so are the same code at the same offsets with _swap
# names (and other build ids).
#   - upgrade: both files renamed over with the _swap builds while the
#     process runs (what a package upgrade does): maps says "(deleted)";
#   - container: the process in a mount namespace of its own, the _orig
#     files bound over the _swap ones there; here the path has the _swap
#     files.
# Each case as root (map_files opens the mapped object) and without
# CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE (map_files refused: the path
# as the target sees it, checked by build id, else the loaded image,
# which names what the library exports, with a "replaced on disk" note),
# with both unwinders: no _swap name ever, the _orig names where the
# object names them, the modules' build ids the mapped files'.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata mapped mapped-swap libtlmapped.so libtlmapped-swap.so
need_root "binds a file over another in a mount namespace"
need_cmd jq unshare setpriv readelf

build_id()
{
	readelf -n "$1" | sed -n 's/^ *Build ID: *//p'
}
exe_id=$(build_id "$TESTDATA/mapped")
lib_id=$(build_id "$TESTDATA/libtlmapped.so")
[ -n "$exe_id" ] && [ -n "$lib_id" ] || fail "testdata/mapped or its library has no build id"
[ "$exe_id" != "$(build_id "$TESTDATA/mapped-swap")" ] || fail "testdata/mapped-swap has mapped's build id"

# snap LABEL OUT [--nocap] ARG...: a JSON snapshot of $pid into OUT (and
# the text one into OUT.txt), as root or without the capabilities that
# open map_files.
snap()
{
	local label=$1 out=$2 pre=()
	shift 2
	if [ "$1" = --nocap ]; then
		pre=(setpriv --bounding-set -sys_admin,-checkpoint_restore)
		shift
	fi
	timeout -k 5 "$TL_SNAP_TIMEOUT" "${pre[@]}" "$THREADLEAK" snapshot --json "$@" "$pid" \
		>"$out" 2>"$out.err" </dev/null
	local rc=$?
	((rc == 0)) || error "$label: $(describe_rc $rc): $(first_line "$out.err")"
	timeout -k 5 "$TL_SNAP_TIMEOUT" "${pre[@]}" "$THREADLEAK" snapshot "$@" "$pid" \
		>"$out.txt" 2>"$out.txt.err" </dev/null
	rc=$?
	((rc == 0)) || error "$label (text): $(describe_rc $rc): $(first_line "$out.txt.err")"
}

# check LABEL OUT DIR WANT...: the main thread's functions in OUT include
# each of WANT, none is a _swap one, and the modules from DIR have the
# build ids of the _orig files.  With "note" as a WANT, both modules say
# "replaced on disk" (JSON and text).
check()
{
	local label=$1 out=$2 dir=$3 fns w
	shift 3
	snap_valid "$out" "$pid" || { error "$label: not a snapshot of $pid: $(first_line "$out.err")"; return; }
	fns=$(jq -r --argjson pid "$pid" '.threads[] | select(.tid == $pid) |
		[.frames[] | .function // "?"] | join(",")' "$out")
	grep -q _swap <<<"$fns" && error "$label: names from the file at the path: $fns"
	grep -q _swap "$out.txt" && error "$label: text names from the file at the path: $(grep _swap "$out.txt" | head -1)"
	for w in "$@"; do
		case $w in
		note)
			local n
			n=$(jq -r --arg d "$dir/" '[.modules[] | select(.path | startswith($d)) |
				select(.note // "" | startswith("replaced on disk"))] | length' "$out")
			[ "$n" = 2 ] || error "$label: $n modules of $dir/ say replaced on disk, expected 2: $(jq -c '.modules' "$out" | cut -c 1-400)"
			grep -q '^    \[libtlmapped\.so (deleted): replaced on disk' "$out.txt" ||
				error "$label: the text says nothing of the replaced library: $(tr '\n' '|' <"$out.txt" | cut -c 1-600)"
			;;
		*)
			has_function "$fns" "$w" || error "$label: no $w in $fns"
			;;
		esac
	done
	local ids
	ids=$(jq -r --arg d "$dir/" '.modules[] | select(.path | startswith($d)) |
		"\(.path | sub(" \\(deleted\\)$"; "") | split("/") | last) \(.build_id)"' "$out" | sort)
	[ "$ids" = "libtlmapped.so $lib_id"$'\n'"mapped $exe_id" ] ||
		error "$label: the modules' build ids are not the mapped files': $(tr '\n' ' ' <<<"$ids")"
}

all=(tlmapped_lib_orig tlmapped_block mapped_exe_orig main)

# ---- upgrade: renamed over while it runs ----
dir=$TL_TMP/upgrade
mkdir -p "$dir" && cp "$TESTDATA/mapped" "$TESTDATA/libtlmapped.so" "$dir/" || fail "cannot copy testdata/mapped"
start_target "$dir/mapped"
pid=$TARGET_PID
wait_blocked "$pid" "$pid" 20 || fail "mapped did not block"
cp "$TESTDATA/mapped-swap" "$dir/.mapped.new" && mv -f "$dir/.mapped.new" "$dir/mapped" &&
	cp "$TESTDATA/libtlmapped-swap.so" "$dir/.lib.new" && mv -f "$dir/.lib.new" "$dir/libtlmapped.so" ||
	fail "cannot rename the new build over the old"
grep -q "$dir/libtlmapped.so (deleted)\$" "/proc/$pid/maps" || fail "maps does not say the library was deleted"
for uw in libdw libunwind; do
	snap "upgrade, $uw" "$TL_TMP/up-$uw" --unwinder=$uw
	check "upgrade, $uw" "$TL_TMP/up-$uw" "$dir" tlmapped_lib_orig
	[ $uw = libdw ] && check "upgrade, $uw" "$TL_TMP/up-$uw" "$dir" "${all[@]}"
	snap "upgrade, $uw, no map_files" "$TL_TMP/upn-$uw" --nocap --unwinder=$uw
	check "upgrade, $uw, no map_files" "$TL_TMP/upn-$uw" "$dir" tlmapped_lib_orig note
	[ $uw = libdw ] && check "upgrade, $uw, no map_files" "$TL_TMP/upn-$uw" "$dir" tlmapped_block
done
assert_not_stopped "$pid" "upgrade"
kill_target "$pid"

# ---- container: another file at the path in its mount namespace ----
dir=$TL_TMP/container
mkdir -p "$dir" "$TL_TMP/orig" &&
	cp "$TESTDATA/mapped" "$TESTDATA/libtlmapped.so" "$TL_TMP/orig/" &&
	cp "$TESTDATA/mapped-swap" "$dir/mapped" &&
	cp "$TESTDATA/libtlmapped-swap.so" "$dir/libtlmapped.so" || fail "cannot copy testdata/mapped"
start_target unshare -m --propagation private sh -c \
	'mount --bind "$1/mapped" "$2/mapped" && mount --bind "$1/libtlmapped.so" "$2/libtlmapped.so" && exec "$2/mapped"' \
	sh "$TL_TMP/orig" "$dir"
pid=$TARGET_PID
wait_blocked "$pid" "$pid" 20 || fail "mapped did not block in its namespace"
cmp -s "$dir/mapped" "$TESTDATA/mapped-swap" || fail "the bind mount is seen outside the target's namespace"
for uw in libdw libunwind; do
	snap "container, $uw" "$TL_TMP/ns-$uw" --unwinder=$uw
	check "container, $uw" "$TL_TMP/ns-$uw" "$dir" "${all[@]}"
	snap "container, $uw, no map_files" "$TL_TMP/nsn-$uw" --nocap --unwinder=$uw
	check "container, $uw, no map_files" "$TL_TMP/nsn-$uw" "$dir" "${all[@]}"
done
assert_not_stopped "$pid" "container"
finish
