#!/bin/bash
# tests/fuzz/run.sh: build a libFuzzer harness and fuzz it.  Six targets
# (FUZZ_TARGET): snapshot (default: the snapshot file reader,
# tests/fuzz/fuzz_snapshot.c, seeds in tests/fuzz/corpus), ignore
# (check's suppressions parser and matcher, tests/fuzz/fuzz_ignore.c, seeds
# in tests/fuzz/corpus-ignore), perfmap (a JIT's perf map,
# tests/fuzz/fuzz_perfmap.c), elfcode (.eh_frame_hdr and PLT entries of
# an ELF file, tests/fuzz/fuzz_elfcode.c), seeds in corpus-TARGET, and
# export (pprof, folded and metrics of what the snapshot reader accepts,
# tests/fuzz/fuzz_export.c, the snapshot seeds), and jval (the snapshot
# reader's JSON parser against jansson, tests/fuzz/fuzz_jval.c).
#
#	tests/fuzz/run.sh                 fuzz for FUZZ_SECONDS (default 20)
#	tests/fuzz/run.sh --replay [FILE...]
#	                                  run every corpus file (or FILEs) once
#
# Builds build/fuzz/fuzz_TARGET with clang (-fsanitize=fuzzer,address,
# undefined).  Fuzzing works on a copy of the corpus in a temporary
# directory: new inputs never go into the repository.  A crash, a leak, a
# timeout or an out-of-memory stops it; its reproducer is kept under
# build/fuzz/artifacts/ and named, with its first bytes, at the end of the
# output.  Replay one with: tests/fuzz/run.sh --replay FILE
#
# Exit: 0 clean, 1 a finding (or the harness does not build), 77 skipped
# (no clang or no libFuzzer runtime: make deps-test, or apt-get install
# clang libclang-rt-14-dev), 64 usage.
#
# Environment: FUZZ_TARGET (snapshot, ignore, perfmap or elfcode), FUZZ_SECONDS (default 20),
# CLANG (default clang), FUZZ_ARGS (more libFuzzer flags, e.g.
# "-use_value_profile=1").

set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fuzzdir=$root/tests/fuzz
out=$root/build/fuzz
target=${FUZZ_TARGET:-snapshot}
libs=()
# What every harness links from src/: util.c and what it calls, and the
# snapshot's reader and writer (every src/model/snapshot*.c, so that a split of
# that module needs no change here)
util=("$root/src/base/util.c" "$root/src/base/fdlimit.c")
snapshot=("$root/src/model"/snapshot*.c "$root/src/model/cgroup.c" "$root/src/base/jval.c" "$root/src/base/escape.c" "${util[@]}")
case $target in
snapshot)
	corpus=$fuzzdir/corpus
	dict=$fuzzdir/snapshot.dict
	sources=("${snapshot[@]}")
	;;
ignore)
	corpus=$fuzzdir/corpus-ignore
	dict=$fuzzdir/ignore.dict
	sources=("$root/src/check/ignore.c" "$root/src/model/group.c" "$root/src/model/labels.c" "${snapshot[@]}"
		"$root/build/gen/runtimes-supp.c")
	;;
perfmap)
	corpus=$fuzzdir/corpus-perfmap
	dict=$fuzzdir/perfmap.dict
	sources=("$root/src/stacks/perfmap.c" "${util[@]}")
	;;
export)
	# the snapshot reader's seeds, then the exports of what it accepts
	corpus=$fuzzdir/corpus
	dict=$fuzzdir/snapshot.dict
	sources=("${snapshot[@]}" "$root/src/model/group.c" "$root/src/model/labels.c"
		"$root/src/export/pprof.c" "$root/src/export/folded.c" "$root/src/export/metrics.c"
		"$root/src/export/gotext.c" "$root/src/export/index.c"
		"$root/src/export/keytab.c" "$root/build/gen/profile.pb-c.c")
	libs=(-I"$root/build/gen" $(pkg-config --cflags --libs libprotobuf-c zlib))
	;;
