#!/bin/bash
# unwinders-agree: --unwinder=libdw and --unwinder=libunwind give the same
# frames (pc and function, every frame) for every thread that is not running;
# running threads move between the two snapshots and are left out.
. "$(dirname "$0")/../lib.sh"
EXTRA=

need_cmd jq
need_threadleak
need_testdata waits busy

# compare LABEL: snapshot the current target with both unwinders, compare.
compare()
{
	local label=$1 unwinder tid state frames compared=0
	local -A F_libdw=() F_libunwind=() RUNNING=()

	for unwinder in libdw libunwind; do
		json=$TL_TMP/$label-$unwinder.json
		snapshot_json "$TARGET_PID" "$json" --unwinder="$unwinder" $EXTRA
		assert_not_stopped "$TARGET_PID" "$label --unwinder=$unwinder"
		if ((TL_RC != 0)); then
			error "$label --unwinder=$unwinder: $(describe_rc $TL_RC), expected 0: $(first_line "$json.err")"
			return
		fi
		snap_valid "$json" "$TARGET_PID" || {
			error "$label --unwinder=$unwinder: not a snapshot of $TARGET_PID"
			return
		}
		while IFS=$'\t' read -r tid state frames; do
			[ "$state" = R ] && RUNNING[$tid]=1
			if [ "$unwinder" = libdw ]; then
				F_libdw[$tid]=$frames
			else
				F_libunwind[$tid]=$frames
			fi
		done < <(snap_frames "$json")
	done

	for tid in "${!F_libdw[@]}"; do
		[ -n "${RUNNING[$tid]+set}" ] && continue
		if [ -z "${F_libunwind[$tid]+set}" ]; then
			error "$label: thread $tid only in the libdw snapshot"
			continue
		fi
		if [ -z "${F_libdw[$tid]}" ]; then
			error "$label: thread $tid has no frames"
			continue
		fi
		if [ "${F_libdw[$tid]}" != "${F_libunwind[$tid]}" ]; then
			error "$label: thread $tid differs: libdw [${F_libdw[$tid]}] libunwind [${F_libunwind[$tid]}]"
		fi
		compared=$((compared + 1))
	done
	for tid in "${!F_libunwind[@]}"; do
		[ -n "${RUNNING[$tid]+set}" ] && continue
		[ -n "${F_libdw[$tid]+set}" ] ||
			error "$label: thread $tid only in the libunwind snapshot"
	done
	((compared >= 2)) || error "$label: only $compared blocked threads to compare"
}

start_target "$TESTDATA/waits"
# the main thread prints "ready" just before it blocks
wait_blocked "$TARGET_PID" "$TARGET_PID" || fail "waits: main thread never blocked"
compare waits
kill_target "$TARGET_PID"

# -O0 frame-pointer code blocked in calls that must not be stopped is only
# partly unwindable without a stop: compare the all-stop captures there,
# where both unwinders start from every register.
start_target "$TESTDATA/waits-O0"
wait_blocked "$TARGET_PID" "$TARGET_PID" || fail "waits-O0: main thread never blocked"
EXTRA=--stop compare waits-O0
kill_target "$TARGET_PID"

start_target "$TESTDATA/busy" 2 6
wait_blocked "$TARGET_PID" "$TARGET_PID" || fail "busy: main thread never blocked"
compare busy
kill_target "$TARGET_PID"

finish
