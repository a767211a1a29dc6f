#!/bin/bash
# rust: a Rust program (testdata/rustleak.rs, built here when rustc is
# present, else skipped), with legacy and v0 symbol mangling:
#   - no thread is stopped although Rust's standard library keeps frame
#     pointers (src/stacks/fpguess.c), and every stack is whole (exit 0);
#   - names are demangled as gdb shows them, without Rust's hash suffix;
#   - functions nested in namespaces, as rustc emits them, get their
#     inline frames and lines: rustleak::worker at rustleak.rs, with the
#     inlined std Condvar::wait inside it;
#   - `check` catches the worker that `rustleak exit` leaves behind, and
#     says it was created by rustleak::start_worker.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
command -v rustc >/dev/null || skip "no rustc here"

for mangling in legacy v0; do
	bin=$TL_TMP/rustleak-$mangling
	flags=()	# legacy is rustc's default (naming it is unstable)
	[ $mangling = v0 ] && flags=(-C symbol-mangling-version=v0)
	rustc -g -O "${flags[@]}" -o "$bin" \
		"$(dirname "$0")/../../testdata/rustleak.rs" 2>"$TL_TMP/rustc.err" ||
		fail "rustc cannot build rustleak ($mangling): $(head -c 300 "$TL_TMP/rustc.err")"
	start_target "$bin"
	json=$TL_TMP/$mangling.json
	snapshot_json "$TARGET_PID" "$json"
	((TL_RC == 0)) || error "$mangling: $(describe_rc $TL_RC): $(first_line "$json.err")"
	stopped=$(jq '.threads_stopped' "$json")
	[ "$stopped" = 0 ] || error "$mangling: $stopped threads stopped, expected none"
	# no mangled name left, no hash suffix
	bad=$(jq -r '.threads[].frames[].function // empty' "$json" |
		grep -E '^_(R|ZN)|::h[0-9a-f]{16}$' | head -3 | tr '\n' '|')
	[ -z "$bad" ] || error "$mangling: names left mangled: $bad"
	# the workers: rustleak::worker at its own line, std's Condvar::wait inlined in it
	got=$(jq -r '[.threads[] | select([.frames[].function] | index("rustleak::worker")) |
		.frames | (map(.function) | index("rustleak::worker")) as $i |
		"\(.[$i].file | split("/") | last):\(.[$i].line > 0) \(.[$i - 1].inlined) \(.[$i - 1].function)"] |
		unique | join("|")' "$json")
	[[ $got == "rustleak.rs:true true "*Condvar*wait* ]] ||
		error "$mangling: rustleak::worker frames: '$got', expected it at rustleak.rs with an inlined Condvar::wait above"
	n=$(jq '[.threads[] | select([.frames[].function] | index("rustleak::worker"))] | length' "$json")
	((n == 3)) || error "$mangling: $n threads in rustleak::worker, expected 3"
	jq -e '[.threads[].frames[].function] | index("rustleak::main")' "$json" >/dev/null ||
		error "$mangling: no rustleak::main frame"
	assert_not_stopped "$TARGET_PID" "$mangling"
	kill_target "$TARGET_PID"

	out=$TL_TMP/check-$mangling
	run_tl "$out" check -- "$bin" exit
	((TL_RC == 1)) || error "$mangling: check: $(describe_rc $TL_RC), expected 1 (a leak): $(first_line "$out.err")"
	grep -qx 'done exit' "$out" || error "$mangling: check: the program's output is missing"
	grep -Eq '^    rustleak::worker +rustleak\.rs:[0-9]+' "$out.err" ||
		error "$mangling: check: the leaked worker's stack does not name rustleak::worker"
	created=$(sed -n '/^  created by:/,/^$/p' "$out.err")
	grep -Eq '^    rustleak::start_worker +rustleak\.rs:[0-9]+' <<<"$created" &&
		grep -Eq '^    rustleak::main ' <<<"$created" ||
		error "$mangling: check: created by does not name rustleak::start_worker and main: $(head -c 600 <<<"$created")"
done
finish
