#!/bin/bash
# waits: every thread of testdata/waits (built -O2 and -O0) is classified as
# the program says, its own function is on its stack, mutex owners are
# found, the pool threads have one identical stack; with both unwinders;
# the text names the deadlock of deadlock_a and deadlock_b in one line.
# The target is never left stopped.  (undisturbed.sh checks for EINTR,
# blocked-time.sh the blocked_sec values.)
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata waits waits-O0

# parse_expectations FILE: fills EXP_KIND[tid], EXP_FUNC[tid], EXP_OWNER[tid],
# GROUP_N / GROUP_FUNC from the target's "expect/owner/group" lines.
parse_expectations()
{
	local word a b c
	EXP_KIND=() EXP_FUNC=() EXP_OWNER=() GROUP_N=0 GROUP_FUNC=
	while read -r word a b c; do
		case $word in
		expect) EXP_KIND[$a]=$b EXP_FUNC[$a]=$c ;;
		owner) EXP_OWNER[$a]=$b ;;
		group) GROUP_N=$a GROUP_FUNC=$b ;;
		esac
	done <"$1"
	((${#EXP_KIND[@]} >= 20)) || fail "target printed only ${#EXP_KIND[@]} expect lines"
	((GROUP_N > 1)) || fail "target printed no group line"
}

# check_snapshot LABEL JSON: compare one snapshot with the expectations.
check_snapshot()
{
	local label=$1 json=$2 tid state kind owner funcs live_tids snap_tids_
	local -A S_KIND=() S_OWNER=() S_FUNCS=()
	local group_sig= group_count=0

	if ! snap_valid "$json" "$TARGET_PID"; then
		error "$label: not a threadleak snapshot of pid $TARGET_PID: $(head -c 200 "$json")"
		return
	fi
	while IFS=$'\t' read -r tid state kind owner funcs; do
		S_KIND[$tid]=$kind S_OWNER[$tid]=$owner S_FUNCS[$tid]=$funcs
	done < <(snap_table "$json")

	# the snapshot has exactly the target's threads
	live_tids=$(task_tids "$TARGET_PID" | tr '\n' ' ')
	snap_tids_=$(snap_tids "$json" | tr '\n' ' ')
	[ "$live_tids" = "$snap_tids_" ] ||
		error "$label: threads [$snap_tids_] but the target has [$live_tids]"

	for tid in "${!EXP_KIND[@]}"; do
		if [ -z "${S_KIND[$tid]+set}" ]; then
			error "$label: thread $tid (${EXP_FUNC[$tid]}) missing from the snapshot"
			continue
		fi
		[ "${S_KIND[$tid]}" = "${EXP_KIND[$tid]}" ] ||
			error "$label: thread $tid (${EXP_FUNC[$tid]}): kind ${S_KIND[$tid]}, expected ${EXP_KIND[$tid]}"
		has_function "${S_FUNCS[$tid]}" "${EXP_FUNC[$tid]}" ||
			error "$label: thread $tid: ${EXP_FUNC[$tid]} not in its stack [${S_FUNCS[$tid]}]"
		if [ -n "${EXP_OWNER[$tid]+set}" ] &&
		   [ "${S_OWNER[$tid]}" != "${EXP_OWNER[$tid]}" ]; then
			error "$label: thread $tid (${EXP_FUNC[$tid]}): owner ${S_OWNER[$tid]}, expected ${EXP_OWNER[$tid]}"
		fi
		if [ "${EXP_FUNC[$tid]}" = "$GROUP_FUNC" ]; then
			group_count=$((group_count + 1))
			if [ -z "$group_sig" ]; then
				group_sig=${S_FUNCS[$tid]}
			elif [ "${S_FUNCS[$tid]}" != "$group_sig" ]; then
				error "$label: $GROUP_FUNC thread $tid has stack [${S_FUNCS[$tid]}], another has [$group_sig]"
			fi
		fi
	done
	((group_count == GROUP_N)) ||
		error "$label: $group_count $GROUP_FUNC threads, expected $GROUP_N"
}

for build in waits waits-O0; do
	start_target "$TESTDATA/$build"
	parse_expectations "$TARGET_OUT"
	# the main thread prints "ready" just before it blocks: let it block
	for tid in "${!EXP_KIND[@]}"; do
		[ "${EXP_KIND[$tid]}" = running ] && continue
		wait_blocked "$TARGET_PID" "$tid" 60 ||
			fail "$build: thread $tid (${EXP_FUNC[$tid]}) never blocked"
	done

	for unwinder in libdw libunwind; do
	for mode in gentle --stop; do
		label="$build --unwinder=$unwinder $mode"
		json=$TL_TMP/$build-$unwinder$mode.json
		if [ $mode = --stop ]; then
			snapshot_json "$TARGET_PID" "$json" --unwinder="$unwinder" --stop
		else
			snapshot_json "$TARGET_PID" "$json" --unwinder="$unwinder"
		fi
		assert_not_stopped "$TARGET_PID" "$label"
		proc_alive "$TARGET_PID" || fail "$label: the target died"
		# Without a stop, frame-pointer code (-O0) blocked in a call that
		# a stop would break with EINTR cannot be unwound past the call
		# into the program: partial (exit 1), but only for those threads.
		if ((TL_RC == 1)) && [ $mode = gentle ] && [ $build = waits-O0 ]; then
			bad=$(jq -r '[.threads[] | select(.partial) |
				select((.error // "") | contains("EINTR") | not) | .tid] | join(" ")' "$json")
			[ -z "$bad" ] || error "$label: threads partial for another reason: $bad"
			npart=$(jq '[.threads[] | select(.partial)] | length' "$json")
			((npart >= 1)) || error "$label: exit 1 (partial) but no thread is partial"
		elif ((TL_RC != 0)); then
			error "$label: $(describe_rc $TL_RC), expected 0: $(first_line "$json.err")"
			((TL_RC == 1)) || continue
		fi
		check_snapshot "$label" "$json"
	done
	done

	# the text names the lock cycle of deadlock_a and deadlock_b, once
	a=$(for t in "${!EXP_FUNC[@]}"; do [ "${EXP_FUNC[$t]}" = deadlock_a ] && echo "$t"; done)
	b=$(for t in "${!EXP_FUNC[@]}"; do [ "${EXP_FUNC[$t]}" = deadlock_b ] && echo "$t"; done)
	[ -n "$a" ] && [ -n "$b" ] || error "$build: no deadlock_a and deadlock_b threads expected"
	lo=$((a < b ? a : b)) hi=$((a < b ? b : a))
	run_tl "$TL_TMP/$build.txt" snapshot "$TARGET_PID"
	n=$(grep -cE "^deadlock: $lo \([^)]*\) -> $hi \([^)]*\) -> $lo \([^)]*\), each waiting for a mutex the next one holds\$" "$TL_TMP/$build.txt")
	[ "$n" = 1 ] || error "$build: $n lines 'deadlock: $lo (..) -> $hi (..) -> $lo (..)' in the text, expected 1: $(grep "^deadlock" "$TL_TMP/$build.txt")"

	kill_target "$TARGET_PID"
done

finish
