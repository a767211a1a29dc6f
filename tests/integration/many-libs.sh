#!/bin/bash
# many-libs: a process with 1,020 shared libraries (testdata/manylibs
# dlopens them all, then blocks in manylibs_wait), read under small
# descriptor limits:
#   - ulimit -n 1024 (soft and hard), -S -n 1024 (the usual default: the
#     hard limit higher) and 64: snapshot and top -b name the program's
#     frames, exit 0 (threadleak holds no descriptor per module);
#   - ulimit -n 4 (one descriptor free): both exit 2 with "out of file
#     descriptors (ulimit -n 4)", never "exited";
#   - check under ulimit -S -n 1000 runs its command with that limit.
# The libraries are copies of one tiny .so (each its own inode, so the
# loader maps each), kept in ~/.cache/threadleak-tests/many-libs-HASH.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata manylibs
need_cmd jq cc

NLIBS=1020
src='int tl_many_libs_fn(void) { return 42; }'
key=$( (printf '%s\n' "$src" "$NLIBS"; cc --version 2>&1 | head -1) | sha256sum | cut -c 1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/threadleak-tests
libs=$cache/many-libs-$key
if [ ! -f "$libs/done" ]; then
	mkdir -p "$cache" && tmp=$(mktemp -d "$cache/.many-libs-$key.XXXXXX") ||
		fail "cannot write in $cache"
	printf '%s\n' "$src" >"$tmp/lib.c" &&
		cc -shared -fPIC -O2 -o "$tmp/lib.so" "$tmp/lib.c" 2>"$tmp/cc.err" ||
		{ rm -rf "$tmp"; fail "cannot build the library: $(head -c 300 "$tmp/cc.err")"; }
	for ((i = 1; i <= NLIBS; i++)); do
		cp "$tmp/lib.so" "$tmp/libtlmany$i.so" || { rm -rf "$tmp"; fail "cannot copy the library"; }
	done
	rm -f "$tmp/lib.so" "$tmp/lib.c" "$tmp/cc.err"
	: >"$tmp/done"
	rm -rf "$libs"
	mv "$tmp" "$libs" 2>/dev/null || rm -rf "$tmp"
	[ -f "$libs/done" ] || fail "cannot write $libs"
fi
for ((i = 1; i <= NLIBS; i++)); do
	echo "$libs/libtlmany$i.so"
done >"$TL_TMP/list"

start_target "$TESTDATA/manylibs" "$TL_TMP/list"
pid=$TARGET_PID
has_line "$TARGET_OUT" "loaded $NLIBS" || fail "manylibs did not load $NLIBS libraries: $(head -c 300 "$TARGET_OUT")"
wait_blocked "$pid" "$pid" 20 || fail "manylibs did not block"

# under LIMIT OUT ARG...: threadleak ARG... with ulimit LIMIT (-n N, or
# -S -n N), stdout to OUT, stderr to OUT.err; sets TL_RC.
under()
{
	local limit=$1 out=$2
	shift 2
	(ulimit $limit && exec timeout -k 5 "$TL_SNAP_TIMEOUT" "$THREADLEAK" "$@") \
		>"$out" 2>"$out.err" </dev/null
	TL_RC=$?
}

n=0
for limit in "-n 1024" "-S -n 1024" "-n 64"; do
	label="ulimit $limit"
	out=$TL_TMP/snap$n
	n=$((n + 1))
	under "$limit" "$out" snapshot --json "$pid"
	if ((TL_RC != 0)); then
		error "$label: snapshot: $(describe_rc $TL_RC): $(first_line "$out.err")"
	else
		fns=$(jq -r --argjson pid "$pid" '.threads[] | select(.tid == $pid) |
			[.frames[] | .function // "?"] | join(",")' "$out")
		for fn in manylibs_wait main; do
			has_function "$fns" $fn || error "$label: snapshot: no $fn in $fns"
		done
		mods=$(jq --arg d "$libs/" '[.modules[] | select(.path | startswith($d))] | length' "$out")
		[ "$mods" = "$NLIBS" ] || error "$label: snapshot lists $mods of the $NLIBS libraries"
	fi
	under "$limit" "$out.top" top -b -n 2 -d 0.2 --color=never "$pid"
	if ((TL_RC != 0)); then
		error "$label: top -b: $(describe_rc $TL_RC): $(first_line "$out.top.err")"
	else
		frames=$(grep -c '^threadleak top:' "$out.top")
		[ "$frames" = 2 ] || error "$label: top -b printed $frames frames, expected 2: $(first_line "$out.top.err")"
		grep -q 'manylibs_wait (manylibs\.c:[0-9]*)' "$out.top" ||
			error "$label: top -b does not show manylibs_wait: $(tr '\n' '|' <"$out.top" | cut -c 1-400)"
	fi
	assert_not_stopped "$pid" "$label"
done

# One descriptor free: too few to read /proc, and said so.
out=$TL_TMP/few
under "-n 4" "$out" snapshot "$pid"
((TL_RC == 2)) || error "ulimit -n 4: snapshot: $(describe_rc $TL_RC), expected exit 2: $(first_line "$out.err")"
grep -q '^threadleak: out of file descriptors (ulimit -n 4): ' "$out.err" ||
	error "ulimit -n 4: snapshot does not say it is out of descriptors: $(first_line "$out.err")"
under "-n 4" "$out.top" top -b -n 2 -d 0.2 "$pid"
((TL_RC == 2)) || error "ulimit -n 4: top -b: $(describe_rc $TL_RC), expected exit 2: $(first_line "$out.top.err")"
grep -q '^threadleak: out of file descriptors (ulimit -n 4): ' "$out.top.err" ||
	error "ulimit -n 4: top -b does not say it is out of descriptors: $(first_line "$out.top.err")"
grep -q exited "$out.err" "$out.top.err" && error "ulimit -n 4: says the process exited: $(grep -h exited "$out.err" "$out.top.err" | head -1)"
assert_not_stopped "$pid" "ulimit -n 4"
proc_alive "$pid" || error "manylibs exited"

# check raises its own limit, never its command's.
out=$TL_TMP/check
under "-S -n 1000" "$out" check -- sh -c 'ulimit -S -n'
((TL_RC == 0)) || error "check: $(describe_rc $TL_RC): $(first_line "$out.err")"
[ "$(cat "$out")" = 1000 ] || error "check's command runs with ulimit -S -n $(cat "$out"), expected 1000"
finish
