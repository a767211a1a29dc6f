#!/bin/bash
# go-frames: a goroutine's frames, and the groups they make, as Go's own
# traceback and pprof show them.  testdata/go/frames (see its comment) is
# built with each Go toolchain here (Debian's 1.19, whose go statement
# wrappers are named funcN; /usr/local/go's newest, gowrapN), default and
# -ldflags='-s -w', and parks goroutines under:
#   - a go statement `go func(x int) {` whose call `}(i)` closes lines
#     below, in main and in a method: the compiler's wrapper is hidden (Go
#     knows it by its funcID, FuncIDWrapper; its line is not the go
#     statement's), the closure shown;
#   - a closure without arguments (no wrapper: shown), a method started
#     with an argument (its wrapper hidden);
#   - a generic function instantiated with int and string: named
#     main.genericOuter[...] as Go prints it, one group of 3;
#   - reflect.Value.Call: runtime.call16 and runtime.reflectcall (the
#     wrappers that call the function) hidden;
#   - 12 calls of one function deep, frames of 512 bytes and more: the
#     stack's top read with its g (2 KiB) is not all of it, the rest read
#     after it, every frame there.
# Checked against the program's own dumps (tests/go-oracle.py):
#   - threadleak's JSON goroutines: the same ids, statuses, wait reasons,
#     frames, creators and parents as debug=2;
#   - threadleak's text groups: the same groups, counts and frames as
#     debug=1 (debug=1 keys groups by pc: genericOuter's two
#     instantiations are two groups there with the same frames printed;
#     go-oracle.py merges groups that print the same);
#   - each group of the program's table ("expect FUNCTION COUNT") is one
#     group of COUNT in the text; no frame of a wrapper, call16 or shape;
#   - every frame of every goroutine, the runtime's too, against the
#     runtime's own dump at GOTRACEBACK=system (the process stopped in
#     between), down to the line of the innermost runtime.gopark;
#   - a wait of 1 minute is worded "1 minutes", as pprof and Go's
#     traceback word it (a saved snapshot with the minutes set, through
#     export --format text).
# tl: once
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3
need_threadleak

gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"

# (the goroutine that writes the dumps, and the signal loop that hands it
# the signal, run in between: left out)
MOVING=$'^1\t|internal/dump\\.Write |os/signal\\.'
# (in groups, column 1 is a count: main's group by its frame)
MOVING_GROUPS=$'(\t|;)main\\.main |os/signal\\.'

# build_frames GO VARIANT OUT: testdata/go/frames built (plain: default;
# stripped: -ldflags='-s -w'); 1 with the reason in LEAKY_ERROR.
build_frames()
{
	local flags=()
	[ "$2" = stripped ] && flags=("-ldflags=-s -w")
	(cd "$TL_ROOT/testdata/go" &&
		GOTOOLCHAIN=local GOFLAGS=-buildvcs=false "$1" build "${flags[@]}" -o "$3" ./frames) \
		>"$3.build-err" 2>&1 ||
		{ LEAKY_ERROR="$(go_version "$1") $2: cannot build testdata/go/frames: $(head -c 300 "$3.build-err")"; return 1; }
}

