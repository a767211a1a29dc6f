#!/bin/bash
# errors: exit codes and messages for things that go wrong.
#   no such pid -> 2, one line "threadleak: ..." on stderr
#   a kernel thread -> 2, "kernel thread";  a zombie -> 2, "zombie"
#   the test's own shell -> 0
#   bad usage -> 64
#   a target exiting during the snapshot -> 2 with a message (0 or 1
#     with a snapshot when it may have ended before); never a crash
#     (status >= 128) or a hang
#   a target churning threads -> 0 or 1, not left stopped, still running
#   an unprivileged user against root's process -> 2, mentions permission
#   a caller that has CAP_SYS_PTRACE and is refused all the same (as
#     root, through setpriv and unshare; a target of root's holding every
#     capability): never told to add CAP_SYS_PTRACE, told what it lacks:
#     - user 65534 with CAP_SYS_PTRACE alone: CAP_DAC_READ_SEARCH, which
#       reading another user's /proc/PID/syscall (mode 0400) needs; with
#       it too, the snapshot works;
#     - root in a user namespace of its own (unshare -U -r): that the
#       target's namespace is outside it;
#     - root with CAP_SYS_PTRACE alone (a bounding set of one): the
#       snapshot works, though the target holds capabilities it lacks
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata holder churn nothreads

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
	partial "missing-pid check not run: found no free pid below $pid_max"
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
	partial "kernel-thread check not run: no kernel thread visible (pid namespace?)"
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
# testdata/holder keeps a thread in vfork that only a stop can unwind: once
# it is there, threadleak (--timeout 600) cannot end its capture before
# the target does, so its exit (SIGUSR1: the main thread calls exit) is
# always during the snapshot or before threadleak's first look.
#   held rounds: the exit once threadleak traces that thread: exit 2,
#     "exited during the snapshot";
#   random rounds: the exit at a random moment in the time the held rounds
#     took to reach the hold, half of them with the snapshot started before
#     the target is ready (still making threads, the holding one perhaps
#     not yet: a whole snapshot, 0 or 1, is possible there);
# each: 2 with one "threadleak: " line and nothing on stdout, or (before
# the hold only) 0/1 with a snapshot; never a crash or a hang.  At least
# one random round must exit during the capture.
fifo=$TL_TMP/hold.fifo
mkfifo "$fifo" || fail "cannot make a fifo"
tlcomm=${THREADLEAK##*/}
tlcomm=${tlcomm:0:15}	# its name in /proc/PID/comm once it runs
hold_us= held_seen=0 random_during=0

# traced_by PID TID TL: thread TID of PID is traced by TL
traced_by()
{
	local l
	{ while IFS= read -r l; do
		case $l in TracerPid:*) [ "${l##*[[:space:]]}" = "$3" ]; return ;; esac
	done <"/proc/$1/task/$2/status"; } 2>/dev/null
	return 1
}

for ((i = 0; i < 12; i++)); do
	nthreads=$((i % 4 < 2 ? 20 : 200))
	kind=random
	((i < 2)) && kind=held
	if [ $kind = random ] && ((i % 2 == 0)); then
		start_target_nowait "$TESTDATA/holder" "$fifo" "$nthreads"
		ready=no
	else
		start_target "$TESTDATA/holder" "$fifo" "$nthreads"
		ready=yes
	fi
	pid=$TARGET_PID
	out=$TL_TMP/exits-$i.json
	"$THREADLEAK" snapshot --json --timeout 600 "$pid" >"$out" 2>"$out.err" </dev/null &
	tl=$!
	register_pid "$tl"
	deadline=$((SECONDS + 60))
	while { read -r comm <"/proc/$tl/comm"; } 2>/dev/null && [ "$comm" != "$tlcomm" ]; do
		((SECONDS < deadline)) || fail "round $i: threadleak not started after 60 s"
		tl_sleep 0.001
	done
	t0=$(tl_now_us)
	label="snapshot of a target exiting during it ($nthreads threads, $kind round $i"
	if [ $kind = held ]; then
		holder=
		while read -r w t; do [ "$w" = holder ] && holder=$t; done <"$TARGET_OUT"
		deadline=$((SECONDS + 120))
		until traced_by "$pid" "$holder" "$tl"; do
			proc_alive "$tl" && ((SECONDS < deadline)) ||
				fail "$label): threadleak never seen holding the target: $(describe_rc "$TL_RC") $(first_line "$out.err")"
			tl_sleep 0.002
		done
		held_seen=$((held_seen + 1))
		t=$(($(tl_now_us) - t0))
		[ -z "$hold_us" ] || ((t < hold_us)) && hold_us=$t
		label+=")"
	else
		delay=$(((RANDOM * 32768 + RANDOM) % hold_us))
		label+=", exit after $((delay / 1000)) ms, ready: $ready)"
		tl_sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
	fi
	signal_child USR1 "$pid"
	deadline=$((SECONDS + 60))
	while proc_alive "$tl"; do
		((SECONDS < deadline)) || fail "$label: threadleak still running 60 s after the target exited"
		tl_sleep 0.01
	done
	unregister_pid "$tl"
	wait "$tl"
	TL_RC=$?
	case $TL_RC in
	0 | 1)
		if [ $ready = yes ]; then
			error "$label: $(describe_rc $TL_RC), but its capture could not end before the exit: $(jq -c '{partial, threads: (.threads | length)}' "$out" 2>/dev/null)"
		else
			snap_valid "$out" "$pid" ||
				error "$label: exit $TL_RC but stdout is not a snapshot: $(head -c 200 "$out")"
		fi
		;;
	2)
		if ! grep -q '^threadleak: ' "$out.err" || (($(wc -l <"$out.err") != 1)); then
			error "$label: exit 2 without one 'threadleak: ' line: $(head -3 "$out.err" | tr '\n' '|')"
		elif grep -qx "threadleak: process $pid exited during the snapshot" "$out.err"; then
			[ $kind = random ] && random_during=$((random_during + 1))
		elif [ $kind = held ]; then
			error "$label: exit 2, but not 'exited during the snapshot': $(first_line "$out.err")"
		fi
		[ -s "$out" ] && error "$label: exit 2 and something on stdout: $(head -c 200 "$out")"
		;;
	*)
		error "$label: $(describe_rc $TL_RC): $(first_line "$out.err")"
		;;
	esac
	kill_target "$pid"
