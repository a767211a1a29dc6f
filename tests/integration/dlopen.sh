#!/bin/bash
# dlopen: code mapped after threadleak read the target's modules
# (testdata/dlopener loads testdata/libtlplugin.so and starts a thread in
# it, blocked in plugin_wait):
#   - top, watching before the load: no frame taken before it shows
#     plugin_wait, and every frame begun after it (and after the new thread
#     blocked) names the new thread's group plugin_wait (tlplugin.c:N), its
#     stack whole (no "partial" line);
#   - check, whose symbolizer was opened at the first thread (before the
#     load): the leaked thread's "created by" runs through plugin_start
#     (libtlplugin.so) down to load and main.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata dlopener libtlplugin.so

lib=$TESTDATA/libtlplugin.so

# ---- top ----
# Frames 1..F were taken before the signal to load; once the library is
# loaded and its thread blocked, G frames were out: frame G+1 may have
# begun before, frame G+2 began after, and every frame from it on must
# name the thread's group, its stack whole.  No check depends on when the
# load happens relative to top's refreshes.

# frames_done: complete frames so far (each ends with its only empty line)
frames_done()
{
	local n
	n=$(grep -c '^$' "$TL_TMP/top.out" 2>/dev/null)
	echo "${n:-0}"
}

# frame K: the text of complete frame K
frame()
{
	awk -v k="$1" '/^threadleak top:/ { n++ } n == k { print } n == k && $0 == "" { exit }' "$TL_TMP/top.out"
}

# wait_frames N: until N complete frames are out (120 s at most: a hang guard)
wait_frames()
{
	local deadline=$((SECONDS + 120))
	while (($(frames_done) < $1)); do
		proc_alive "$top" && ((SECONDS < deadline)) || return 1
		tl_sleep 0.05
	done
}

start_target "$TESTDATA/dlopener" "$lib"
pid=$TARGET_PID
# made here: the background job's redirection may come after the first look
: >"$TL_TMP/top.out"
"$THREADLEAK" top -b -d 0.4 --color=never "$pid" \
	>"$TL_TMP/top.out" 2>"$TL_TMP/top.err" </dev/null &
top=$!
register_pid "$top"
wait_frames 2 || fail "top printed no 2 frames: $(first_line "$TL_TMP/top.err")"
F=$(frames_done)
kill -USR1 "$pid"
deadline=$((SECONDS + 60))
until has_line "$TARGET_OUT" loaded || ((SECONDS > deadline)); do
	proc_alive "$pid" || break
	tl_sleep 0.02
done
has_line "$TARGET_OUT" loaded || fail "dlopener did not load $lib: $(head -c 300 "$TARGET_ERR")"
tids=($(task_tids "$pid"))
((${#tids[@]} == 2)) || error "dlopener has ${#tids[@]} threads after the load, expected 2"
for tid in "${tids[@]}"; do
	wait_blocked "$pid" "$tid" 60 || error "thread $tid of dlopener did not block"
done
G=$(frames_done)
wait_frames $((G + 3)) || error "top: no frame $((G + 3)) after the load: $(first_line "$TL_TMP/top.err")"
signal_child TERM "$top"
deadline=$((SECONDS + 60))
while proc_alive "$top" && ((SECONDS < deadline)); do
	tl_sleep 0.05
done
if proc_alive "$top"; then
	kill_target "$top"
	fail "top ignored SIGTERM"
fi
unregister_pid "$top"
wait "$top"
rc=$?
((rc == 143)) || error "top after SIGTERM: $(describe_rc $rc), expected 143: $(first_line "$TL_TMP/top.err")"
n=$(frames_done)
for ((k = 1; k <= n; k++)); do
	text=$(frame "$k")
	grep -q '^threadleak top: ' <<<"$text" || { error "top: frame $k has no header: $(tr '\n' '|' <<<"$text")"; continue; }
	if ((k <= F)); then
		grep -q plugin_wait <<<"$text" && error "top: frame $k, before the load, shows plugin_wait"
	elif ((k >= G + 2)); then
		grep -Eq '^\*? +1 +\+1 .* plugin_wait \(tlplugin\.c:[0-9]+\)$' <<<"$text" ||
			error "top: frame $k, begun after the load, has no plugin_wait group: $(tr '\n' '|' <<<"$text")"
		grep -q '^partial' <<<"$text" && error "top: frame $k is partial: $(tr '\n' '|' <<<"$text")"
	fi
done
assert_not_stopped "$pid" "after top"
kill_target "$pid"

# ---- check ----
out=$TL_TMP/check
run_tl "$out" check -- "$TESTDATA/dlopener" "$lib" now
((TL_RC == 1)) || fail "check: $(describe_rc $TL_RC), expected exit 1 (a leak): $(first_line "$out.err")"
stack=$(sed -n '/^1 thread /,/^  created by:/p' "$out.err")
grep -Eq '^    plugin_wait +tlplugin\.c:[0-9]+ +libtlplugin\.so' <<<"$stack" ||
	error "check: the leaked thread's stack lacks plugin_wait: $(tr '\n' '|' <<<"$stack")"
created=$(sed -n '/^  created by:/,/^$/p' "$out.err")
for fn in 'plugin_start +tlplugin\.c:[0-9]+ +libtlplugin\.so' 'load +dlopener\.c:[0-9]+' 'main +dlopener\.c:[0-9]+'; do
	grep -Eq "^    $fn" <<<"$created" ||
		error "check: created by lacks '$fn': $(tr '\n' '|' <<<"$created")"
done
finish
