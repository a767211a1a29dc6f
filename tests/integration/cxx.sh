#!/bin/bash
# cxx: C++ code is named as gdb names it: qualified and demangled
# (testdata/cxxleak, threads blocked in app::Queue<int>::pop()):
#   - snapshot: the workers' frames are app::Queue<int>::pop() and
#     app::Worker::run(app::Queue<int>&), no mangled name anywhere;
#   - check: the leak names them, created by app::start_workers(int);
#     --ignore and --ignore-created-by take the qualified name without its
#     parameters, not the bare member name.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata cxxleak

# ---- snapshot ----
start_target "$TESTDATA/cxxleak" wait
snapshot_json "$TARGET_PID" "$TL_TMP/snap.json"
# every thread blocked or spinning in plain code: the snapshot is whole
((TL_RC == 0)) || fail "snapshot: $(describe_rc $TL_RC), expected 0 (whole): $(first_line "$TL_TMP/snap.json.err"); $(jq -c '[.threads[] | select(.partial or .error) | {tid, state, error}]' "$TL_TMP/snap.json" 2>/dev/null | cut -c 1-300)"
jq -e '.partial == false and all(.threads[]; .partial == false)' "$TL_TMP/snap.json" >/dev/null ||
	error "snapshot: exit 0 but marked partial: $(jq -c '{partial, note}' "$TL_TMP/snap.json" 2>/dev/null)"
workers=$(snap_table "$TL_TMP/snap.json" | awk -F'\t' '$5 ~ /Worker/' | wc -l)
((workers == 2)) || error "snapshot: $workers threads in app::Worker, expected 2: $(snap_table "$TL_TMP/snap.json" | cut -f5 | head -3 | tr '\n' '|')"
for fn in 'app::Queue<int>::pop()' 'app::Worker::run(app::Queue<int>&)'; do
	n=$(jq --arg fn "$fn" '[.threads[] | select(any(.frames[]?; .function == $fn))] | length' "$TL_TMP/snap.json")
	((n == 2)) || error "snapshot: $n threads have a frame '$fn', expected 2"
done
mangled=$(jq -r '.threads[].frames[]?.function // empty' "$TL_TMP/snap.json" | grep '^_Z' | head -3)
[ -z "$mangled" ] || error "snapshot: mangled names left: $(tr '\n' ' ' <<<"$mangled")"
assert_not_stopped "$TARGET_PID" "after the snapshot"
kill_target "$TARGET_PID"

# ---- check ----
out=$TL_TMP/check
run_tl "$out" check -- "$TESTDATA/cxxleak" leak
((TL_RC == 1)) || fail "check: $(describe_rc $TL_RC), expected exit 1: $(first_line "$out.err")"
grep -Eq '^    app::Worker::run\(app::Queue<int>&\) +cxxleak\.cc:[0-9]+' "$out.err" ||
	error "check: no app::Worker::run frame in: $(head -c 600 "$out.err")"
created=$(sed -n '/^  created by:/,/^$/p' "$out.err")
grep -Eq '^    app::start_workers\(int\) ' <<<"$created" ||
	error "check: created by lacks app::start_workers(int): $(tr '\n' '|' <<<"$created")"

expect_check()	# expect_check RC ARG...: check ARG... -- cxxleak leak
{
	local want=$1
	shift
	run_tl "$TL_TMP/filter" check "$@" -- "$TESTDATA/cxxleak" leak
	((TL_RC == want)) ||
		error "check $*: $(describe_rc $TL_RC), expected exit $want: $(first_line "$TL_TMP/filter.err")"
}
expect_check 0 --ignore app::Worker::run
expect_check 0 --ignore 'app::Worker::run(app::Queue<int>&)'
expect_check 0 --ignore-top 'app::Queue<int>::pop'
expect_check 0 --ignore-created-by app::start_workers
expect_check 1 --ignore run
expect_check 1 --ignore Worker::run
finish
