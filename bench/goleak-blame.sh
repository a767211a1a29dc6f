#!/bin/bash
# bench/goleak-blame.sh: `threadleak check -- go test` against goleak, test
# by test, on real modules that use goleak (fetched through the Go module
# proxy: `go mod download`), and what check and the goroutine ancestry it
# asks for cost a real suite.  Rerun: bench/goleak-blame.sh [MODULE@VERSION...]
#
# In each package of a module that calls goleak.VerifyTestMain:
#   1. goleak's own verdict on the package, its calls in (a package-wide
#      pass or fail: VerifyTestMain does not say which test leaked);
#   2. goleak per test: VerifyTestMain removed, and
#      `defer goleak.VerifyNone(t, goleak.IgnoreCurrent())` put first in
#      every top-level test function: the tests goleak fails;
#   3. threadleak: goleak's calls removed, the package run under
#      `threadleak check --json`: the tests it blames leaks on.
# A test agrees when both name it or neither does.  Caveats, said in the
# output: goleak per test also fails a test for goroutines that end later
# (check sees the exit) and, under t.Parallel, for another test's; its
# reports of the testing package's own goroutines (a parallel test
# waiting in testing.(*testState).waitParallel, which goleak 1.3's list
# does not know) are not counted as the test's.
#
# Timing (BENCH_TIME_PKG, default the first package; BENCH_REPEAT runs,
# default 5, medians): `go test` alone, with GODEBUG=tracebackancestors=32
# alone, under check (ancestry on, its default) and under check with
# GODEBUG=tracebackancestors=0 (the user's setting, kept).  The test
# binary is built once before (go's build cache), so the times are the
# go command's and the test run's.
#
# Environment: THREADLEAK (default ./threadleak), GO (default go),
# BENCH_REPEAT, BENCH_WORK (a directory kept for a look; default a
# temporary one, removed).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TL=${THREADLEAK:-$ROOT/threadleak}
case $TL in /*) ;; *) TL=$PWD/$TL ;; esac
GO=${GO:-go}
REPEAT=${BENCH_REPEAT:-5}
MODULES=("$@")
((${#MODULES[@]})) || MODULES=(go.uber.org/fx@v1.24.0 github.com/uber-go/tally/v4@v4.1.17 go.uber.org/zap@v1.28.0)
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

if [ -n "${BENCH_WORK:-}" ]; then
	work=$BENCH_WORK
	mkdir -p "$work"
else
	work=$(mktemp -d /tmp/goleak-blame.XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi

# variant DIR KIND: a copy of the module at DIR with goleak's calls
# removed (KIND check) or moved into each test (KIND pertest)
variant()
{
	local dir=$1 kind=$2 f pkg
	for f in $(grep -rl 'goleak\.VerifyTestMain(' "$dir" --include='*_test.go'); do
		pkg=$(sed -n 's/^package \([A-Za-z0-9_]*\).*/\1/p' "$f" | head -1)
		# (goleak kept in use in the file: its import stays valid)
		perl -0pi -e 's/goleak\.VerifyTestMain\(m/noGoleak(m, goleak.IgnoreCurrent()/' "$f"
		cat >"$(dirname "$f")/zz_nogoleak_test.go" <<-GO
		package $pkg

		import (
			"os"
			"testing"

			"go.uber.org/goleak"
		)

		func noGoleak(m *testing.M, _ ...goleak.Option) { os.Exit(m.Run()) }
		GO
	done
	[ "$kind" = pertest ] || return 0
	for f in $(grep -rlE '^func Test[A-Za-z0-9_]*\([a-z]+ \*testing\.T\) \{$' "$dir" --include='*_test.go'); do
		perl -pi -e 's/^(func Test\w*\((\w+) \*testing\.T\) \{)$/$1\n\tdefer goleak.VerifyNone($2, goleak.IgnoreCurrent())/' "$f"
		grep -q '"go.uber.org/goleak"' "$f" ||
			perl -0pi -e 's/^(package \w+\n)/$1\nimport "go.uber.org\/goleak"\n/m' "$f"
	done
}

