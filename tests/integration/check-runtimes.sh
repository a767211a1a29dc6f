#!/bin/bash
# check-runtimes: `threadleak check` on Go, Java and Python programs, whose
# runtimes keep threads of their own until the exit:
#   - Go, with every Go toolchain here (Debian's golang-go, 1.19, and the
#     newest, /usr/local/go): a program whose main returns with goroutines
#     blocked and the runtime's Ms alive exits 0 with no report, and so does
#     one that calls os.Exit from a goroutine, stripped too; with the
#     default ignores off, the Ms are reported once (not a storm: Go's
#     preemption signal restarts the held exit_group, also without
#     SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV), named and unwound through
#     the binary's own table even when stripped; a pthread that C code
#     called through cgo leaves behind is reported; `go test` on a package
#     that leaks nothing exits 0, on one whose test leaves a goroutine
#     blocked exits 1 naming it and where it was started (as goleak), and
#     a program's goroutines left at main's return only with --goroutines;
#   - Java (`java Hello.java`): clean exits 0 (the JVM's dozen threads are
#     ignored, and reported with --no-default-ignores); a daemon thread in
#     Thread.sleep is reported, with a word on the unnamed JIT frames;
#   - Python: clean exits 0, a daemon thread is reported;
#   - glibc's timer helper thread is not a leak.
# No check depends on how long anything takes: under the ASan build, with
# a cold Go build cache, on a loaded machine, `go test` under check takes
# what it takes.  Each run has a hang guard only (TL_SNAP_TIMEOUT, 240 s
# here, under the runner's 300 s for the whole test); how long each took
# is in the notes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_threadleak
need_testdata checkme
src=$TL_ROOT/testdata
TL_SNAP_TIMEOUT=${TL_CHECK_TIMEOUT:-240}

# tl_check_timed OUT ARG...: threadleak check ARG...; sets TL_RC and ELAPSED
# (seconds, a decimal: for the messages, never compared)
tl_check_timed()
{
	local out=$1 t0
	shift
	t0=$(tl_now_us)
	run_tl "$out" check "$@"
	ELAPSED=$(seconds_since "$t0" 0)
}

expect()	# expect LABEL WANT_RC OUT: the exit status (124: it hung)
{
	((TL_RC == $2)) || error "$1: $(describe_rc "$TL_RC"), expected exit $2 (${ELAPSED}s): $(first_line "$3.err")"
}

reports()	# reports FILE: how many processes a report names
{
	grep -c ' exited with [0-9]* threads\? still alive' "$1"
}

no_report()	# no_report LABEL OUT
{
	[ -s "$2.err" ] && error "$1: a report where nothing leaked: $(head -c 400 "$2.err")"
}

# ---- Go ----
gos=()
while IFS= read -r g; do
	gos+=("$g")
