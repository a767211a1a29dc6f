#!/bin/bash
# diff-input: what `threadleak diff` is given to read.  Input that is not
# a snapshot is refused at its first bytes, however much of it there is:
# /dev/zero, /dev/urandom, a 1 GB file of random bytes, an endless stream
# of spaces through a fifo (read to the 1 GiB bound, never held) each get
# one line naming the file and exit 2, in little memory; a regular file
# over 1 GiB (a snapshot with 1 GiB of spaces in it) is read, in little
# memory: its size is known, what is kept is bounded by its entries.  A large valid
# snapshot (50,000 threads) diffed with itself is read whole, in memory
# about the size of its text, not the many times more that a JSON tree of
# it costs.  Memory is the peak RSS the kernel reports to wait4(2), read
# by testdata/maxrss (what /usr/bin/time -f %M prints, without needing
# it), itself checked first on dd's 64 MiB buffer; time is only bounded by
# hang guards.
. "$(dirname "$0")/../lib.sh"

need_cmd jq awk mkfifo tr truncate dd
need_threadleak
need_testdata maxrss

good=$TESTDATA/diff-before.snap
[ -r "$good" ] || fail "missing $good"
# hang guard, seconds: the AddressSanitizer build reads the 1 GiB of the
# fifo in about 4 s and the large snapshot in about 10 s
guard=${TL_DIFF_INPUT_TIMEOUT:-300}
# Freed memory waits in AddressSanitizer's quarantine (256 MB) before it
# is reused: that is the sanitizer's cost, not the reader's.  Other builds
# ignore this.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0

TL_RSS_TIMEOUT=$guard
# The measure itself, through the same timeout
check_rss_measure

# diff_rss OUT ARG...: threadleak diff ARG... under the hang guard; sets
# TL_RC and RSS_KB (peak resident memory, KB)
diff_rss()
{
	local out=$1
	shift
	rss_of "$out" "$THREADLEAK" diff "$@"
}

# Refusing reads the first bytes and a 64 KiB buffer; the reader of the
# whole file took 1 GB for each of these.  The bound is the program itself
# with room to spare (the release build takes about 4 MB, the
# AddressSanitizer build about 10 MB).
refuse_kb=65536

# refused LABEL FILE REGEX: diff FILE with a good snapshot is refused
# with one line 'threadleak: FILE: ...' matching REGEX, exit 2, in little
# memory
refused()
{
	local label=$1 f=$2 re=$3 out=$TL_TMP/refused
	diff_rss "$out" "$f" "$good"
	if ((TL_RC != 2)); then
		error "$label: $(describe_rc $TL_RC), expected 2: $(first_line "$out.err")"
		return
	fi
	if (($(wc -l <"$out.err") != 1)) || ! grep -q "^threadleak: $f: " "$out.err"; then
		error "$label: expected one line 'threadleak: $f: ...', got: $(head -c 300 "$out.err" | tr '\n' '|')"
	elif ! grep -Eq -- "$re" "$out.err"; then
		error "$label: message does not match /$re/: $(first_line "$out.err")"
	fi
	((RSS_KB > 0 && RSS_KB <= refuse_kb)) ||
		error "$label: peak RSS ${RSS_KB} KB, expected at most $refuse_kb KB"
}

notsnap='not a threadleak snapshot: invalid JSON at line 1 column [0-9]+: '
refused "/dev/zero" /dev/zero "$notsnap'\{' expected near byte 0x00\$"
# random bytes: the first may be blank, '{', '[' or a digit (a few in a
# hundred), so only the refusal is fixed, not its words
refused "/dev/urandom" /dev/urandom 'not a threadleak snapshot: '

# 1 GB of random bytes, all but the first 64 KiB a hole: nothing on disk
big=$TL_TMP/random-1g.snap
{ printf '\260'; head -c 65535 /dev/urandom; } >"$big" || fail "cannot write $big"
truncate -s 1000000000 "$big" || fail "cannot make $big 1 GB long"
refused "1 GB of random bytes" "$big" "$notsnap"
rm -f "$big"

