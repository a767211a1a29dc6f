#!/bin/bash
# check-go-blame: `threadleak check -- go test` names, for each leaked
# goroutine, the test that started it, and reports nothing goleak would
# not.  testdata/go/blame holds two packages (so `go test ./...` runs two
# test binaries) whose tests leak directly, through a helper whose
# goroutine ended (a chain of two go statements), in a subtest, under
# t.Parallel, or leak nothing: end their goroutines, call signal.Notify
# (os/signal's loop, which goleak ignores), release 60 goroutines as the
# last test returns (woken, not leaked).  Each test prints what it leaks
# ("expect-leak TestName N", as `defer goleak.VerifyNone(t)` in it would
# judge: a subtest's leaks are its test's): the oracle, test by test,
# against the JSON report's per-test counts.  With every Go toolchain
# here:
#   - the default run: every test's count equal, nothing unblamed, each
#     binary named by its package path, the text grouped by test;
#   - GOMAXPROCS=1: the same, and the 60 released goroutines (runnable,
#     unable to run at the held exit) counted as woken, not as leaks;
#   - the user's GODEBUG kept (the program prints what it was given), and
#     their own tracebackancestors=0 kept: then only a goroutine a test
#     started itself is blamed, by its creator, and said so.
# No timing decides anything: each run has a hang guard only.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq
need_threadleak
TL_SNAP_TIMEOUT=${TL_CHECK_TIMEOUT:-240}
src=$TL_ROOT/testdata/go
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

# go_check OUT GO [ENV...]: threadleak check --json -o OUT.json -- go test
# -v ./blame/... in testdata/go, with ENV; stdout to OUT; sets TL_RC
go_check()
{
	local out=$1 g=$2
	shift 2
	(cd "$src" && env "$@" timeout -k 5 "$TL_SNAP_TIMEOUT" "$THREADLEAK" check --json \
		-o "$out.json" -- "$g" test -count=1 -v ./blame/... >"$out" 2>"$out.err" </dev/null
	 echo $? >"$out.rc")
	read -r TL_RC <"$out.rc"
}