jval)
	# jval's parser against jansson, on the snapshot reader's seeds
	corpus=$fuzzdir/corpus
	dict=$fuzzdir/snapshot.dict
	sources=("$root/src/base/jval.c")
	;;
elfcode)
	corpus=$fuzzdir/corpus-elfcode
	dict=$fuzzdir/elfcode.dict
	sources=("$root/src/stacks/elfcode.c")
	libs=(-lelf)
	;;
*) echo "fuzz: FUZZ_TARGET is snapshot, ignore, perfmap, elfcode, export or jval, not '$target'" >&2; exit 64 ;;
esac
bin=$out/fuzz_$target
clang=${CLANG:-clang}
seconds=${FUZZ_SECONDS:-20}
mode=fuzz

say() { echo "fuzz: $*"; }
usage()
{
	echo "usage: tests/fuzz/run.sh [--replay [FILE...]]" >&2
	exit 64
}

case ${1:-} in
--replay) mode=replay; shift ;;
-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
"") ;;
*) usage ;;
esac
[ "$mode" = fuzz ] && (($#)) && usage
# (libFuzzer takes -max_total_time=0 as "forever")
case $seconds in
'' | *[!0-9]* | 0 | 0*) say "FUZZ_SECONDS must be a positive whole number of seconds, not '$seconds'"; exit 64 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# ---- can this machine build a libFuzzer target at all? ----

if ! command -v "$clang" >/dev/null 2>&1; then
	say "skipped: $clang not found (make deps-test, or as root: apt-get install clang libclang-rt-14-dev)"
	exit 77
fi
cat >"$tmp/probe.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
EOF
if ! "$clang" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" >"$tmp/probe.log" 2>&1; then
	say "skipped: $clang cannot build a libFuzzer program (no fuzzer runtime?): $(grep -m1 -i 'error' "$tmp/probe.log" | cut -c 1-200)"
	say "install it with make deps-test, or as root: apt-get install clang libclang-rt-14-dev"
	exit 77
fi

# ---- build ----

if ! pkg-config --exists jansson 2>/dev/null; then
	say "cannot build the harness: jansson not found by pkg-config (make deps-test)"
	exit 1
fi
mkdir -p "$out" || exit 1
if [ "$target" = export ] && ! make -C "$root" -s build/gen/profile.pb-c.c >"$tmp/build.log" 2>&1; then
	say "cannot make pprof's message code (protoc-c):"
	sed 's/^/    /' "$tmp/build.log" | head -20
	exit 1
fi
if [ "$target" = ignore ] && ! make -C "$root" -s build/gen/runtimes-supp.c >"$tmp/build.log" 2>&1; then
	say "cannot make the default list's C file:"
	sed 's/^/    /' "$tmp/build.log" | head -20
	exit 1
fi
# build to a temporary name and rename, so that a concurrent run never
# executes a half-written binary
# shellcheck disable=SC2046	# pkg-config output is meant to split
if ! "$clang" -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	-D_GNU_SOURCE -Wall -Wextra -Werror -I"$root/src" \
	-o "$bin.tmp.$$" "${sources[@]}" "$fuzzdir/fuzz_$target.c" \
	$(pkg-config --cflags --libs jansson) "${libs[@]}" -lm >"$tmp/build.log" 2>&1; then
	rm -f "$bin.tmp.$$"
	say "cannot build the harness:"
	sed 's/^/    /' "$tmp/build.log" | head -40
	exit 1
fi
mv -f "$bin.tmp.$$" "$bin" || exit 1

# libFuzzer exits 77 on a crash by default, the same as "skip": give it
# codes of its own (it exits 71 on running out of memory, 72 on SIGINT).
# Leaks are findings; UBSan reports stop at the first.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1
# shellcheck disable=SC2206	# FUZZ_ARGS is a list of flags
flags=(-error_exitcode=99 -timeout_exitcode=98 -timeout=10 -rss_limit_mb=2048
	-max_len=65536 -dict="$dict" ${FUZZ_ARGS:-})

# first_bytes FILE: its first 64 bytes on one line, control bytes as ^X,
# bytes above 0x7f as M-x, newlines as \n
first_bytes()
{
	head -c 64 "$1" | LC_ALL=C cat -vT | sed ':a; N; $!ba; s/\n/\\n/g'
}

# report_artifacts: move the reproducers out of $tmp, name them; sets
# repro to the first one (relative to the repository), or ""
repro=
report_artifacts()
{
	local f
	mkdir -p "$out/artifacts"
	for f in "$tmp"/artifacts/*; do
		[ -f "$f" ] || continue
		case ${f##*/} in slow-unit-*) continue ;; esac
		mv -f "$f" "$out/artifacts/" || continue
		f=$out/artifacts/${f##*/}
		say "reproducer: ${f#"$root"/} (first bytes: $(first_bytes "$f"))"
		[ -n "$repro" ] || repro=${f#"$root"/}
	done
	[ -n "$repro" ] || say "no reproducer was written; see the log above"
}

# ---- replay ----

if [ "$mode" = replay ]; then
	files=("$@")
	((${#files[@]})) || files=("$corpus"/*)
	mkdir -p "$tmp/artifacts"
	"$bin" "${flags[@]}" -artifact_prefix="$tmp/artifacts/" "${files[@]}" >"$tmp/log" 2>&1
	rc=$?
	if ((rc != 0)); then
		grep -v '^Running:\|^Executed ' "$tmp/log" | tail -n 60
		last=$(grep -m1 '^Running:' <(tac "$tmp/log") | cut -d' ' -f2-)
		[ -n "$last" ] && say "reproducer: ${last#"$root"/} (first bytes: $(first_bytes "$last"))"
		say "FAILED: the harness failed (exit $rc)${last:+ on ${last#"$root"/}}"
		exit 1
	fi
	say "replayed ${#files[@]} inputs: no crash, no leak"
	exit 0
fi

# ---- fuzz ----

mkdir -p "$tmp/corpus" "$tmp/artifacts" || exit 1
cp "$corpus"/* "$tmp/corpus/" || exit 1
seeds=$(find "$tmp/corpus" -type f | wc -l)
# libFuzzer stops itself after max_total_time; the outer timeout only
# guards against a harness so stuck that its own watchdog cannot fire
timeout -k 10 $((seconds + 120)) "$bin" "${flags[@]}" \
	-max_total_time="$seconds" -print_final_stats=1 \
	-artifact_prefix="$tmp/artifacts/" "$tmp/corpus" >"$tmp/log" 2>&1
rc=$?

final_stat() { sed -n "s/^stat::$1: *//p" "$tmp/log" | tail -n 1; }
runs=$(final_stat number_of_executed_units)
speed=$(final_stat average_exec_per_sec)
added=$(final_stat new_units_added)
cov=$(grep -o 'cov: [0-9]*' "$tmp/log" | tail -n 1)

if ((rc != 0)); then
	grep -v '^#[0-9]' "$tmp/log" | tail -n 60
	case $rc in
	98) why="an input timed out (over 10 s)" ;;
	71) why="an input ran out of memory (over 2048 MB)" ;;
	72) why="interrupted" ;;
	124 | 137) why="the fuzzer hung (killed after $((seconds + 120)) s)" ;;
	99) if grep -q 'ERROR: LeakSanitizer' "$tmp/log"; then
		why="a leak"
	    elif grep -q 'out-of-memory' "$tmp/log"; then
		why="an input asked for too much memory at once (over 2048 MB)"
	    else
		why="a crash"
	    fi ;;
	*) why="exit $rc" ;;
	esac
	report_artifacts
	say "FAILED: $why after ${runs:-?} runs${repro:+; replay with tests/fuzz/run.sh --replay $repro}"
	exit 1
fi
say "$target, ${seconds}s: ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-cov: ?}, $seeds seeds + ${added:-?} new inputs; no crash, no leak"
exit 0
