#!/bin/bash
# check: `threadleak check -- CMD` on programs that end in known ways
# (testdata/checkme, testdata/cmocka_leak):
#   - returns with a worker blocked: exit 1, the report names the worker's
#     functions, its wait and where it was created (start_workers);
#   - joins everything: exit 0 and no report;
#   - a detached thread still alive when main returns, that ends (on a
#     signal this script sends) while check holds the exit: exit 0 and no
#     report; the same thread never ending: caught once the grace is over,
#     having waited at least the grace (0.5 s by default, or --grace 2);
#     check -- no timing decides which (the grace is 120 s, or the thread
#     never ends);
#   - fails with its own status (3): that status, report still printed;
#   - leaks in a process a shell started: caught;
#   - a cmocka test binary leaking in one test: the report says the test;
#   - filters, suppressions files, --exit-code, --json, -o, a command
#     killed by a signal (128+N), a missing command (127), usage errors.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata checkme cmocka_leak

# tl_check OUT ARG...: threadleak check ARG..., stdout to OUT, report
# (stderr) to OUT.err; sets TL_RC
tl_check()
{
	local out=$1
	shift
	run_tl "$out" check "$@"
}

expect_rc()	# expect_rc LABEL WANT
{
	((TL_RC == $2)) || error "$1: $(describe_rc "$TL_RC"), expected exit $2: $(first_line "$OUT.err")"
}

has()	# has LABEL FILE PATTERN: an extended regex matches a line of FILE
{
	grep -Eq -- "$3" "$2" || error "$1: no line matching '$3' in: $(head -c 400 "$2")"
}

# ---- a worker left blocked ----
OUT=$TL_TMP/leak
tl_check "$OUT" -- "$TESTDATA/checkme" leak
expect_rc leak 1
has leak "$OUT" '^done leak$'
has leak "$OUT.err" '^threadleak: checkme \(pid [0-9]+\) exited with 1 thread still alive:$'
has leak "$OUT.err" '^1 thread  condvar .* waiting [0-9.]+s$'
has leak "$OUT.err" '^  threads: worker  \[[0-9]+\]$'
has leak "$OUT.err" '^    worker_wait +checkme\.c:[0-9]+'
has leak "$OUT.err" '^    leaked_worker +checkme\.c:[0-9]+'
has leak "$OUT.err" '^  created by:$'
# the creating stack, below "created by:", reaches start_workers and main
created=$(sed -n '/^  created by:/,/^$/p' "$OUT.err")
grep -Eq '^    start_workers +checkme\.c:[0-9]+' <<<"$created" &&
	grep -Eq '^    main +checkme\.c:[0-9]+' <<<"$created" ||
	error "leak: created by does not name start_workers and main: $created"
grep -q 'short_worker' "$OUT.err" && error "leak: the joined worker is reported"
has leak "$OUT.err" '^threadleak: 1 leaked thread in 1 process$'

# ---- clean ----
OUT=$TL_TMP/clean
tl_check "$OUT" -- "$TESTDATA/checkme" clean
expect_rc clean 0
[ -s "$OUT.err" ] && error "clean: a report where there is no leak: $(head -c 300 "$OUT.err")"
has clean "$OUT" '^done clean$'

# ---- a thread that ends while the exit is held: no leak ----
# checkme late-signal: a detached worker waits for SIGUSR1 and main
# returns.  Once its exit is held (main in exit_group), the worker gets the
# signal and ends: check lets the exit go at once, no report.  The grace
# (120 s) only bounds the wait.
in_exit_group()	# in_exit_group PID: its main thread is held in exit_group
{
	local nr
	{ read -r nr _ <"/proc/$1/syscall"; } 2>/dev/null && [ "$nr" = 231 ]
}
start_target_nowait "$THREADLEAK" check --grace 120 -- "$TESTDATA/checkme" late-signal
chk=$TARGET_PID
deadline=$((SECONDS + 60))
until has_line "$TARGET_OUT" "done late-signal" || ! proc_alive "$chk" || ((SECONDS >= deadline)); do
	tl_sleep 0.01
