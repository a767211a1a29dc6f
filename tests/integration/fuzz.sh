#!/bin/bash
# fuzz: the parsers of files a user hands threadleak survive libFuzzer with
# ASan/UBSan/LSan (tests/fuzz/run.sh), and their seed corpora replay
# cleanly:
#   - snapshot: the snapshot reader (snapshot_from_json), for
#     TL_FUZZ_SECONDS (default 20); every document it accepts writes and
#     reads back to the same text;
#   - ignore: check's suppressions parser and matcher, for half that; the
#     same text gives the same rules, '*' agrees with a reference;
#   - perfmap: a JIT's perf map, as a target writes it, for half that;
#   - elfcode: .eh_frame_hdr and the PLT of an ELF file, for half that.
# Skipped without clang and its fuzzer runtime.  It does not use the
# threadleak binary, so it fuzzes once: with the first variant, not again
# with the ASan build.
# tl: once
. "$(dirname "$0")/../lib.sh"

seconds=${TL_FUZZ_SECONDS:-20}
for target in snapshot ignore perfmap elfcode export jval; do
	log=$TL_TMP/fuzz-$target.log
	s=$seconds
	[ $target != snapshot ] && s=$(((seconds + 1) / 2))
	FUZZ_TARGET=$target FUZZ_SECONDS=$s "$TL_ROOT/tests/fuzz/run.sh" >"$log" 2>&1
	rc=$?
	case $rc in
	0)
		note "$(tail -n 1 "$log")"
		;;
	77)
		reason=$(sed -n 's/^fuzz: skipped: //p' "$log" | head -n 1)
		skip "${reason:-$(tail -n 1 "$log")}"
		;;
	*)
		reason=$(grep '^fuzz: ' "$log" | tail -n 1)
		fail "$target: ${reason:-tests/fuzz/run.sh: exit $rc}"$'\n'"$(tail -n 40 "$log" | sed 's/^/  /')"
		;;
	esac
	FUZZ_TARGET=$target "$TL_ROOT/tests/fuzz/run.sh" --replay >"$log" 2>&1 ||
		fail "$target: the seed corpus does not replay cleanly: $(tail -n 1 "$log")"
done
finish
