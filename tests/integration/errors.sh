#!/bin/bash
# errors: exit codes and messages for things that go wrong.
#   no such pid -> 2, one line "threadleak: ..." on stderr
#   a kernel thread -> 2, "kernel thread";  a zombie -> 2, "zombie"
#   the test's own shell -> 0
#   bad usage -> 64
#   a target exiting during the snapshot -> 0, 1 or 2 with a message;
#     never a crash (status >= 128) or a hang
#   a target churning threads -> 0 or 1, not left stopped, still running
#   an unprivileged user against root's process -> 2, mentions permission
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata exits churn nothreads

# expect_error LABEL OUT WANT_RC [REGEX]: check TL_RC and the message.
expect_error()
{
	local label=$1 out=$2 want=$3 re=${4:-}
	if ((TL_RC != want)); then
		error "$label: $(describe_rc $TL_RC), expected $want: $(first_line "$out.err")"
		return
	fi
	if ! grep -q '^threadleak: ' "$out.err"; then
		error "$label: stderr does not start with 'threadleak: ': $(first_line "$out.err")"
	elif (($(wc -l <"$out.err") != 1)); then
		error "$label: expected one line on stderr, got $(wc -l <"$out.err"): $(head -3 "$out.err" | tr '\n' '|')"
	fi
	if [ -n "$re" ] && ! grep -Eiq -- "$re" "$out.err"; then
		error "$label: message does not match /$re/: $(first_line "$out.err")"
	fi
}

# ---- a pid that does not exist ----
pid_max=$(cat /proc/sys/kernel/pid_max)
nopid=
for ((p = pid_max - 1; p > 300; p--)); do
	if [ ! -e "/proc/$p" ]; then
		nopid=$p
		break
	fi
done
if [ -n "$nopid" ]; then
	run_tl "$TL_TMP/nopid" snapshot "$nopid"
	expect_error "snapshot of missing pid $nopid" "$TL_TMP/nopid" 2
	run_tl "$TL_TMP/nopid-json" snapshot --json "$nopid"
	expect_error "snapshot --json of missing pid $nopid" "$TL_TMP/nopid-json" 2
else
	note "found no free pid below $pid_max"
fi

# ---- a kernel thread ----
kthread=
is_kthread()
{
	# PF_KTHREAD (0x00200000) in the flags, field 9 of stat
	local line f
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	line=${line##*) }
	read -r -a f <<<"$line"
	(((f[6] & 0x00200000) != 0))
}
if is_kthread 2; then
	kthread=2
else
	for d in /proc/[0-9]*; do
		if is_kthread "${d##*/}"; then
			kthread=${d##*/}
			break
		fi
	done
fi
if [ -n "$kthread" ]; then
	run_tl "$TL_TMP/kthread" snapshot "$kthread"
	expect_error "snapshot of kernel thread $kthread" "$TL_TMP/kthread" 2 'kernel thread'
else
	note "no kernel thread visible (pid namespace?): kernel-thread check skipped"
fi

# ---- this test's own shell ----
run_tl "$TL_TMP/self.json" snapshot --json "$$"
if ((TL_RC != 0)); then
	error "snapshot of the test shell $$: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/self.json.err")"
elif ! snap_valid "$TL_TMP/self.json" "$$"; then
	error "snapshot of the test shell $$: not a snapshot of $$"
elif ! snap_tids "$TL_TMP/self.json" | grep -qx "$$"; then
	error "snapshot of the test shell $$: thread $$ missing"
fi
assert_not_stopped "$$" "snapshot of the test shell"

# ---- a zombie ----
# bash forks a child, then becomes `sleep`, which never reaps it; the child
# exits once its parent is `sleep` (bash would have reaped it before)
zombie_out=$TL_TMP/zombie.pid
bash -c '
	p=$$
	(
		until { read -r c </proc/$p/comm; } 2>/dev/null && [ "$c" = sleep ]; do
			((SECONDS < 10)) || break
		done
		exit 0
	) &
	echo $! >"$1"
	exec sleep 60' zombie-parent "$zombie_out" </dev/null &
register_pid $!
zpid=
deadline=$((SECONDS + 10))
while ((SECONDS < deadline)); do
	zpid=
	{ read -r zpid <"$zombie_out"; } 2>/dev/null
	[ -n "$zpid" ] && [ "$(proc_state "$zpid" "$zpid")" = Z ] && break
	tl_sleep 0.05
done
if [ -n "$zpid" ] && [ "$(proc_state "$zpid" "$zpid")" = Z ]; then
	run_tl "$TL_TMP/zombie" snapshot "$zpid"
	expect_error "snapshot of zombie $zpid" "$TL_TMP/zombie" 2 'zombie'
else
	error "could not make a zombie process to test with"
fi

# ---- bad usage ----
usage_case()
{
	local label="threadleak $*"
	run_tl "$TL_TMP/usage" "$@"
	if ((TL_RC != 64)); then
		error "$label: $(describe_rc $TL_RC), expected 64 (usage)"
	elif [ ! -s "$TL_TMP/usage.err" ]; then
		error "$label: exit 64 but nothing on stderr"
	fi
}
usage_case
usage_case no-such-command
usage_case snapshot
usage_case snapshot abc
usage_case snapshot 12abc
usage_case snapshot --no-such-option "$$"
usage_case snapshot --unwinder=no-such-unwinder "$$"

# ---- a target that exits during the snapshot ----
# odd rounds wait for "ready" (the target exits DELAY ms later), even rounds
# start the snapshot at once (while the target is still starting threads)
for ((i = 0; i < 20; i++)); do
	delay=$(((i / 2) * 5))
	nthreads=$((i % 4 < 2 ? 20 : 200))
	if ((i % 2)); then
		start_target "$TESTDATA/exits" "$delay" "$nthreads"
	else
		start_target_nowait "$TESTDATA/exits" "$delay" "$nthreads"
	fi
	label="snapshot of a target exiting after ${delay}ms ($nthreads threads, round $i)"
	out=$TL_TMP/exits-$i.json
	snapshot_json "$TARGET_PID" "$out"
	case $TL_RC in
	0 | 1)
		jq -e '.threads | type == "array"' "$out" >/dev/null 2>&1 ||
			error "$label: exit $TL_RC but stdout is not a snapshot: $(head -c 200 "$out")"
		;;
	2)
		grep -q '^threadleak: ' "$out.err" ||
			error "$label: exit 2 without a 'threadleak: ' message: $(first_line "$out.err")"
		;;
	*)
		error "$label: $(describe_rc $TL_RC): $(first_line "$out.err")"
		;;
	esac
	proc_alive "$TARGET_PID" && assert_not_stopped "$TARGET_PID" "$label"
	kill_target "$TARGET_PID"
