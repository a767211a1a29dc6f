#!/bin/bash
# top-options: what the man page promises of top's -s count|growth,
# --timeout, -u and --save-dir, each checked against something threadleak
# does not say itself.
#   -s: three `top -b` on the leaky server, started before two requests
#     (one leaked "handler" thread each; the pool has 4 "pool" threads, as
#     /proc's thread names say).  In a frame where the handler group has
#     the 2 threads /proc shows, -s count lists the pool first and the
#     COUNT column never rises; -s growth and the default list the handler
#     group first (+2 since the start, the pool +0) and the CHANGE column
#     never rises.
#   --timeout: testdata/holder --once (tests/holder-lib.sh) holds a
#     thread in state D, which no stop
#     reaches: with --timeout 0.2 the first frame is partial and came after
#     0.2 s at least; without, after the default 1 s at least; with 600 no
#     frame is printed while the thread is held (3 s after top seized it),
#     and once the test releases it the frame is whole (exit 0).
#   -u: an LD_PRELOAD shim counts the calls into each unwinding library
#     (dwfl_getthread_frames for libdw, unw_init_remote for libunwind):
#     -u libunwind calls libunwind only, -u libdw and the default libdw only.
#   --save-dir: the interactive view (in tmux) started in one directory
#     with --save-dir another: 's' makes threadleak-PID-DATE-TIME.json there
#     (nothing in the current directory, no temporary file left), a
#     snapshot of the process with /proc's threads, made with -u's
#     unwinder; q ends top with 0.
# Bad values (-s size, --timeout abc, -u none) are usage errors (64).  The
# targets are never left stopped.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../holder-lib.sh"

need_cmd jq tmux cc
need_threadleak
need_testdata leakyserver client holder

# comm_count PID NAME: how many threads of PID /proc names NAME
comm_count()
{
	local f c n=0
	for f in /proc/"$1"/task/[0-9]*/comm; do
		read -r c <"$f" 2>/dev/null && [ "$c" = "$2" ] && n=$((n + 1))
	done
	echo "$n"
}

# last_frame FILE FUNC COUNT: the rows ("COUNT CHANGE WHERE") of the last
# whole frame (ended by its empty line) where the group whose WHERE starts
# with FUNC has COUNT threads
last_frame()
{
	awk -v fn="$2" -v want="$3" '
		/^threadleak top:/ { rows = ""; on = 0; hit = 0; next }
		/^ +COUNT +CHANGE/ { on = 1; next }
		on && NF == 0 { if (hit) last = rows; on = 0; next }
		on {
			sub(/^\*/, "")
			where = $0; sub(/^ *[0-9]+ +[-+][0-9]+ +[-+][0-9.]+\/s +[^ ]+ +[0-9.]+ +[^ ]+ +/, "", where)
			rows = rows $1 " " $2 " " where "\n"
			if (index(where, fn) == 1 && $1 == want) hit = 1
		}
		END { printf "%s", last }' "$1"
}

# ---- -s count | growth, on the leaky server ----
start_target "$TESTDATA/leakyserver"
server=$TARGET_PID
PORT=$(awk '/^port /{print $2}' "$TARGET_OUT")
[ -n "$PORT" ] || fail "leakyserver printed no port"
npool=$(comm_count "$server" pool)
((npool == 4)) || fail "leakyserver has $npool pool threads, its source says 4"
((npool > 2)) || fail "the pool must outnumber the two handlers for the orders to differ"

declare -A toppid
for key in count growth default; do
	args=(-s "$key")
	[ $key = default ] && args=()
	"$THREADLEAK" top -b -d 0.2 "${args[@]}" --color=never "$server" \
		>"$TL_TMP/sort-$key.out" 2>"$TL_TMP/sort-$key.err" </dev/null &
	toppid[$key]=$!
	register_pid "${toppid[$key]}"
done
# each has shown the server before the requests
for key in count growth default; do
	deadline=$((SECONDS + 60))
	until grep -q '^ *[0-9]' "$TL_TMP/sort-$key.out" && grep -q '^$' "$TL_TMP/sort-$key.out"; do
		proc_alive "${toppid[$key]}" && ((SECONDS < deadline)) ||
			fail "-s $key: no first frame: $(head -c 200 "$TL_TMP/sort-$key.err")"
		tl_sleep 0.05
	done
