#!/bin/bash
# debuginfo-sources: a stripped testdata/waits (built here, with a build id
# of its own) gets its names back from
# wherever a distribution keeps them, as gdb would find them:
#   - .gnu_debuglink to a debug file in .debug/ beside the binary: names
#     and file:line;
#   - a debug file under /usr/lib/debug/.build-id/ (as root; removed
#     after): names and file:line;
#   - MiniDebugInfo (.gnu_debugdata, Fedora's LZMA-compressed symbol
#     table, made here as Fedora's find-debuginfo makes it): names;
#   - a real debuginfod server (Debian's debuginfod -F on a folder, on
#     loopback) with DEBUGINFOD_URLS set: names and file:line, the file
#     then in DEBUGINFOD_CACHE_PATH;
#   - DEBUGINFOD_URLS pointing at a dead port, and at a server that
#     accepts and never answers: the snapshot still exits 0 with whole
#     stacks of bare module+offset frames and no thread left stopped.  The
#     silent server is given up on by whichever limit is the shorter, each
#     shown by what it leaves (no clock is read): the run's budget
#     (THREADLEAK_DEBUGINFOD_TIMEOUT=2 with DEBUGINFOD_TIMEOUT=600) says
#     so in one line on stderr; a stalled transfer (DEBUGINFOD_TIMEOUT=2
#     with a budget of 600 s) ends without it; both well within the
#     snapshot's hang guard, which the other limit alone would exceed;
#   - the stripped binary with none of these: no names, and (the dynamic
#     loader's log says) libdebuginfod never loaded without
#     DEBUGINFOD_URLS; loaded with it.
# Every snapshot must exit 0 with no partial stack: the stripped binary's
# stacks end at its ELF entry, whatever names it has.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_cmd cc jq objcopy strip nm xz python3 debuginfod

d=$TL_TMP/bin
mkdir -p "$d/.debug" "$TL_TMP/srv"
# A build id of its own: no other test's waits may find this debug file.
cc -g -O2 -pthread -Wl,--build-id=0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n') \
	-o "$d/full" "$TL_ROOT/testdata/waits.c" 2>"$d/cc.err" ||
	fail "cannot build testdata/waits.c: $(head -c 300 "$d/cc.err")"
objcopy --only-keep-debug "$d/full" "$d/waits.debug"
# stripped, linked to its debug file
strip --strip-all -o "$d/linked" "$d/full"
(cd "$d" && objcopy --add-gnu-debuglink=waits.debug linked) || fail "objcopy --add-gnu-debuglink failed"
mv "$d/waits.debug" "$d/.debug/"
# stripped bare (its build id still in it)
strip --strip-all -o "$d/bare" "$d/full"
cp "$d/.debug/waits.debug" "$TL_TMP/srv/"
# MiniDebugInfo: the function symbols .dynsym lacks, xz'd into a section
nm -D "$d/bare" --format=posix --defined-only | awk '{ print $1 }' | sort >"$d/dynsyms"
nm "$d/full" --format=posix --defined-only | awk '$2 == "T" || $2 == "t" { print $1 }' | sort >"$d/funcsyms"
comm -13 "$d/dynsyms" "$d/funcsyms" >"$d/keep"
objcopy --only-keep-debug "$d/full" "$d/mini.full"
objcopy -S --remove-section .gdb_index --remove-section .comment \
	--keep-symbols="$d/keep" "$d/mini.full" "$d/mini"
xz -f "$d/mini"
objcopy --add-section .gnu_debugdata="$d/mini.xz" "$d/bare" "$d/mini" ||
	fail "objcopy --add-section .gnu_debugdata failed"
build_id=$(readelf -n "$d/full" | awk '/Build ID/ { print $3 }')
[ -n "$build_id" ] || fail "testdata/waits has no build id"

# whole LABEL JSON: the snapshot just taken exited 0 and is whole
whole()
{
	((TL_RC == 0)) || error "$1: $(describe_rc "$TL_RC"): $(first_line "$2.err")"
	jq -e '.partial == false' "$2" >/dev/null 2>&1 || error "$1: a partial snapshot: $(jq -c '[.threads[] | select(.error) | .error] | unique' "$2" 2>/dev/null | head -c 300)"
}