done

# ---- a target churning threads ----
start_target "$TESTDATA/churn" 2
for ((i = 0; i < 5; i++)); do
	out=$TL_TMP/churn-$i.json
	snapshot_json "$TARGET_PID" "$out"
	label="snapshot of a churning target (round $i)"
	case $TL_RC in
	0 | 1)
		snap_valid "$out" "$TARGET_PID" ||
			error "$label: exit $TL_RC but stdout is not a snapshot of $TARGET_PID"
		;;
	*)
		error "$label: $(describe_rc $TL_RC), expected 0 or 1: $(first_line "$out.err")"
		;;
	esac
	assert_not_stopped "$TARGET_PID" "$label"
	proc_alive "$TARGET_PID" || fail "$label: the churn target died"
done
# still churning: it keeps using CPU
t0=$(cpu_ticks "$TARGET_PID")
tl_sleep 2
t1=$(cpu_ticks "$TARGET_PID")
((t1 > t0)) || error "the churn target stopped making progress after the snapshots (cpu ticks $t0 -> $t1)"
assert_not_stopped "$TARGET_PID" "churn, 2 s later"
kill_target "$TARGET_PID"

# ---- an unprivileged user ----
if [ "$(id -u)" != 0 ]; then
	note "not root: unprivileged-user check skipped"
elif ! command -v setpriv >/dev/null 2>&1; then
	note "no setpriv: unprivileged-user check skipped"
else
	start_target "$TESTDATA/nothreads"
	timeout -k 5 "$TL_SNAP_TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$THREADLEAK" snapshot "$TARGET_PID" >"$TL_TMP/nobody" 2>"$TL_TMP/nobody.err" </dev/null
	TL_RC=$?
	if ((TL_RC == 126 || TL_RC == 127)); then
		note "user 65534 cannot run $THREADLEAK: unprivileged-user check skipped"
	else
		expect_error "snapshot by an unprivileged user" "$TL_TMP/nobody" 2 \
			'permission|permitted|CAP_SYS_PTRACE'
	fi
	assert_not_stopped "$TARGET_PID" "snapshot by an unprivileged user"
	kill_target "$TARGET_PID"
fi

# threadleak's own pid: exec makes the shell's $$ the pid of threadleak
out=$(sh -c 'exec "$1" snapshot "$$"' sh "$THREADLEAK" 2>&1 >/dev/null)
rc=$?
((rc == 2)) || error "own pid: $(describe_rc $rc), expected 2"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ $out == threadleak:*itself* ]] ||
	error "own pid: expected one line saying it is threadleak itself, got: $out"

finish
