#!/bin/bash
# text-output: the default grouped text output of `snapshot` names the pool
# group with its count (5 threads), the program's functions and the wait
# kinds; `--threads` lists every thread's tid.  Only the essentials are
# checked, not the layout.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata waits

start_target "$TESTDATA/waits"
declare -A KINDS=()
FUNCS=()
while read -r word tid kind func; do
	[ "$word" = expect ] || continue
	KINDS[$kind]=1
	FUNCS+=("$func")
	[ "$kind" = running ] || wait_blocked "$TARGET_PID" "$tid" ||
		fail "thread $tid ($func) never blocked"
done <"$TARGET_OUT"
group_n=$(awk '$1 == "group" { print $2 }' "$TARGET_OUT")
[ -n "$group_n" ] || fail "target printed no group line"

# ---- grouped (default) ----
out=$TL_TMP/grouped.txt
run_tl "$out" snapshot "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "snapshot"
if ((TL_RC != 0)); then
	error "snapshot: $(describe_rc $TL_RC), expected 0: $(first_line "$out.err")"
elif [ ! -s "$out" ]; then
	error "snapshot: printed nothing"
else
	grep -Eq "(^|[^0-9.])$group_n[[:space:]]*(threads|×|x([^0-9a-f]|$))|(^|[[:space:]])[×x][[:space:]]?$group_n([^0-9]|$)" "$out" ||
		error "snapshot: no count line for the group of $group_n pool_worker threads (\"$group_n threads\")"
	n=$(grep -c pool_worker "$out")
	((n >= 1)) || error "snapshot: pool_worker not mentioned"
	((n < group_n)) ||
		error "snapshot: pool_worker on $n lines: the $group_n identical threads are not grouped"
	for f in "${FUNCS[@]}"; do
		grep -q -- "$f" "$out" || error "snapshot: function $f not mentioned"
	done
	for k in "${!KINDS[@]}"; do
		grep -qw -- "$k" "$out" || error "snapshot: wait kind $k not mentioned"
	done
fi

# ---- per thread ----
out=$TL_TMP/threads.txt
run_tl "$out" snapshot --threads "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "snapshot --threads"
if ((TL_RC != 0)); then
	error "snapshot --threads: $(describe_rc $TL_RC), expected 0: $(first_line "$out.err")"
else
	for tid in $(task_tids "$TARGET_PID"); do
		grep -qw -- "$tid" "$out" || error "snapshot --threads: tid $tid not listed"
	done
	n=$(grep -c pool_worker "$out")
	((n >= group_n)) ||
		error "snapshot --threads: pool_worker on $n lines, expected one per thread ($group_n)"
fi

proc_alive "$TARGET_PID" || error "the target died"
finish