# check VARIANT JSON LINES: every thread the target expects in a function
# shows it; with LINES=lines, at waits.c:N.
check()
{
	local label=$1 json=$2 tid fn n=0
	while read -r _ tid _ fn; do
		if ! jq -e --argjson tid "$tid" --arg fn "$fn" --arg lines "$3" '
			.threads[] | select(.tid == $tid) | .frames | any(
				(.function // "") == $fn and
				($lines != "lines" or ((.file // "") | endswith("waits.c")) and .line > 0))' \
			"$json" >/dev/null; then
			error "$label: thread $tid lacks $fn${3:+ with waits.c:N}: $(jq -c --argjson tid "$tid" '[.threads[] | select(.tid == $tid) | .frames[] | .function // "\(.module)+\(.offset)"]' "$json" | head -c 300)"
		fi
		n=$((n + 1))
	done < <(grep '^expect ' "$TARGET_OUT")
	((n >= 10)) || error "$label: only $n expectations"
}

# named VARIANT JSON: how many of the expected functions it names.
named()
{
	local tid fn n=0
	while read -r _ tid _ fn; do
		jq -e --argjson tid "$tid" --arg fn "$fn" \
			'.threads[] | select(.tid == $tid) | .frames | any((.function // "") == $fn)' \
			"$2" >/dev/null && n=$((n + 1))
	done < <(grep '^expect ' "$TARGET_OUT")
	echo "$n"
}

# ---- local files ----
start_target "$d/linked"
snapshot_json "$TARGET_PID" "$TL_TMP/linked.json"
whole debuglink "$TL_TMP/linked.json"
check debuglink "$TL_TMP/linked.json" lines
kill_target "$TARGET_PID"

start_target "$d/mini"
snapshot_json "$TARGET_PID" "$TL_TMP/mini.json"
whole minidebuginfo "$TL_TMP/mini.json"
check minidebuginfo "$TL_TMP/mini.json" ""
kill_target "$TARGET_PID"

start_target "$d/bare"
bare=$TARGET_PID
# the dynamic loader's own log of what it loads (no ptrace: the ASan
# build runs too): without DEBUGINFOD_URLS, libdebuginfod (and libcurl
# with it) is never loaded, though bare's debug file is missed
unset DEBUGINFOD_URLS
LD_DEBUG=files LD_DEBUG_OUTPUT=$TL_TMP/ld-bare snapshot_json "$bare" "$TL_TMP/bare.json"
whole bare "$TL_TMP/bare.json"
n=$(named bare "$TL_TMP/bare.json")
((n == 0)) || error "the bare stripped binary has names from somewhere ($n): the test proves nothing"
cat "$TL_TMP"/ld-bare.* >"$TL_TMP/ld-bare" 2>/dev/null
grep -q 'file=libdw\.so' "$TL_TMP/ld-bare" ||
	error "LD_DEBUG=files logged no load of libdw: the check below proves nothing ($(head -c 200 "$TL_TMP/ld-bare"))"
grep -q 'file=libdebuginfod' "$TL_TMP/ld-bare" &&
	error "without DEBUGINFOD_URLS, threadleak loaded libdebuginfod: $(grep -m1 'file=libdebuginfod' "$TL_TMP/ld-bare")"

if [ "$(id -u)" != 0 ]; then
	partial "/usr/lib/debug/.build-id not tried: needs root"
elif [ ! -d /usr/lib/debug ]; then
	partial "/usr/lib/debug/.build-id not tried: no /usr/lib/debug (scripts/deps.sh installs libc6-dbg)"
else
	bid_dir=/usr/lib/debug/.build-id/${build_id:0:2}
	bid_file=$bid_dir/${build_id:2}.debug
	[ -e "$bid_file" ] && fail "$bid_file exists already: its build id is this run's own"
	{
		mkdir -p "$bid_dir"
		cp "$d/.debug/waits.debug" "$bid_file"
		# removed however the test ends
		at_exit "rm -f '$bid_file'"
		snapshot_json "$bare" "$TL_TMP/buildid.json"
		whole build-id "$TL_TMP/buildid.json"
		check build-id "$TL_TMP/buildid.json" lines
		rm -f "$bid_file"
	}
fi

# ---- debuginfod ----
port_file=$TL_TMP/ports
# a port nobody listens on, and a server that accepts and never answers
python3 - "$port_file" >"$TL_TMP/silent.log" 2>&1 <<'EOF' &
import socket, sys
dead = socket.socket(); dead.bind(("127.0.0.1", 0))
silent = socket.socket(); silent.bind(("127.0.0.1", 0)); silent.listen(64)
free = socket.socket(); free.bind(("127.0.0.1", 0))
ports = [s.getsockname()[1] for s in (dead, silent, free)]
dead.close(); free.close()
with open(sys.argv[1], "w") as f:
    f.write(" ".join(map(str, ports)) + "\n")
held = []
while True:
    c, _ = silent.accept()
    held.append(c)
    print("connection", flush=True)
EOF
register_pid $!
for ((i = 0; i < 100; i++)); do [ -s "$port_file" ] && break; tl_sleep 0.1; done
read -r dead_port silent_port srv_port <"$port_file" || fail "no ports from the helper"

debuginfod -F "$TL_TMP/srv" -p "$srv_port" -d "$TL_TMP/debuginfod.sqlite" -t 0 -g 0 \
	>"$TL_TMP/debuginfod.log" 2>&1 &
register_pid $!
srv=$!
# ready once it has indexed the folder: it then serves the build id
for ((i = 0; i < 300; i++)); do
	python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$srv_port/buildid/$build_id/debuginfo', timeout=2)" 2>/dev/null && break
	proc_alive "$srv" || fail "debuginfod exited: $(tail -c 300 "$TL_TMP/debuginfod.log")"
	tl_sleep 0.1
done
((i < 300)) || fail "debuginfod did not serve $build_id in 30 s: $(tail -c 300 "$TL_TMP/debuginfod.log")"

DEBUGINFOD_URLS=http://127.0.0.1:$srv_port DEBUGINFOD_CACHE_PATH=$TL_TMP/dcache \
	snapshot_json "$bare" "$TL_TMP/dind.json"
whole debuginfod "$TL_TMP/dind.json"
check debuginfod "$TL_TMP/dind.json" lines
[ -s "$TL_TMP/dcache/$build_id/debuginfo" ] || error "debuginfod: nothing cached in DEBUGINFOD_CACHE_PATH"
# the second run finds it in the cache: the server is not needed
kill_target "$srv"
DEBUGINFOD_URLS=http://127.0.0.1:$srv_port DEBUGINFOD_CACHE_PATH=$TL_TMP/dcache \
	snapshot_json "$bare" "$TL_TMP/dind2.json"
whole "debuginfod, cached" "$TL_TMP/dind2.json"
check "debuginfod, cached" "$TL_TMP/dind2.json" lines

# Below, no clock is read: each limit is shown by what it leaves, and the
# snapshot's hang guard (TL_SNAP_TIMEOUT) is far shorter than the limit
# that must not be the one that acted.
((TL_SNAP_TIMEOUT < 600)) || fail "TL_SNAP_TIMEOUT must be under 600 s here"
nconn() { grep -c '^connection' "$TL_TMP/silent.log"; }

# a dead port: refused at once; neither limit is reached
DEBUGINFOD_URLS=http://127.0.0.1:$dead_port DEBUGINFOD_CACHE_PATH=$TL_TMP/dcache-dead \
	DEBUGINFOD_TIMEOUT=600 THREADLEAK_DEBUGINFOD_TIMEOUT=600 \
	LD_DEBUG=files LD_DEBUG_OUTPUT=$TL_TMP/ld-dead snapshot_json "$bare" "$TL_TMP/dead.json"
whole "dead debuginfod" "$TL_TMP/dead.json"
cat "$TL_TMP"/ld-dead.* 2>/dev/null | grep -q 'file=libdebuginfod' ||
	error "with DEBUGINFOD_URLS set, libdebuginfod was not loaded (the check without it proves nothing)"
grep -q "stopped downloading" "$TL_TMP/dead.json.err" && error "dead debuginfod: the budget was spent on a refused connection"

# a silent server, the budget shorter: it acts, and says so
c0=$(nconn)
DEBUGINFOD_URLS=http://127.0.0.1:$silent_port DEBUGINFOD_CACHE_PATH=$TL_TMP/dcache-silent \
	DEBUGINFOD_TIMEOUT=600 THREADLEAK_DEBUGINFOD_TIMEOUT=2 snapshot_json "$bare" "$TL_TMP/silent.json"
whole "silent debuginfod, budget" "$TL_TMP/silent.json"
grep -q "debuginfod: stopped downloading after 2 s" "$TL_TMP/silent.json.err" ||
	error "silent debuginfod, budget: no word on stderr: $(first_line "$TL_TMP/silent.json.err")"
(($(nconn) > c0)) || error "silent debuginfod, budget: never asked (the test proves nothing)"
assert_not_stopped "$bare" "after the silent debuginfod"

# the stall limit shorter (DEBUGINFOD_TIMEOUT, libdebuginfod's own): the
# transfer ends, the budget never acts
c0=$(nconn)
DEBUGINFOD_URLS=http://127.0.0.1:$silent_port DEBUGINFOD_CACHE_PATH=$TL_TMP/dcache-stall \
	DEBUGINFOD_TIMEOUT=2 THREADLEAK_DEBUGINFOD_TIMEOUT=600 snapshot_json "$bare" "$TL_TMP/stall.json"
whole "silent debuginfod, DEBUGINFOD_TIMEOUT" "$TL_TMP/stall.json"
grep -q "stopped downloading" "$TL_TMP/stall.json.err" &&
	error "silent debuginfod, DEBUGINFOD_TIMEOUT=2: the budget acted, not the stall limit"
(($(nconn) > c0)) || error "silent debuginfod, DEBUGINFOD_TIMEOUT: never asked (the test proves nothing)"
assert_not_stopped "$bare" "after the stalled debuginfod"
finish