for go in $gos; do
	v=$(go_version "$go")
	for variant in plain stripped; do
		label="$v $variant"
		bin=$TL_TMP/frames-$v-$variant
		build_frames "$go" "$variant" "$bin" || { error "$LEAKY_ERROR"; continue; }
		start_leaky "$bin"
		pid=$LEAKY_PID
		json=$TL_TMP/$v-$variant.json
		snapshot_json "$pid" "$json"
		((TL_RC == 0)) || error "$label: snapshot: $(describe_rc "$TL_RC"): $(first_line "$json.err")"
		run_tl "$TL_TMP/$v-$variant.txt" snapshot "$pid"
		((TL_RC == 0)) || error "$label: text snapshot: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/$v-$variant.txt.err")"
		dump_leaky "$pid" || { error "$label: $LEAKY_ERROR"; kill_target "$pid"; continue; }

		# JSON against debug=2, goroutine by goroutine
		ours=$TL_TMP/$v-$variant.ours theirs=$TL_TMP/$v-$variant.theirs
		go_oracle threadleak "$json" | cut -f1-7 | grep -Ev "$MOVING" >"$ours" ||
			error "$label: go-oracle cannot read threadleak's snapshot"
		go_oracle debug2 "$LEAKY_DUMP2" | cut -f1-7 | grep -Ev "$MOVING" >"$theirs" ||
			error "$label: go-oracle cannot read the program's debug=2 dump"
		cmp -s "$ours" "$theirs" ||
			error "$label: JSON goroutines differ from debug=2 (< threadleak, > Go): $(diff "$ours" "$theirs" | grep '^[<>]' | head -4 | cut -c 1-300 | tr '\n' '|')"
		at_least "$(grep -c . "$theirs")" 11 "$label: goroutines compared with debug=2"

		# text groups against debug=1
		go_oracle text "$TL_TMP/$v-$variant.txt" | grep -Ev "$MOVING_GROUPS" >"$ours.groups" ||
			error "$label: go-oracle cannot read threadleak's text"
		go_oracle debug1 "$LEAKY_DUMP1" | grep -Ev "$MOVING_GROUPS" >"$theirs.groups" ||
			error "$label: go-oracle cannot read the program's debug=1 dump"
		cmp -s "$ours.groups" "$theirs.groups" ||
			error "$label: text groups differ from debug=1 (< threadleak, > Go): $(diff "$ours.groups" "$theirs.groups" | grep '^[<>]' | head -4 | cut -c 1-300 | tr '\n' '|')"

		# the program's table: one group each, of its count
		n=0
		while read -r func count; do
			n=$((n + 1))
			got=$(awk -F'\t' -v f="$func" 'index(";" $2 ";", ";" f " ") { print $1 }' "$ours.groups" | tr '\n' ' ')
			[ "$got" = "$count " ] || error "$label: text: groups of $func: '$got', expected one of $count"
		done < <(leaky_expect "$pid")
		((n == 7)) || error "$label: the program printed $n expect lines, expected 7"
		bad=$(jq -r '.threads[] | select(.goid) | .frames[]?.function // empty' "$json" |
			grep -E '\.gowrap[0-9]+$|^runtime\.(call[0-9]+|reflectcall)$|go\.shape' | sort -u | tr '\n' ' ')
		[ -z "$bad" ] || error "$label: frames Go does not show: $bad"

		# every frame against the runtime's own dump
		stop_leaky "$pid" || { error "$label: $LEAKY_ERROR"; kill_target "$pid"; continue; }
		snapshot_json "$pid" "$json.stopped"
		rc=$TL_RC
		system_dump "$pid" || { error "$label: $LEAKY_ERROR"; kill_target "$pid"; continue; }
		((rc == 0)) || error "$label: snapshot of the stopped process: $(describe_rc "$rc")"
		go_oracle system-compare "$json.stopped" "$SYSTEM_DUMP" "$LEAKY_DUMP2" >"$TL_TMP/sc" 2>&1
		case $? in
		0) ;;
		1) error "$label: against the runtime's own dump: $(grep '^differ:' "$TL_TMP/sc" | head -3 | cut -c 1-400 | tr '\n' '|')" ;;
		*) error "$label: go-oracle system-compare: $(head -c 300 "$TL_TMP/sc")" ;;
		esac
		if [[ $(tail -n 1 "$TL_TMP/sc") =~ ^compared\ [0-9]+\ goroutines.*\ ([0-9]+)\ frames ]]; then
			at_least "${BASH_REMATCH[1]}" 90 "$label: frames compared with the runtime's dump"
		else
			error "$label: go-oracle system-compare: no summary: $(tail -n 1 "$TL_TMP/sc")"
		fi
		# the innermost runtime.gopark of those parked, with its line
		parked=$(go_oracle system "$SYSTEM_DUMP" | awk -F'\t' '$5 ~ /^runtime\.gopark proc\.go:[0-9]+;/' | wc -l)
		at_least "$parked" 15 "$label: goroutines parked in runtime.gopark compared (line too)"
		note "$label: $(tail -n 1 "$TL_TMP/sc")"
	done
done

# "1 minutes", as Go says it: a saved snapshot whose goroutines have
# waited 1.5 minutes, shown again as text, grouped and one by one
if [ -s "$json" ]; then
	jq '.threads |= map(if .goid then .go_minutes = 1.5 else . end)' "$json" >"$TL_TMP/minutes.json" ||
		error "jq cannot rewrite the snapshot"
	run_tl "$TL_TMP/minutes.txt" export -f text --color never "$TL_TMP/minutes.json"
	((TL_RC == 0)) || error "export -f text: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/minutes.txt.err")"
	grep -q '^3 goroutines  chan receive  1 minutes$' "$TL_TMP/minutes.txt" ||
		error "grouped text: no '3 goroutines  chan receive  1 minutes': $(grep -m1 '^3 goroutines' "$TL_TMP/minutes.txt")"
	run_tl "$TL_TMP/minutes-t.txt" export -f text -t --color never "$TL_TMP/minutes.json"
	((TL_RC == 0)) || error "export -f text -t: $(describe_rc "$TL_RC")"
	grep -q '^goroutine [0-9]* \[chan receive, 1 minutes\]:' "$TL_TMP/minutes-t.txt" ||
		error "per goroutine: no '[chan receive, 1 minutes]': $(grep -m1 '^goroutine ' "$TL_TMP/minutes-t.txt")"
else
	error "no snapshot to check the minutes' wording with"
fi

finish
