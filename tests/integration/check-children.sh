#!/bin/bash
# check-children: what `threadleak check` keeps per process of the
# command's tree is bounded by what it reports, not by how many processes
# made threads.  testdata/checkme children N forks N children that are
# all alive at once, each having made a thread that it leaks at its exit:
# every one is reported (N sections, "N leaked threads in N processes"),
# and check's peak RSS (testdata/maxrss, checked on dd's 64 MiB buffer)
# for 1,000 children stays within 48 KB a child of its peak for 20.
# Before, each live process that had made a thread held its own
# symbolizer, memory reader and unwinder until its exit, and each report
# a 100 KB string pool: about 400 KB a child.  The children end by
# themselves (the parent lets them go once all are ready) and check
# returns once they all have; 1,000 is fewer than "thousands" because each
# exit is captured (about 40 ms of CPU each).
. "$(dirname "$0")/../lib.sh"

need_cmd dd
need_threadleak
need_testdata checkme maxrss

# freed memory in AddressSanitizer's quarantine is the sanitizer's cost
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
check_rss_measure
# a hang guard: 1,000 captured exits take a minute or two on a loaded
# machine, more under AddressSanitizer
TL_RSS_TIMEOUT=${TL_CHECK_CHILDREN_TIMEOUT:-900}

# children N: check on checkme children N; its report counted; sets RSS_KB
children()
{
	local out=$TL_TMP/children$1 n
	rss_of "$out" "$THREADLEAK" check -- "$TESTDATA/checkme" children "$1"
	((TL_RC == 1)) || fail "children $1: $(describe_rc $TL_RC), expected exit 1: $(tail -n 1 "$out.err")"
	grep -qx "children $1 ready" "$out" || error "children $1: the children were not all alive at once: $(head -n 1 "$out")"
	n=$(grep -c '^threadleak: checkme (pid [0-9]*) exited with 1 thread still alive:$' "$out.err")
	((n == $1)) || error "children $1: $n processes reported, expected $1"
	grep -qx "threadleak: $1 leaked threads in $1 processes" "$out.err" ||
		error "children $1: the summary is '$(tail -n 1 "$out.err")'"
}

children 20
small=$RSS_KB
children 1000
note "check's peak RSS: $small KB for 20 children, $RSS_KB KB for 1000"
((RSS_KB > 0 && RSS_KB <= small + 980 * 48)) ||
	error "check with 1000 live children that made a thread: peak RSS $RSS_KB KB, over $small KB (20 children) + 48 KB for each of the 980 more"
finish