done
"$TESTDATA/client" "$PORT" 2 >/dev/null || fail "client failed"
nhandler=$(comm_count "$server" handler)
((nhandler == 2)) || fail "after two requests /proc shows $nhandler handler threads, expected 2"
for key in count growth default; do
	deadline=$((SECONDS + 60))
	until [ -n "$(last_frame "$TL_TMP/sort-$key.out" wait_for_reply "$nhandler")" ]; do
		proc_alive "${toppid[$key]}" && ((SECONDS < deadline)) || break
		tl_sleep 0.05
	done
	kill -TERM "${toppid[$key]}" 2>/dev/null
	wait_gone "${toppid[$key]}"
	[ "$RC" = 143 ] || error "-s $key: exit status $RC after SIGTERM, expected 143"
	last_frame "$TL_TMP/sort-$key.out" wait_for_reply "$nhandler" >"$TL_TMP/sort-$key.rows"
	if ! [ -s "$TL_TMP/sort-$key.rows" ]; then
		error "-s $key: no frame with the $nhandler handler threads: $(tail -12 "$TL_TMP/sort-$key.out" | tr '\n' '|')"
		continue
	fi
	rows=$(tr '\n' '|' <"$TL_TMP/sort-$key.rows")
	read -r c1 ch1 w1 <"$TL_TMP/sort-$key.rows"
	case $key in
	count)
		[ "$c1 $ch1" = "$npool +0" ] && [[ $w1 == pool_wait* ]] ||
			error "-s count: first row '$c1 $ch1 $w1', expected the pool's $npool threads: $rows"
		awk 'NR > 1 && $1 + 0 > last { bad = 1 } { last = $1 + 0 } END { exit bad }' "$TL_TMP/sort-$key.rows" ||
			error "-s count: the COUNT column rises: $rows" ;;
	*)
		[ "$c1 $ch1" = "$nhandler +$nhandler" ] && [[ $w1 == wait_for_reply* ]] ||
			error "-s $key: first row '$c1 $ch1 $w1', expected the handlers' $nhandler threads, +$nhandler: $rows"
		awk 'NR > 1 && $2 + 0 > last { bad = 1 } { last = $2 + 0 } END { exit bad }' "$TL_TMP/sort-$key.rows" ||
			error "-s $key: the CHANGE column rises: $rows" ;;
	esac
	grep -Eq "^$npool \+0 pool_wait" "$TL_TMP/sort-$key.rows" ||
		error "-s $key: no row for the pool's $npool threads: $rows"
done
run_tl "$TL_TMP/sort-bad" top -b -n 1 -s size "$server"
((TL_RC == 64)) || error "-s size: $(describe_rc $TL_RC), expected 64"
assert_not_stopped "$server" "after the sorted tops"

