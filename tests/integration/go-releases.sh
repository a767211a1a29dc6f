#!/bin/bash
# go-releases: threadleak's goroutines against the program's own dump on
# every Go release it reads, 1.19 to the newest (GO_RELEASES in
# tests/go-lib.sh: Debian's 1.19, the others from the module proxy as
# scripts/deps.sh test fetched them into TL_GO_CACHE), each built three
# ways: plain, -ldflags=-w and -ldflags='-s -w' (27 builds, kept in
# TL_GO_BUILDS by toolchain, variant and source hash: a warm run builds
# nothing).  For each, testdata/go/leaky -n 3 -requests 5 is snapshot
#   - with THREADLEAK_GO_LAYOUT=check: the built-in layouts, the DWARF's
#     (plain) and the type descriptors' must agree on every field (31 of
#     g, gobuf, m, pollDesc, sudog, semaRoot);
#   - as threadleak reads it by default: go_layouts "built-in";
#   - as it reads a Go newer than its tables (THREADLEAK_GO_LAYOUT=newer):
#     from the DWARF of the plain build, from the runtime's own type
#     descriptors (go/layout-types.c) of the two without DWARF;
#   - the plain build read from its type descriptors too
#     (THREADLEAK_GO_LAYOUT=types);
# and each snapshot must give the goroutines of the program's own debug=2
# dump, taken just after (ids, statuses, wait reasons, frames, creators,
# parents: compare_with_dump), and what the leaks wait on (check_waits:
# the pollDesc and sudog layouts).  Last, read as a newer Go again, every
# goroutine, the runtime's own among them, with every frame, as the
# runtime's own dump says (compare_with_system_dump; the process ends).
# tl: once
# tl: timeout 900
# (warm, 60-80 s on 2 cores; cold, with an empty GOCACHE and no builds
# kept, each toolchain compiles the standard library: 372 s)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq python3
need_threadleak

t0=$(tl_now_us)
builds=0 snaps=0 systems=0 checks=0
for want in $GO_RELEASES; do
	if ! go_release_toolchain "$want"; then
		error "$want: $LEAKY_ERROR (scripts/deps.sh test fetches it)"
		continue
	fi
	go=$GO_FETCHED
	v=$(go_version "$go")
	[ "$(go_minor "$v")" = "$(go_minor "$want")" ] ||
		{ error "$want: $go runs as '$v'"; continue; }
	for variant in plain nodwarf stripped; do
		what="$v $variant"
		build_leaky_cached "$go" $variant || { error "$LEAKY_ERROR"; continue; }
		builds=$((builds + 1))
		start_leaky "$LEAKY_BIN" -n 3 -requests 5
		# every field of the layouts, from each source the build has
		want=built-in=types
		[ $variant = plain ] && want=built-in=dwarf=types
		json=$TL_TMP/$v-$variant-check.json
		THREADLEAK_GO_LAYOUT=check snapshot_json "$LEAKY_PID" "$json"
		got=$(jq -r .go_layouts "$json" 2>&1)
		if ((TL_RC != 0)) || [ "$got" != "$want" ]; then
			error "$what: layouts checked: $(describe_rc "$TL_RC"), '$got', expected exit 0, '$want': $(first_line "$json.err")"
		else
			checks=$((checks + 1))
		fi
		newer=types
		[ $variant = plain ] && newer=dwarf
		reads=("||built-in" "newer|newer|$newer")
		[ $variant = plain ] && reads+=("types|types|types")
		for r in "${reads[@]}"; do
			IFS='|' read -r name how layouts <<<"$r"
			label="$what${name:+ ($name)}"
			json=$TL_TMP/$v-$variant-${name:-default}.json
			THREADLEAK_GO_LAYOUT=$how snapshot_json "$LEAKY_PID" "$json"
			if ((TL_RC != 0)); then
				error "$label: snapshot: $(describe_rc "$TL_RC"): $(first_line "$json.err")"
				continue
			fi
			snaps=$((snaps + 1))
			got=$(jq -r '"\(.runtime) \(.go_layouts) \(.partial)"' "$json" 2>&1)
			[ "$got" = "$v $layouts false" ] ||
				error "$label: runtime, layouts, partial: '$got', expected '$v $layouts false'"
			check_waits "$label" "$json"
			compare_with_dump "$label" "$json" "$LEAKY_PID"
		done
		# read as a newer Go: every goroutine, the runtime's own too,
		# and every frame, as the runtime's own dump says (the
		# process ends there)
		THREADLEAK_GO_LAYOUT=newer compare_with_system_dump "$what (newer)" "$LEAKY_PID" &&
			systems=$((systems + 1))
		kill_target "$LEAKY_PID"
	done
done
at_least "$builds" 27 "builds of testdata/go/leaky"
at_least "$snaps" 63 "snapshots compared with the program's dump"
at_least "$checks" 27 "builds whose layouts agree field by field"
at_least "$systems" 27 "snapshots compared with the runtime's own dump"
note "$builds builds, $snaps snapshots compared with the program's dump, $systems with the runtime's, took $(seconds_since "$t0" 0)s"
finish