# spaces without end through a fifo: read to the 1 GiB bound, in a buffer
# that does not grow.  tr is its writer, killed (by pid) on exit if it
# still waits.
fifo=$TL_TMP/spaces.fifo
mkfifo "$fifo" || fail "cannot make a fifo"
tr '\0' ' ' </dev/zero >"$fifo" &
register_pid $!
refused "endless spaces through a fifo" "$fifo" \
	'too large to be a threadleak snapshot \(over 1 GiB\)$'

# a regular file over 1 GiB is read: its size is known and what is kept
# is bounded by its entries, not by its text (1 GiB of spaces inside a
# real snapshot, diffed with the one it was made of: the same report, in
# the memory of a small snapshot)
spacious=$TL_TMP/spacious.snap
{ printf '{'; head -c $(((1 << 30) + 65536)) /dev/zero | tr '\0' ' '; tail -c +2 "$good"; } >"$spacious" ||
	fail "cannot write $spacious"
diff_rss "$TL_TMP/spacious" "$spacious" "$good"
if ((TL_RC != 0)); then
	error "a 1 GiB regular file: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/spacious.err")"
else
	grep -q '^threads: \([0-9]*\) -> \1 (+0)' "$TL_TMP/spacious" ||
		error "a 1 GiB regular file: not read as the snapshot it holds: $(head -n 3 "$TL_TMP/spacious" | tr '\n' '|')"
	((RSS_KB > 0 && RSS_KB <= refuse_kb)) ||
		error "a 1 GiB regular file: peak RSS ${RSS_KB} KB, expected at most $refuse_kb KB"
fi
rm -f "$spacious"

# ---- a large valid snapshot ----

# 50,000 threads: the threads of a real snapshot over and over, each with
# a tid of its own, written compact as threadleak writes it
n=${TL_DIFF_INPUT_THREADS:-50000}
large=$TL_TMP/large.snap
{
	jq -c 'del(.threads)' "$TESTDATA/diff-after.snap" &&
	jq -c '.threads[] | del(.tid)' "$TESTDATA/diff-after.snap"
} | awk -v n="$n" '
	NR == 1 { head = substr($0, 1, length($0) - 1); next }
	{ t[k++] = substr($0, 2) }
	END {
		printf "%s,\"threads\":[", head
		for (i = 0; i < n; i++)
			printf "%s{\"tid\":%d,%s", (i ? "," : ""), 1000000 + i, t[i % k]
		print "]}"
	}' >"$large" || fail "cannot write the large snapshot"
size_kb=$(($(stat -c %s "$large") / 1024))

# The kept snapshot costs under 0.4 times its text (a thread's struct,
# its frames' array, each distinct string once: 125 MB for a 324 MB text
# of 200,000 threads), and diff keeps two of them and their groups: 1.0
# times the text measured (79 MB for 79 MB), AddressSanitizer's build 1.3.
# Allowed: 1.5 times the text, plus the program.  A JSON tree of the whole
# text took 10 times it (820 MB for this diff, 3.3 GB for 324 MB).
limit_kb=$((size_kb * 3 / 2 + refuse_kb))
out=$TL_TMP/large
diff_rss "$out" "$large" "$large"
if ((TL_RC != 0)); then
	error "large snapshot diffed with itself: $(describe_rc $TL_RC), expected 0: $(first_line "$out.err")"
else
	grep -q "^before: $large (leakyserver, pid [0-9]*, $n threads)\$" "$out" &&
	grep -q "^after:  $large (leakyserver, pid [0-9]*, $n threads)\$" "$out" &&
	grep -q "^threads: $n -> $n (+0); 0 groups grew by 1 or more (0 new), 0 vanished\$" "$out" ||
		error "large snapshot: expected '$n threads' read on both sides, got: $(head -n 3 "$out" | tr '\n' '|')"
	((RSS_KB > 0 && RSS_KB <= limit_kb)) ||
		error "large snapshot: peak RSS ${RSS_KB} KB for ${size_kb} KB of text, expected at most $limit_kb KB"
fi
note "large snapshot: $n threads, ${size_kb} KB of text, peak RSS ${RSS_KB} KB (bound $limit_kb KB)"
finish
