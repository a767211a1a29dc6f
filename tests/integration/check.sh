#!/bin/bash
# check: `threadleak check -- CMD` on programs that end in known ways
# (testdata/checkme, testdata/cmocka_leak):
#   - returns with a worker blocked: exit 1, the report names the worker's
#     functions, its wait and where it was created (start_workers);
#   - joins everything, or whose detached thread ends within the grace
#     period: exit 0 and no report; one that ends 2 s later is caught, but
#     not with --grace 6;
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

# ---- clean, and a thread that ends within the grace period ----
for mode in clean late; do
	OUT=$TL_TMP/$mode
	tl_check "$OUT" -- "$TESTDATA/checkme" "$mode"
	expect_rc "$mode" 0
	[ -s "$OUT.err" ] && error "$mode: a report where there is no leak: $(head -c 300 "$OUT.err")"
	has "$mode" "$OUT" "^done $mode\$"
done
# a worker that ends 2 s after main: past the default grace, not past 6 s
OUT=$TL_TMP/slow
tl_check "$OUT" -- "$TESTDATA/checkme" late 2000
expect_rc "late 2000" 1
has "late 2000" "$OUT.err" '^    late_worker +checkme\.c:[0-9]+'
has "late 2000" "$OUT.err" '^1 thread  sleep'
OUT=$TL_TMP/slow6
tl_check "$OUT" --grace 6 -- "$TESTDATA/checkme" late 2000
expect_rc "late 2000, --grace 6" 0

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