done
at_least "$held_seen" 2 "held rounds: threadleak seen holding the target when it exited"
at_least "$random_during" 1 "random rounds where the target exited during the capture (not before it)"

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
# still churning: it keeps using CPU (however little it gets)
t0=$(cpu_ticks "$TARGET_PID")
deadline=$((SECONDS + 60))
until (($(cpu_ticks "$TARGET_PID") > t0)); do
	((SECONDS < deadline)) || { error "the churn target stopped making progress after the snapshots (cpu ticks stuck at $t0 for 60 s)"; break; }
	tl_sleep 0.05
done
assert_not_stopped "$TARGET_PID" "churn, after the snapshots"
kill_target "$TARGET_PID"

# ---- an unprivileged user ----
if [ "$(id -u)" != 0 ]; then
	partial "needs root: the unprivileged-user check (setpriv to user 65534) not run"
elif ! command -v setpriv >/dev/null 2>&1; then
	partial "unprivileged-user check not run: no setpriv"
else
	start_target "$TESTDATA/nothreads"
	timeout -k 5 "$TL_SNAP_TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$THREADLEAK" snapshot "$TARGET_PID" >"$TL_TMP/nobody" 2>"$TL_TMP/nobody.err" </dev/null
	TL_RC=$?
	if ((TL_RC == 126 || TL_RC == 127)); then
		partial "unprivileged-user check not run: user 65534 cannot run $THREADLEAK: $(first_line "$TL_TMP/nobody.err")"
	else
		expect_error "snapshot by an unprivileged user" "$TL_TMP/nobody" 2 \
			'permission|permitted|CAP_SYS_PTRACE'
	fi
	assert_not_stopped "$TARGET_PID" "snapshot by an unprivileged user"
	kill_target "$TARGET_PID"
fi

# ---- a caller with CAP_SYS_PTRACE, refused all the same ----
# as_caller LABEL CMD...: threadleak snapshot of TARGET_PID run by CMD
as_caller()
{
	local label=$1
	shift
	timeout -k 5 "$TL_SNAP_TIMEOUT" "$@" "$THREADLEAK" snapshot "$TARGET_PID" \
		>"$TL_TMP/$label" 2>"$TL_TMP/$label.err" </dev/null
	TL_RC=$?
}
# refused LABEL REGEX: refused with a message matching REGEX, not one
# that tells the caller to get CAP_SYS_PTRACE
refused()
{
	expect_error "$1" "$TL_TMP/$1" 2 "$2"
	grep -Eq 'needs CAP_SYS_PTRACE|give threadleak CAP_SYS_PTRACE' "$TL_TMP/$1.err" &&
		error "$1: a caller with CAP_SYS_PTRACE told to get it: $(first_line "$TL_TMP/$1.err")"
}
if [ "$(id -u)" != 0 ]; then
	partial "needs root: callers with CAP_SYS_PTRACE (setpriv, unshare) not run"
else
	need_cmd setpriv unshare
	start_target "$TESTDATA/nothreads"
	nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	as_caller ptrace-only "${nobody[@]}" --inh-caps=-all,+sys_ptrace --ambient-caps=-all,+sys_ptrace
	refused ptrace-only "has CAP_SYS_PTRACE but lacks CAP_DAC_READ_SEARCH.*uid 0's, mode 0400"
	as_caller ptrace-dac "${nobody[@]}" --inh-caps=-all,+sys_ptrace,+dac_read_search \
		--ambient-caps=-all,+sys_ptrace,+dac_read_search
	((TL_RC == 0)) || error "user 65534 with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: $(describe_rc $TL_RC): $(first_line "$TL_TMP/ptrace-dac.err")"
	as_caller userns unshare --user --map-root-user
	refused userns "has CAP_SYS_PTRACE, but only in its own user namespace, and $TARGET_PID is in one outside it"
	as_caller root-ptrace-only setpriv --bounding-set=-all,+sys_ptrace --inh-caps=-all,+sys_ptrace
	((TL_RC == 0)) || error "root with CAP_SYS_PTRACE alone: $(describe_rc $TL_RC): $(first_line "$TL_TMP/root-ptrace-only.err")"
	assert_not_stopped "$TARGET_PID" "callers with CAP_SYS_PTRACE"
	kill_target "$TARGET_PID"
fi

# threadleak's own pid: exec makes the shell's $$ the pid of threadleak
out=$(sh -c 'exec "$1" snapshot "$$"' sh "$THREADLEAK" 2>&1 >/dev/null)
rc=$?
((rc == 2)) || error "own pid: $(describe_rc $rc), expected 2"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ $out == threadleak:*itself* ]] ||
	error "own pid: expected one line saying it is threadleak itself, got: $out"

finish