done
cmd=$(awk '/^pid /{ print $2 }' "$TARGET_OUT")
held=0
while [ -n "$cmd" ] && proc_alive "$chk" && ((SECONDS < deadline)); do
	in_exit_group "$cmd" && { held=1; break; }
	tl_sleep 0.01
done
# still held a second later (a 120 s grace): a check that captured at once
# would have reported the worker and let the exit go by then
if ((held)); then
	end=$(($(tl_now_us) + 1000000))
	while (($(tl_now_us) < end)); do
		in_exit_group "$cmd" || { error "late-signal: the exit was let go within 1 s of a 120 s grace"; break; }
		tl_sleep 0.01
	done
	kill -USR1 "$cmd" 2>/dev/null
	deadline=$((SECONDS + 60))
	while proc_alive "$chk" && ((SECONDS < deadline)); do
		tl_sleep 0.01
	done
else
	error "late-signal: the exit was never held (checkme pid '$cmd'): $(first_line "$TARGET_ERR")"
fi
if proc_alive "$chk"; then
	error "late-signal: check still runs 60 s after the worker ended$( ((held)) || echo " (or was never held)")"
	kill_target "$chk"
else
	unregister_pid "$chk"
	wait "$chk"
	rc=$?
	((rc == 0)) || error "late-signal: $(describe_rc "$rc"), expected exit 0: $(first_line "$TARGET_ERR")"
	[ -s "$TARGET_ERR" ] && error "late-signal: a report where there is no leak: $(head -c 300 "$TARGET_ERR")"
	has_line "$TARGET_OUT" "done late-signal" || error "late-signal: no 'done late-signal' in: $(head -c 200 "$TARGET_OUT")"
fi

# ---- the same thread never ending: reported once the grace is over ----
# It blocked before main returned, so it has waited the grace at least.
for grace in default 2; do
	OUT=$TL_TMP/slow-$grace
	if [ $grace = default ]; then
		tl_check "$OUT" -- "$TESTDATA/checkme" late-signal
		grace=0.5
	else
		tl_check "$OUT" --grace "$grace" -- "$TESTDATA/checkme" late-signal
	fi
	label="late-signal, grace $grace"
	expect_rc "$label" 1
	has "$label" "$OUT.err" '^    late_wait +checkme\.c:[0-9]+'
	has "$label" "$OUT.err" '^    until_signal_worker +checkme\.c:[0-9]+'
	waited=$(sed -n 's/^1 thread  signal  waiting \([0-9.]*\)s$/\1/p' "$OUT.err")
	awk -v w="${waited:-x}" -v g="$grace" 'BEGIN { exit !(w ~ /^[0-9.]+$/ && w + 0 >= g) }' ||
		error "$label: the worker is reported waiting '${waited}' s, less than the grace (or no such line): $(grep -m1 '^1 thread' "$OUT.err")"
done

# ---- the command's own failure comes first ----
OUT=$TL_TMP/fail
tl_check "$OUT" -- "$TESTDATA/checkme" fail
expect_rc fail 3
has fail "$OUT.err" 'exited with 1 thread still alive'
OUT=$TL_TMP/signal
tl_check "$OUT" -- sh -c 'kill -TERM $$'
expect_rc "killed by SIGTERM" 143

# ---- a leak in a process started by a shell ----
OUT=$TL_TMP/shell
tl_check "$OUT" -- sh -c "'$TESTDATA/checkme' leak; echo shell-ok"
expect_rc shell 1
has shell "$OUT" '^shell-ok$'
has shell "$OUT.err" '^threadleak: checkme \(pid [0-9]+\) exited with 1 thread still alive:$'
grep -q '^threadleak: sh ' "$OUT.err" && error "shell: the shell itself is reported"

