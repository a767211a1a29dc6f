#!/bin/bash
# dlopen: code mapped after threadleak read the target's modules
# (testdata/dlopener loads testdata/libtlplugin.so and starts a thread in
# it, blocked in plugin_wait):
#   - top, watching before the load: the frames after it name the new
#     thread's group plugin_wait (tlplugin.c:N), its stack whole (no
#     "partial" line);
#   - check, whose symbolizer was opened at the first thread (before the
#     load): the leaked thread's "created by" runs through plugin_start
#     (libtlplugin.so) down to load and main.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata dlopener libtlplugin.so

lib=$TESTDATA/libtlplugin.so

# ---- top ----
start_target "$TESTDATA/dlopener" "$lib"
# made here: the background job's redirection may come after the first grep
: >"$TL_TMP/top.out"
"$THREADLEAK" top -b -n 6 -d 0.4 --color=never "$TARGET_PID" \
	>"$TL_TMP/top.out" 2>"$TL_TMP/top.err" </dev/null &
top=$!
register_pid "$top"
deadline=$((SECONDS + 30))
while (($(grep -c '^threadleak top:' "$TL_TMP/top.out") < 2)) && proc_alive "$top" &&
	((SECONDS < deadline)); do
	tl_sleep 0.05
done
grep -q plugin_wait "$TL_TMP/top.out" && error "plugin_wait before the library was loaded"
kill -USR1 "$TARGET_PID"
until has_line "$TARGET_OUT" loaded || ((SECONDS > deadline)); do
	tl_sleep 0.02
done
has_line "$TARGET_OUT" loaded || fail "dlopener did not load $lib: $(head -c 300 "$TARGET_ERR")"
while proc_alive "$top" && ((SECONDS < deadline)); do
	tl_sleep 0.05
done
if proc_alive "$top"; then
	tl_kill_child "$top"
	fail "top -b -n 6 did not end"
fi
unregister_pid "$top"
wait "$top"
rc=$?
((rc == 0)) || fail "top: $(describe_rc $rc): $(first_line "$TL_TMP/top.err")"
last=$(awk '/^threadleak top:/ { f = "" } { f = f $0 "\n" } END { printf "%s", f }' "$TL_TMP/top.out")
grep -Eq '^\*? +1 +\+1 .* plugin_wait \(tlplugin\.c:[0-9]+\)$' <<<"$last" ||
	error "top: the last frame has no plugin_wait group: $(tr '\n' '|' <<<"$last")"
grep -q '^partial' <<<"$last" && error "top: the last frame is partial: $(tr '\n' '|' <<<"$last")"
assert_not_stopped "$TARGET_PID" "after top"
kill_target "$TARGET_PID"

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