# ---- -u: which library unwinds ----
cat >"$TL_TMP/shim.c" <<'EOF'
/* Counts the calls into each unwinding library; each process appends
 * "libdw N libunwind M" to TL_SHIM_OUT at exit (timeout, which runs
 * threadleak, too: the lines are added up). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
static unsigned long n_libdw, n_libunwind;
int dwfl_getthread_frames(void *dwfl, pid_t tid, void *cb, void *arg)
{
	static int (*real)(void *, pid_t, void *, void *);
	if (!real)
		real = (int (*)(void *, pid_t, void *, void *))dlsym(RTLD_NEXT, "dwfl_getthread_frames");
	__atomic_add_fetch(&n_libdw, 1, __ATOMIC_RELAXED);
	return real(dwfl, tid, cb, arg);
}
int _Ux86_64_init_remote(void *c, void *as, void *arg)
{
	static int (*real)(void *, void *, void *);
	if (!real)
		real = (int (*)(void *, void *, void *))dlsym(RTLD_NEXT, "_Ux86_64_init_remote");
	__atomic_add_fetch(&n_libunwind, 1, __ATOMIC_RELAXED);
	return real(c, as, arg);
}
__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("TL_SHIM_OUT");
	FILE *f = path ? fopen(path, "a") : NULL;
	if (f) {
		fprintf(f, "libdw %lu libunwind %lu\n", n_libdw, n_libunwind);
		fclose(f);
	}
}
EOF
cc -shared -fPIC -O2 -o "$TL_TMP/shim.so" "$TL_TMP/shim.c" -ldl 2>"$TL_TMP/shim.err" ||
	fail "cannot build the counting shim: $(head -c 300 "$TL_TMP/shim.err")"
shim_asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
for u in libdw libunwind default; do
	args=(-u "$u")
	[ $u = default ] && args=()
	rm -f "$TL_TMP/shim.out"
	TL_SHIM_OUT=$TL_TMP/shim.out LD_PRELOAD=$TL_TMP/shim.so ASAN_OPTIONS=$shim_asan \
		run_tl "$TL_TMP/u-$u" top -b -n 2 -d 0.1 "${args[@]}" "$server"
	((TL_RC == 0)) || { error "-u $u: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/u-$u.err")"; continue; }
	dw= uw=
	read -r dw uw < <(awk '{ dw += $2; uw += $4 } END { if (NR) print dw, uw }' "$TL_TMP/shim.out" 2>/dev/null)
	want=$u
	[ $u = default ] && want=libdw
	if [ -z "${dw:-}" ]; then
		error "-u $u: the shim wrote no counts"
	elif [ $want = libdw ]; then
		((dw > 0 && uw == 0)) || error "-u $u: $dw calls into libdw, $uw into libunwind; expected libdw only"
	else
		((uw > 0 && dw == 0)) || error "-u $u: $dw calls into libdw, $uw into libunwind; expected libunwind only"
	fi
	grep -q "pool_wait" "$TL_TMP/u-$u" || error "-u $u: no pool_wait row in the frames"
done
run_tl "$TL_TMP/u-bad" top -b -n 1 -u none "$server"
((TL_RC == 64)) || error "-u none: $(describe_rc $TL_RC), expected 64"

# ---- --save-dir, in the interactive view ----
SOCK=$TL_TMP/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
at_exit 'tmux -S "$SOCK" kill-server >/dev/null 2>&1'
mkdir "$TL_TMP/cwd" "$TL_TMP/saves"
cat >"$TL_TMP/run-top.sh" <<'EOF'
#!/bin/bash
# run-top.sh CWD THREADLEAK ARG...: top in CWD; its status into CWD/../top.rc
cd "$1" || exit 1
shift
"$@" 2>../top.err
echo $? >../top.rc
read -r _
EOF
chmod +x "$TL_TMP/run-top.sh"
task_tids "$server" >"$TL_TMP/server.tids"
if ! tm new-session -d -s save -x 150 -y 40 "$TL_TMP/run-top.sh" "$TL_TMP/cwd" \
	"$THREADLEAK" top -d 0.5 -u libunwind --save-dir "$TL_TMP/saves" "$server"; then
	fail "tmux cannot start a session"
fi
# screen_has ERE: the pane shows a line matching ERE within 60 s
screen_has()
{
	local deadline=$((SECONDS + 60))
	while ((SECONDS < deadline)); do
		tm capture-pane -p -t save >"$TL_TMP/screen" 2>/dev/null
		grep -Eq -- "$1" "$TL_TMP/screen" && return 0
		[ -e "$TL_TMP/top.rc" ] && return 1
		tl_sleep 0.1
	done
	return 1
}
if ! screen_has "^pid $server leakyserver"; then
	error "--save-dir: the view did not start: $(head -c 200 "$TL_TMP/top.err" 2>/dev/null) $(grep -v '^ *$' "$TL_TMP/screen" | head -5 | tr '\n' '|')"
else
	tm send-keys -t save s
	screen_has "saved threadleak-$server-[0-9]{8}-[0-9]{6}\.json" ||
		error "--save-dir: no 'saved' message after s: $(grep -v '^ *$' "$TL_TMP/screen" | head -8 | tr '\n' '|')"
	saved=$(ls -A "$TL_TMP/saves")
	if ! [[ $saved =~ ^threadleak-$server-[0-9]{8}-[0-9]{6}\.json$ ]]; then
		error "--save-dir: the directory holds '$(echo $saved)', expected one threadleak-$server-DATE-TIME.json"
	else
		f=$TL_TMP/saves/$saved
		snap_valid "$f" "$server" || error "--save-dir: $saved is not a snapshot of $server"
		snap_tids "$f" | cmp -s - "$TL_TMP/server.tids" ||
			error "--save-dir: $saved has threads $(snap_tids "$f" | tr '\n' ' '), /proc $(tr '\n' ' ' <"$TL_TMP/server.tids")"
		[ "$(jq -r .unwinder "$f")" = libunwind ] ||
			error "--save-dir: $saved was made with $(jq -r .unwinder "$f"), not -u libunwind"
	fi
	[ -z "$(ls -A "$TL_TMP/cwd")" ] || error "--save-dir: files in the current directory: $(ls -A "$TL_TMP/cwd" | tr '\n' ' ')"
	tm send-keys -t save q
	deadline=$((SECONDS + 60))
	until [ -s "$TL_TMP/top.rc" ] || ((SECONDS >= deadline)); do
		tl_sleep 0.05
	done
	[ "$(cat "$TL_TMP/top.rc" 2>/dev/null)" = 0 ] || error "--save-dir: q: exit status '$(cat "$TL_TMP/top.rc" 2>/dev/null)', expected 0"
fi
assert_not_stopped "$server" "after the interactive view"
kill_target "$server"

# ---- --timeout, a thread held in state D ----
start_holder 2
pid=$HOLDER_PID

t0=$(tl_now_us)
run_tl "$TL_TMP/t02" top -b -n 1 --timeout 0.2 "$pid"
((TL_RC == 0)) || error "--timeout 0.2: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/t02.err")"
elapsed_ge "$t0" 0.2 "--timeout 0.2"
grep -q '^partial: ' "$TL_TMP/t02" || error "--timeout 0.2: the frame is not partial, with a thread in D: $(head -5 "$TL_TMP/t02" | tr '\n' '|')"
t0=$(tl_now_us)
run_tl "$TL_TMP/tdef" top -b -n 1 "$pid"
((TL_RC == 0)) || error "no --timeout: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/tdef.err")"
elapsed_ge "$t0" 1 "no --timeout (default 1)"
grep -q '^partial: ' "$TL_TMP/tdef" || error "no --timeout: the frame is not partial, with a thread in D"
run_tl "$TL_TMP/tbad" top -b -n 1 --timeout abc "$pid"
((TL_RC == 64)) || error "--timeout abc: $(describe_rc $TL_RC), expected 64"

"$THREADLEAK" top -b -n 1 --timeout 600 "$pid" >"$TL_TMP/t600" 2>"$TL_TMP/t600.err" </dev/null &
tl=$!
register_pid "$tl"
if ! wait_seized "$tl"; then
	error "--timeout 600: top never seized the holder: $(head -c 200 "$TL_TMP/t600.err")"
else
	t0=$(tl_now_us)
	while (($(tl_now_us) - t0 < 3000000)) && proc_alive "$tl"; do
		tl_sleep 0.05
	done
	proc_alive "$tl" || error "--timeout 600: top ended $((($(tl_now_us) - t0) / 1000)) ms after it seized the holder, still in D"
	[ -s "$TL_TMP/t600" ] && error "--timeout 600: a frame was printed while the holder was held: $(first_line "$TL_TMP/t600")"
fi
release_holder
wait_gone "$tl"
[ "$RC" = 0 ] || error "--timeout 600, holder released: exit status $RC, expected 0: $(head -c 200 "$TL_TMP/t600.err")"
grep -q "^threadleak top: pid $pid (holder), 4 threads" "$TL_TMP/t600" ||
	error "--timeout 600: no frame of testdata/holder's 4 threads: $(first_line "$TL_TMP/t600")"
grep -q '^partial: ' "$TL_TMP/t600" && error "--timeout 600: the frame is partial once the holder was released"
wait_released
assert_not_stopped "$pid" "after the tops with --timeout"
finish