# ---- a C test framework: one test of three leaks ----
OUT=$TL_TMP/cmocka
tl_check "$OUT" -- "$TESTDATA/cmocka_leak"
expect_rc cmocka 1
has cmocka "$OUT.err" 'PASSED.*3 test'
has cmocka "$OUT.err" '^    wait_forever +cmocka_leak\.c:[0-9]+'
has cmocka "$OUT.err" '^1 thread  condvar '
created=$(sed -n '/^  created by:/,/^$/p' "$OUT.err")
grep -Eq '^    test_leaks_worker +cmocka_leak\.c:[0-9]+' <<<"$created" ||
	error "cmocka: created by does not name test_leaks_worker: $created"

# ---- many leaked threads group together ----
OUT=$TL_TMP/many
tl_check "$OUT" -- "$TESTDATA/checkme" many 40
expect_rc many 1
has many "$OUT.err" '^40 threads  condvar'
has many "$OUT.err" 'exited with 40 threads still alive'

# ---- filters ----
for f in "--ignore-top worker_wait" "--ignore leaked_worker" "--ignore-created-by start_workers"; do
	OUT=$TL_TMP/filter
	# shellcheck disable=SC2086
	tl_check "$OUT" $f -- "$TESTDATA/checkme" leak
	expect_rc "$f" 0
	[ -s "$OUT.err" ] && error "$f: still reported: $(first_line "$OUT.err")"
done
OUT=$TL_TMP/filter-miss
tl_check "$OUT" --ignore-top leaked_worker -- "$TESTDATA/checkme" leak
expect_rc "--ignore-top of a frame that is not the top" 1
printf '# known helpers\n\nignore-top   worker_wait\n' >"$TL_TMP/supp"
OUT=$TL_TMP/supp-run
tl_check "$OUT" --suppressions "$TL_TMP/supp" -- "$TESTDATA/checkme" leak
expect_rc "--suppressions" 0
printf 'ignore-top worker_wait\nskip everything\n' >"$TL_TMP/supp-bad"
OUT=$TL_TMP/supp-bad-run
tl_check "$OUT" --suppressions "$TL_TMP/supp-bad" -- "$TESTDATA/checkme" leak
expect_rc "bad suppressions" 64
has "bad suppressions" "$OUT.err" "^threadleak: .*supp-bad:2: expected 'ignore-top FUNC'"

# ---- --exit-code, --json, -o ----
OUT=$TL_TMP/code
tl_check "$OUT" --exit-code 7 -- "$TESTDATA/checkme" leak
expect_rc "--exit-code 7" 7
OUT=$TL_TMP/json
tl_check "$OUT" --json -- "$TESTDATA/checkme" leak
expect_rc "--json" 1
got=$(jq -r '"\(.format) \(.version) \(.status) \(.leaked) " +
	([.processes[].threads[] | "\(.name):\(.wait.kind):" +
	 ([.created_by[].function] | map(select(. == "start_workers")) | length | tostring)] | join(","))' \
	"$OUT.err" 2>&1)
[ "$got" = "threadleak-check 1 0 1 worker:condvar:1" ] || error "--json: '$got'"
OUT=$TL_TMP/ofile
tl_check "$OUT" -o "$TL_TMP/report.txt" -- "$TESTDATA/checkme" leak
expect_rc "-o" 1
has "-o" "$TL_TMP/report.txt" 'exited with 1 thread still alive'
[ -s "$OUT.err" ] && error "-o: the report also went to stderr"

# ---- usage errors and a missing command ----
OUT=$TL_TMP/usage
tl_check "$OUT"
expect_rc "no command" 64
has "no command" "$OUT.err" '^threadleak: check needs a command'
tl_check "$OUT" --grace soon -- true
expect_rc "--grace soon" 64
tl_check "$OUT" -- "$TL_TMP/no-such-program"
expect_rc "missing command" 127
has "missing command" "$OUT.err" '^threadleak: cannot run .*no-such-program: No such file or directory$'
tl_check "$OUT" -- true
expect_rc "true" 0
tl_check "$OUT" -- false
expect_rc "false" 1

finish
