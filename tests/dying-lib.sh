# tests/dying-lib.sh: a target killed while threadleak reads it, the race
# made to happen (strace, a second tracer here): threadleak is stopped
# right after its Nth read of the target's memory (strace injects a
# SIGSTOP at the Nth process_vm_readv of a thread of it), the target is
# killed then (reaped, or left a zombie until threadleak is done), strace
# lets go of threadleak, which goes on.  Sourced after lib.sh.

state()
{
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
	line=${line##*) }
	echo "${line%% *}"
}

# the injected stop, logged by strace: the signal (sent by the kernel,
# not by the wrapper's own kill) and the stop it made
injected_stop()
{
	grep -q '^[0-9]* *--- SIGSTOP {si_signo=SIGSTOP, si_code=SI_KERNEL} ---' "$1" &&
		sed -n '/si_code=SI_KERNEL/,$p' "$1" | grep -q -- '--- stopped by SIGSTOP ---'
}
stopped_state() { [ "$(state "$1")" = T ] || [ "$(state "$1")" = t ]; }
attached() { grep -q 'attached' "$1" 2>/dev/null; }
gone() { ! proc_alive "$1"; }

# kill_at_read PID N OUT REAP: `threadleak snapshot PID` (stdout OUT,
# stderr OUT.err) stopped after its Nth read; PID killed there (and
# reaped when REAP is true).  Sets RACED (whether PID died while
# threadleak read it) and RACE_RC (threadleak's exit status; -1: it hung
# and was killed, already said).  The target is reaped at the end.
kill_at_read()
{
	local pid=$1 n=$2 out=$3 reap=$4 tl st what="stopped after read $2"
	RACED=false RACE_RC=-1
	# threadleak, stopped by its own wrapper until strace is on it
	sh -c 'kill -STOP $$ && exec "$@"' sh "$THREADLEAK" snapshot "$pid" >"$out" 2>"$out.err" </dev/null &
	tl=$!
	register_pid "$tl"
	wait_for 20 stopped_state "$tl" || fail "$what: threadleak's wrapper did not stop"
	strace -f -o "$out.strace" -p "$tl" -e trace=process_vm_readv -e status=failed \
		-e inject=process_vm_readv:signal=SIGSTOP:when="$n" 2>"$out.strace-err" &
	st=$!
	register_pid "$st"
	wait_for 20 attached "$out.strace-err" || fail "$what: strace did not attach: $(head -c 300 "$out.strace-err")"
	signal_child CONT "$tl"
	# threadleak stops at its Nth read, or ends before it
	wait_for "$TL_SNAP_TIMEOUT" eval 'injected_stop "$out.strace" || gone "$tl"' ||
		fail "$what: threadleak neither stopped nor ended after ${TL_SNAP_TIMEOUT}s"
	if injected_stop "$out.strace" && proc_alive "$tl"; then
		RACED=true
		signal_child KILL "$pid"
		$reap && kill_target "$pid"
	fi
	# strace lets go of it (it stays stopped), then it goes on
	signal_child TERM "$st"
	wait_for 20 gone "$st" || fail "$what: strace did not end"
	unregister_pid "$st"
	wait "$st" 2>/dev/null
	signal_child CONT "$tl"
	if ! wait_for "$TL_SNAP_TIMEOUT" gone "$tl"; then
		kill_target "$tl"
		error "$what: threadleak hung after the target died"
		kill_target "$pid"
		return 0
	fi
	unregister_pid "$tl"
	wait "$tl"
	RACE_RC=$?
	kill_target "$pid"
}

# expect_exited_during WHAT PID OUT: threadleak (RACE_RC) said, exit 2,
# that PID exited during the snapshot, with nothing on stdout.
expect_exited_during()
{
	local what=$1 pid=$2 out=$3
	((RACE_RC == -1)) && return 0
	if ((RACE_RC != 2)); then
		error "$what, target killed: $(describe_rc "$RACE_RC"), expected exit 2: $(first_line "$out.err") | $(first_line "$out")"
	elif ! grep -q "^threadleak: process $pid exited during the snapshot\$" "$out.err"; then
		error "$what, target killed: exit 2 but: $(first_line "$out.err")"
	fi
	[ -s "$out" ] && error "$what, target killed: a snapshot on stdout: $(first_line "$out")"
}

# race_rounds START N...: for each N, START (a function that starts a new
# target and sets RACE_PID), then its snapshot stopped after read N and
# the target killed there, odd rounds reaped, even ones left a zombie
# until threadleak is done; each round where it died while read must end
# as expect_exited_during says, and at least 3 must have.
race_rounds()
{
	local start=$1 n out what races=0 rounds=0
	shift
	for n in "$@"; do
		rounds=$((rounds + 1))
		what="stopped after read $n"
		"$start"
		out=$TL_TMP/race$n
		kill_at_read "$RACE_PID" "$n" "$out" "$( ((rounds % 2)) && echo true || echo false)"
		if ! $RACED; then
			((RACE_RC == -1)) ||
				note "$what: threadleak made fewer reads and ended first ($(describe_rc "$RACE_RC"))"
			continue
		fi
		races=$((races + 1))
		expect_exited_during "$what" "$RACE_PID" "$out"
	done
	at_least "$races" 3 "rounds where the target died while threadleak read it (of $rounds)"
	note "the target died while threadleak read it in $races rounds of $rounds"
}
