#!/bin/bash
# go-churn: goroutines that come and go by the thousand while threadleak
# reads them.  testdata/go/busy -churn 4: four churners each start 16
# short-lived goroutines (main.shortLived: two calls deep, a yield, gone),
# wait for them, and start 16 more, without end; 3 goroutines stay parked.
# For each Go toolchain here (Debian's 1.19, /usr/local/go's newest), 60
# snapshots in a row, and every one must:
#   - exit 0, with no goroutine partial (one that moved while read is
#     read again; one that ended meanwhile is gone, not partial);
#   - have every goroutine that lives throughout (the parked ones and the
#     churners, by the ids the program printed), each with its function in
#     its frames (a churner running has them from a stop of its thread);
#   - count each thread stopped once (a goroutine that parked before its
#     thread's stop is read again, in another stop if it runs again) and
#     remake each one's entry from its stop (stopped: true); leave none
#     stopped.
# At least one snapshot must have caught short-lived goroutines (there are
# tens alive at any time): otherwise nothing churned while it read.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq
need_threadleak

gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
ROUNDS=60

for go in $gos; do
	v=$(go_version "$go")
	bin=$TL_TMP/busy-$v
	if ! (cd "$TL_ROOT/testdata/go" &&
		GOTOOLCHAIN=local GOFLAGS=-buildvcs=false "$go" build -o "$bin" ./busy) >"$bin.build-err" 2>&1; then
		error "$v: cannot build testdata/go/busy: $(head -c 300 "$bin.build-err")"
		continue
	fi
	start_target "$bin" -spin 0 -n 3 -churn 4
	pid=$TARGET_PID
	# "goid FUNCTION ID": the goroutines that live throughout
	lasting=$(awk '$1 == "goid" { printf "%s%s:%s", sep, $3, $2; sep = "," }' "$TARGET_OUT")
	[ "$(tr ',' '\n' <<<"$lasting" | grep -c .)" = 7 ] ||
		error "$v: the program printed '$lasting', expected 7 goroutine ids"
	caught=0
	for round in $(seq "$ROUNDS"); do
		json=$TL_TMP/$v-$round.json
		snapshot_json "$pid" "$json"
		assert_not_stopped "$pid" "$v: snapshot $round"
		if ((TL_RC != 0)); then
			error "$v: snapshot $round: $(describe_rc "$TL_RC"), expected 0: $(first_line "$json.err"); partial: $(jq -c '[.threads[] | select(.partial) | {goid, go_wait, error, frames: [.frames[].function]}]' "$json" 2>&1 | head -c 400)"
			continue
		fi
		got=$(jq -r --arg lasting "$lasting" '
			($lasting | split(",") | map(split(":") | {id: (.[0] | tonumber), fn: .[1]})) as $want |
			[.threads[] | select(.goid)] as $gs |
			([$gs[] | select(.partial)] | length) as $partial |
			([$want[] | . as $w | select([$gs[] | select(.goid == $w.id and
				any(.frames[]; .function == $w.fn))] | length != 1) |
				"\(.fn) \(.id)"] | join(" ")) as $missing |
			([$gs[] | select(.stopped)] | length) as $gstopped |
			([.threads[] | select((.goid | not) and .stopped)] | length) as $tstopped |
			([$gs[] | select(any(.frames[]; .function == "main.shortLived"))] | length) as $short |
			"\($partial)|\($missing)|\($gstopped)|\($tstopped)|\(.threads_stopped)|\($short)"' "$json" 2>&1)
		IFS="|" read -r partial missing gstopped tstopped stopped short <<<"$got"
		[ "$partial" = 0 ] ||
			error "$v: snapshot $round: $partial goroutines partial: $(jq -c '[.threads[] | select(.goid and .partial) | {goid, go_wait, error, frames: [.frames[].function]}]' "$json" | head -c 400)"
		[ -z "$missing" ] ||
			error "$v: snapshot $round: goroutines that live throughout missing or without their function: $missing"
		[[ $gstopped =~ ^[0-9]+$ && $stopped =~ ^[0-9]+$ ]] &&
			((stopped == tstopped)) ||
			error "$v: snapshot $round: threads_stopped $stopped, $tstopped thread entries stopped, $gstopped goroutines stopped for ($got)"
		((short > 0)) && caught=$((caught + 1))
	done
	at_least "$caught" 1 "$v: snapshots that caught short-lived goroutines (of $ROUNDS)"
	kill_target "$pid"
done
finish
