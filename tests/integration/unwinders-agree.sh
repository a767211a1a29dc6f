#!/bin/bash
# unwinders-agree: --unwinder=libdw and --unwinder=libunwind give the same
# frames (pc and function, every frame) for every thread that is not
# running; running threads move between the two snapshots and are left
# out.  Agreement alone would pass two unwinders wrong alike, so each
# snapshot is also checked against sources outside threadleak: what
# testdata/waits says of each thread (kind, function, mutex owner), the
# thread counts busy was started with, /proc's threads, where the man page
# says a stack ends (_start, clone), and gdb's backtraces frame for frame
# (waits at -O2 and -O0, busy).  At -O2 those include the frames of
# functions that tail-called another (sem_wait into __new_sem_wait_slow64,
# waitpid into __wait4), put back from the DWARF call sites of a caller in
# another file than the C library's, whose calls go through the PLT.
. "$(dirname "$0")/../lib.sh"
. "$TL_ROOT/tests/expect-lib.sh"
EXTRA=

need_cmd jq
need_threadleak
need_testdata waits waits-O0 busy

# compare LABEL MIN: snapshot the current target with both unwinders into
# $TL_TMP/LABEL-UNWINDER.json, compare; at least MIN threads compared.
compare()
{
	local label=$1 min=$2 unwinder tid state frames compared=0 json
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
		[ "$(jq -r .unwinder "$json")" = "$unwinder" ] ||
			error "$label --unwinder=$unwinder: the snapshot says unwinder $(jq -r .unwinder "$json")"
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
	at_least "$compared" "$min" "$label: blocked threads compared between the unwinders"
}

# waits -O2: the program's word for each thread
start_target "$TESTDATA/waits"
wx_parse "$TARGET_OUT"
wx_settle "$TARGET_PID"
compare waits 20
for u in libdw libunwind; do
	[ -s "$TL_TMP/waits-$u.json" ] || continue
	wx_check "waits --unwinder=$u" "$TL_TMP/waits-$u.json" "$TARGET_PID"
	gdb_frames "waits --unwinder=$u" "$TL_TMP/waits-$u.json" "$TARGET_PID" 20
done
kill_target "$TARGET_PID"

# -O0 frame-pointer code blocked in calls that must not be stopped is only
# partly unwindable without a stop: compare the all-stop captures there,
# where both unwinders start from every register.
start_target "$TESTDATA/waits-O0"
wx_parse "$TARGET_OUT"
wx_settle "$TARGET_PID"
EXTRA=--stop compare waits-O0 20
for u in libdw libunwind; do
	[ -s "$TL_TMP/waits-O0-$u.json" ] || continue
	wx_check "waits-O0 --unwinder=$u" "$TL_TMP/waits-O0-$u.json" "$TARGET_PID"
	gdb_frames "waits-O0 --unwinder=$u" "$TL_TMP/waits-O0-$u.json" "$TARGET_PID" 20
done
kill_target "$TARGET_PID"

# busy 2 6: two spinners, six sleepers, the main thread in main_wait
start_target "$TESTDATA/busy" 2 6
wait_blocked "$TARGET_PID" "$TARGET_PID" 60 || fail "busy: main thread never blocked"
compare busy 7
for u in libdw libunwind; do
	json=$TL_TMP/busy-$u.json
	[ -s "$json" ] || continue
	got=$(jq -r --argjson pid "$TARGET_PID" '[.threads[] |
		if .tid == $pid then "main:\(.wait.kind):\([.frames[].function] | index("main_wait") != null)"
		else ([.frames[].function] | if index("spin_worker") then "spin" elif index("sleep_worker") then "sleep" else "other" end) as $w |
			if $w == "sleep" then "sleep:\(.wait.kind)" else $w end
		end] | group_by(.) | map("\(.[0])x\(length)") | join(" ")' "$json")
	[ "$got" = "main:signal:truex1 sleep:sleepx6 spinx2" ] ||
		error "busy --unwinder=$u: threads [$got], started as [main:signal:truex1 sleep:sleepx6 spinx2]"
	[ "$(snap_tids "$json" | tr '\n' ' ')" = "$(task_tids "$TARGET_PID" | tr '\n' ' ')" ] ||
		error "busy --unwinder=$u: threads [$(snap_tids "$json" | tr '\n' ' ')], /proc has [$(task_tids "$TARGET_PID" | tr '\n' ' ')]"
	stack_ends "busy --unwinder=$u" "$json" "$TARGET_PID"
	gdb_frames "busy --unwinder=$u" "$json" "$TARGET_PID" 7
done
kill_target "$TARGET_PID"

finish