done < <(go_toolchains)
((${#gos[@]})) || error "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"

export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
for g in "${gos[@]}"; do
	v=$(go_version "$g")
	for variant in plain stripped; do
		flags=()
		[ $variant = stripped ] && flags=(-ldflags=-s\ -w)
		bin=$TL_TMP/exits-$v-$variant
		(cd "$src/go" && "$g" build "${flags[@]}" -o "$bin" ./exits) 2>"$TL_TMP/build.err" ||
			{ error "$v: cannot build testdata/go/exits: $(head -c 300 "$TL_TMP/build.err")"; continue; }
		for mode in done osexit; do
			OUT=$TL_TMP/go-$v-$variant-$mode
			tl_check_timed "$OUT" -- "$bin" $mode
			expect "$v $variant $mode" 0 "$OUT"
			has_line "$OUT" done || error "$v $variant $mode: no 'done' from the program"
			no_report "$v $variant $mode" "$OUT"
			note "$v $variant $mode: ${ELAPSED}s"
		done
		# The Ms reported, once each exit, however often the held
		# exit_group is restarted (old kernels' way, forced here).
		OUT=$TL_TMP/go-$v-$variant-ms
		THREADLEAK_NO_KILLABLE_RECV=1 tl_check_timed "$OUT" --no-default-ignores -- "$bin" done
		expect "$v $variant, Ms reported" 1 "$OUT"
		n=$(reports "$OUT.err")
		[ "$n" = 1 ] || error "$v $variant: $n reports of one exit, expected 1"
		note "$v $variant, Ms reported: ${ELAPSED}s"
		grep -Eq '^    runtime\.futex ' "$OUT.err" && grep -Eq '^    runtime\.(mcall|mstart) ' "$OUT.err" ||
			error "$v $variant: the Ms' stacks do not run from runtime.futex to runtime.mcall or mstart: $(head -c 600 "$OUT.err")"
		grep -q 'partial' "$OUT.err" && error "$v $variant: a partial stack: $(grep -m1 partial "$OUT.err")"
	done

	# A pthread left by C code called through cgo: the program's own.
	# (cgoleak returns once its C thread runs: the thread is in c_worker)
	bin=$TL_TMP/cgoleak-$v
	if ! command -v gcc >/dev/null; then
		partial "$v: the cgo program: no gcc here to build it"
	elif ! (cd "$src/go" && CGO_ENABLED=1 "$g" build -o "$bin" ./cgoleak) 2>"$TL_TMP/build.err"; then
		error "$v: cannot build testdata/go/cgoleak: $(head -c 300 "$TL_TMP/build.err")"
	else
		OUT=$TL_TMP/cgo-$v
		tl_check_timed "$OUT" -- "$bin"
		expect "$v cgo" 1 "$OUT"
		grep -q ' exited with 1 thread still alive' "$OUT.err" &&
			grep -Eq '^    c_worker ' "$OUT.err" ||
			error "$v cgo: the C worker is not the one thread reported: $(head -c 500 "$OUT.err")"
	fi

	# go test on a package whose tests pass and leak nothing; the go
	# command, compile, link, vet and the test binary all exit under check.
	OUT=$TL_TMP/gotest-$v
	(cd "$src/go" && tl_check_timed "$OUT" -- "$g" test -count=1 ./sum; echo "$TL_RC $ELAPSED" >"$OUT.rc")
	read -r TL_RC ELAPSED <"$OUT.rc"
	expect "$v go test" 0 "$OUT"
	grep -q '^ok' "$OUT" || error "$v go test: no 'ok' line: $(head -c 300 "$OUT")"
	no_report "$v go test" "$OUT"
	note "$v: go test under check ${ELAPSED}s"

	# A test that passes but leaves a goroutine blocked: caught, as
	# goleak.VerifyTestMain would, with where it was started; not with
	# --no-goroutines.
	OUT=$TL_TMP/goleak-$v
	(cd "$src/go" && tl_check_timed "$OUT" -- "$g" test -count=1 ./leaktest; echo "$TL_RC $ELAPSED" >"$OUT.rc")
	read -r TL_RC ELAPSED <"$OUT.rc"
	expect "$v go test, a leaked goroutine" 1 "$OUT"
	grep -q 'leaktest.test (pid [0-9]*) exited with 1 goroutine still alive' "$OUT.err" &&
		grep -Eq '^    threadleak.test/testdata/leaktest.leakyHelper.func1 +leak_test.go:10' "$OUT.err" &&
		sed -n '/created by/,/^$/p' "$OUT.err" | grep -Eq 'leaktest.leakyHelper +leak_test.go:10' ||
		error "$v go test, a leaked goroutine: not reported with its stack and creator: $(head -c 700 "$OUT.err")"
	OUT=$TL_TMP/goleak-off-$v
	(cd "$src/go" && tl_check_timed "$OUT" --no-goroutines -- "$g" test -count=1 ./leaktest; echo "$TL_RC $ELAPSED" >"$OUT.rc")
	read -r TL_RC ELAPSED <"$OUT.rc"
	expect "$v go test --no-goroutines" 0 "$OUT"
	# a program that is not a test: goroutines left at main's return are
	# normal in Go, reported only with --goroutines
	bin=$TL_TMP/exits-$v-plain
	OUT=$TL_TMP/go-goroutines-$v
	tl_check_timed "$OUT" --goroutines -- "$bin" done
	expect "$v --goroutines" 1 "$OUT"
	grep -q 'exited with 3 goroutines still alive' "$OUT.err" ||
		error "$v --goroutines: the three blocked senders are not reported: $(first_line "$OUT.err")"
done

# ---- Java ----
if command -v java >/dev/null; then
	OUT=$TL_TMP/java-clean
	tl_check_timed "$OUT" -- java "$src/Hello.java"
	expect "java clean" 0 "$OUT"
	has_line "$OUT" hi || error "java clean: no 'hi'"
	no_report "java clean" "$OUT"
	OUT=$TL_TMP/java-all
	tl_check_timed "$OUT" --no-default-ignores -- java "$src/Hello.java"
	expect "java, --no-default-ignores" 1 "$OUT"
	grep -Eq 'exited with ([5-9]|[1-9][0-9]+) threads still alive' "$OUT.err" ||
		error "java, --no-default-ignores: the JVM's own threads are not reported: $(first_line "$OUT.err")"
	OUT=$TL_TMP/java-daemon
	tl_check_timed "$OUT" -- java "$src/Hello.java" daemon
	expect "java daemon" 1 "$OUT"
	grep -Eq 'exited with 1 thread still alive \(and [0-9]+ ignored\):' "$OUT.err" &&
		grep -q '^  threads: leaky-sleeper ' "$OUT.err" &&
		grep -Eq '^    JVM_Sleep ' "$OUT.err" &&
		grep -q 'code generated at run time.*JVM.*not named' "$OUT.err" ||
		error "java daemon: the sleeper is not the one thread reported, with JVM_Sleep and the JIT note: $(head -c 800 "$OUT.err")"
else
	error "no java here: make check installs default-jdk-headless (scripts/deps.sh)"
fi

# ---- Python ----
if command -v python3 >/dev/null; then
	OUT=$TL_TMP/py-clean
	tl_check_timed "$OUT" -- python3 "$src/pydaemon.py"
	expect "python clean" 0 "$OUT"
	no_report "python clean" "$OUT"
	OUT=$TL_TMP/py-daemon
	tl_check_timed "$OUT" -- python3 "$src/pydaemon.py" daemon
	expect "python daemon" 1 "$OUT"
	grep -q ' exited with 1 thread still alive' "$OUT.err" &&
		grep -Eq '^1 thread  sleep ' "$OUT.err" ||
		error "python daemon: the sleeping thread is not reported: $(head -c 500 "$OUT.err")"
else
	error "no python3 here: make check installs it (scripts/deps.sh)"
fi

# ---- glibc's own helper thread ----
OUT=$TL_TMP/timer
tl_check_timed "$OUT" -- "$TESTDATA/checkme" timer
expect "glibc timer helper" 0 "$OUT"
no_report "glibc timer helper" "$OUT"
OUT=$TL_TMP/timer-all
tl_check_timed "$OUT" --no-default-ignores -- "$TESTDATA/checkme" timer
expect "glibc timer helper, --no-default-ignores" 1 "$OUT"
grep -Eq '^    timer_helper_thread ' "$OUT.err" ||
	error "glibc timer helper: not named timer_helper_thread when reported: $(head -c 500 "$OUT.err")"

finish
