#!/bin/bash
# fuzz-snapshot: the snapshot reader (snapshot_from_json) survives
# TL_FUZZ_SECONDS (default 20) of libFuzzer with ASan/UBSan/LSan, every
# document it accepts writes and reads back to the same text, and the seed
# corpus replays cleanly (tests/fuzz/run.sh).  Skipped without clang and its
# fuzzer runtime.  It does not use the threadleak binary, so it fuzzes once:
# with the first variant, not again with the ASan build.
. "$(dirname "$0")/../lib.sh"

case $THREADLEAK in
*asan/threadleak) skip "fuzzing runs once, with the first variant" ;;
esac

log=$TL_TMP/fuzz.log
FUZZ_SECONDS=${TL_FUZZ_SECONDS:-20} "$TL_ROOT/tests/fuzz/run.sh" >"$log" 2>&1
rc=$?
case $rc in
0)
	note "$(tail -n 1 "$log")"
	exit 0
	;;
77)
	reason=$(sed -n 's/^fuzz: skipped: //p' "$log" | head -n 1)
	skip "${reason:-$(tail -n 1 "$log")}"
	;;
*)
	reason=$(grep '^fuzz: ' "$log" | tail -n 1)
	fail "${reason:-tests/fuzz/run.sh: exit $rc}"$'\n'"$(tail -n 40 "$log" | sed 's/^/  /')"
	;;
esac