# compare LABEL OUT: the report's per-test counts against what each test
# says it leaked
compare()
{
	local label=$1 out=$2 want got
	want=$(sed -n 's/^expect-leak \(Test[A-Za-z0-9]*\) \([0-9]*\)$/\1 \2/p' "$out" | sort)
	[ "$(wc -l <<<"$want")" = 9 ] ||
		{ error "$label: $(wc -l <<<"$want") tests said what they leak, expected 9: $(head -c 300 "$out")"; return; }
	# every test the program names, with the report's count (0: none)
	got=$(jq -r --arg want "$want" '
		([.processes[].tests // {} | to_entries[]] | from_entries) as $t
		| $want | split("\n")[] | split(" ")[0] | "\(.) \($t[.] // 0)"' "$out.json" | sort)
	[ "$want" = "$got" ] ||
		error "$label: per-test leaks differ (test, count; < said by the tests, > reported): $(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
	n=$(jq '[.processes[].not_from_a_test] | add' "$out.json")
	[ "$n" = 0 ] || error "$label: $n leaked goroutines blamed on no test"
	pk=$(jq -r '[.processes[].package] | sort | join(" ")' "$out.json")
	[ "$pk" = "threadleak.test/testdata/blame/pool threadleak.test/testdata/blame/release" ] ||
		error "$label: the test binaries are not named by their packages: '$pk'"
}

gos=()
while IFS= read -r g; do
	gos+=("$g")
done < <(go_toolchains)
((${#gos[@]})) || error "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"

for g in "${gos[@]}"; do
	v=$(go_version "$g")

	# ---- the default run ----
	OUT=$TL_TMP/blame-$v
	go_check "$OUT" "$g"
	((TL_RC == 1)) || { error "$v: $(describe_rc "$TL_RC"), expected exit 1: $(head -c 400 "$OUT.err") $(tail -c 300 "$OUT")"; continue; }
	compare "$v" "$OUT"
	a=$(jq '[.processes[].ancestry] | all' "$OUT.json")
	[ "$a" = true ] || error "$v: a test binary's goroutines carry no ancestry (GODEBUG not set?)"
	grep -qx 'godebug tracebackancestors=[0-9]*' "$OUT" ||
		error "$v: the test binary was not given tracebackancestors: $(grep '^godebug' "$OUT")"
	# the text: grouped by test, the binary by its package, ids as ids
	OUT=$TL_TMP/blame-text-$v
	(cd "$src" && run_tl "$OUT" check -- "$g" test -count=1 ./blame/pool; echo "$TL_RC" >"$OUT.rc")
	read -r TL_RC <"$OUT.rc"
	((TL_RC == 1)) || error "$v text: $(describe_rc "$TL_RC"), expected exit 1"
	for line in '^threadleak: package threadleak\.test/testdata/blame/pool: pool\.test \(pid [0-9]+\) exited with 10 goroutines still alive' \
		    '^TestPoolLeaks leaked 4 goroutines:$' \
		    '^TestSub leaked 2 goroutines \(in subtest TestSub\.func1; ' \
		    '^TestParallelA leaked 2 goroutines:$' \
		    '^  goroutine ids: [0-9]+ [0-9]+ [0-9]+ [0-9]+$'; do
		grep -Eq -- "$line" "$OUT.err" || error "$v text: no line matching '$line': $(head -c 600 "$OUT.err")"
	done
	grep -Eq 'os/signal|TestSignal|TestClean' "$OUT.err" &&
		error "$v text: a goroutine goleak would not report: $(grep -Em2 'os/signal|TestSignal|TestClean' "$OUT.err")"

	# ---- GOMAXPROCS=1: the released goroutines cannot run ----
	OUT=$TL_TMP/blame1-$v
	go_check "$OUT" "$g" GOMAXPROCS=1
	((TL_RC == 1)) || { error "$v GOMAXPROCS=1: $(describe_rc "$TL_RC"), expected exit 1: $(head -c 400 "$OUT.err")"; continue; }
	compare "$v GOMAXPROCS=1" "$OUT"
	w=$(jq '[.processes[] | select(.package == "threadleak.test/testdata/blame/release") | .woken] | add' "$OUT.json")
	((w >= 1 && w <= 60)) || error "$v GOMAXPROCS=1: $w goroutines counted as woken in the release test, expected 1 to 60"
	note "$v GOMAXPROCS=1: $w of the 60 released goroutines woken, not run, at the exit"

	# ---- the user's GODEBUG ----
	OUT=$TL_TMP/blame-godebug-$v
	go_check "$OUT" "$g" GODEBUG=madvdontneed=1
	grep -qx 'godebug madvdontneed=1,tracebackancestors=[0-9]*' "$OUT" ||
		error "$v: the user's GODEBUG not kept: $(grep '^godebug' "$OUT")"
	compare "$v GODEBUG=madvdontneed=1" "$OUT"
	OUT=$TL_TMP/blame-noanc-$v
	go_check "$OUT" "$g" GODEBUG=tracebackancestors=0
	grep -qx 'godebug tracebackancestors=0' "$OUT" ||
		error "$v: the user's tracebackancestors=0 not kept: $(grep '^godebug' "$OUT")"
	# without ancestry: TestLeakDirect's goroutine by its creator, the
	# ones a helper's goroutine started on no test
	got=$(jq -c '[.processes[].threads[] | select(.test == "TestLeakDirect") | .test_by_creator]' "$OUT.json")
	[ "$got" = '[true]' ] || error "$v tracebackancestors=0: TestLeakDirect's goroutine not blamed by its creator: $got"
	n=$(jq '[.processes[].not_from_a_test] | add' "$OUT.json")
	((n >= 6)) || error "$v tracebackancestors=0: $n goroutines on no test, expected at least the 6 that helpers' goroutines started"
done

finish