median()
{
	sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

total_tests=0 total_agree=0
declare -a timing_pkg=()
for mv in "${MODULES[@]}"; do
	src=$("$GO" mod download -json "$mv" | jq -r .Dir) && [ -d "$src" ] ||
		{ echo "$mv: cannot download it" >&2; continue; }
	name=${mv//\//_}
	for kind in orig pertest check; do
		rm -rf "$work/$name-$kind"
		cp -r "$src" "$work/$name-$kind"
		chmod -R u+w "$work/$name-$kind"
		[ $kind = orig ] || variant "$work/$name-$kind" $kind
	done
	modpath=$(cd "$work/$name-orig" && "$GO" list -m)
	pkgs=$(cd "$work/$name-orig" && grep -rl 'goleak\.VerifyTestMain(' . --include='*_test.go' |
		xargs -n1 dirname | sort -u)
	for p in $pkgs; do
		ip=$modpath${p#.}
		[ "$p" = . ] && ip=$modpath
		out=$work/$name-${p//\//_}
		(cd "$work/$name-orig" && "$GO" test -count=1 "$p" >"$out.orig" 2>&1)
		rc=$?
		if grep -q 'found unexpected goroutines' "$out.orig"; then
			orig=leaks
		elif [ $rc = 0 ]; then
			orig=pass
		else
			orig="tests fail, not checked"	# VerifyTestMain checks after a pass only
		fi
		(cd "$work/$name-pertest" && "$GO" test -count=1 -json "$p" >"$out.pertest.json" 2>"$out.pertest.err")
		(cd "$work/$name-check" && "$TL" check --json -o "$out.tl.json" -- "$GO" test -count=1 -json "$p" \
			>"$out.check.json" 2>"$out.check.err")
		# the top-level tests run, goleak's failures, threadleak's blame
		jq -r 'select(.Test != null and (.Test | contains("/") | not) and
			(.Action == "pass" or .Action == "fail" or .Action == "skip")) | .Test' \
			"$out.check.json" | sort -u >"$out.tests"
		# a goroutine of the testing package's own on top (a parallel
		# test waiting, a subtest running: goleak's own list predates
		# testing.(*testState).waitParallel) is not the test's leak
		jq -r 'select(.Test != null and .Action == "output" and
			(.Output | test("\\[Goroutine [0-9]+ in state .*, with [^ ]+ on top")) and
			(.Output | test(", with testing\\.") | not)) | .Test | split("/")[0]' \
			"$out.pertest.json" | sort -u >"$out.goleak"
		jq -r --arg p "$ip" '.processes[] | select(.package == $p) | .tests // {} | keys[]' \
			"$out.tl.json" 2>/dev/null | sort -u >"$out.tl"
		n=$(wc -l <"$out.tests")
		agree=$(while read -r t; do
			a=$(grep -qx "$t" "$out.goleak" && echo 1 || echo 0)
			b=$(grep -qx "$t" "$out.tl" && echo 1 || echo 0)
			[ "$a" = "$b" ] && echo "$t"
		done <"$out.tests" | wc -l)
		unblamed=$(jq --arg p "$ip" '[.processes[] | select(.package == $p) | .not_from_a_test] | add // 0' "$out.tl.json" 2>/dev/null)
		printf '%-40s goleak(VerifyTestMain): %s; tests %d; goleak per test fails %d; threadleak blames %d (+%s on no test); agree %d/%d\n' \
			"$ip" "$orig" "$n" "$(wc -l <"$out.goleak")" "$(wc -l <"$out.tl")" "$unblamed" "$agree" "$n"
		diff "$out.goleak" "$out.tl" | sed -n 's/^< /    goleak only: /p; s/^> /    threadleak only: /p'
		total_tests=$((total_tests + n))
		total_agree=$((total_agree + agree))
		[ ${#timing_pkg[@]} = 0 ] && timing_pkg=("$work/$name-check" "$p")
	done
done
echo "total: $total_agree of $total_tests tests agree"

# ---- timing ----
[ ${#timing_pkg[@]} = 2 ] || exit 0
dir=${timing_pkg[0]} p=${timing_pkg[1]}
cd "$dir" && "$GO" test -count=1 "$p" >/dev/null 2>&1	# builds cached
declare -A t=()
for ((i = 0; i < REPEAT; i++)); do
	for mode in plain ancestry check check-noanc; do
		s=$(date +%s%N)
		case $mode in
		plain) "$GO" test -count=1 "$p" ;;
		ancestry) GODEBUG=tracebackancestors=32 "$GO" test -count=1 "$p" ;;
		check) "$TL" check -- "$GO" test -count=1 "$p" ;;
		check-noanc) GODEBUG=tracebackancestors=0 "$TL" check -- "$GO" test -count=1 "$p" ;;
		esac >/dev/null 2>&1
		t[$mode]+="$(( ($(date +%s%N) - s) / 1000000 )) "
	done
done
echo "timing of go test $p in $(basename "$dir") (median of $REPEAT, ms):"
for mode in plain ancestry check check-noanc; do
	printf '  %-12s %s   (%s)\n' "$mode" "$(tr ' ' '\n' <<<"${t[$mode]}" | grep . | median)" "${t[$mode]}"
done
