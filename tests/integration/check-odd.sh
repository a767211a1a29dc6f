#!/bin/bash
# check-odd: `threadleak check` with hostile and odd commands and inputs:
#   - suppressions that are not a text file (/dev/zero, a directory, a
#     file over 1 MiB, a NUL byte) are refused at once (64), and a report
#     file that cannot be written (a directory, a read-only place) is an
#     error (2) found before the command runs;
#   - rule syntax: quoted names, several conditions on a line (all must
#     hold), '*' patterns, --ignore-name; the default list is printed and
#     reads back as a suppressions file;
#   - SIGTERM, SIGHUP and SIGINT to check (and ^C on a terminal) end it
#     at once (128+N), whatever the command does, the command running on;
#   - under another tracer (strace -f) the leaked threads are still
#     captured and reported (exit 1);
#   - a nested check, and a command asking for its own seccomp listener
#     or strict mode, get one line saying why the kernel refuses;
#   - a command that cannot be run (a 5000-byte path component, a symlink
#     loop, a name with control characters) gets one whole line, its
#     reason last, and the exit status bash -c gives (126; 127 not found).
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata checkme

tl_check() { local out=$1; shift; run_tl "$out" check "$@"; }

expect_rc()	# expect_rc LABEL WANT
{
	((TL_RC == $2)) || error "$1: $(describe_rc "$TL_RC"), expected exit $2: $(first_line "$OUT.err")"
}

has()	# has LABEL FILE PATTERN
{
	grep -Eq -- "$3" "$2" || error "$1: no line matching '$3' in: $(head -c 400 "$2")"
}

one_line()	# one_line LABEL FILE: exactly one line
{
	[ "$(wc -l <"$2")" = 1 ] || error "$1: expected one line, got: $(head -c 400 "$2")"
}

# ---- suppressions that are not text files ----
OUT=$TL_TMP/supp
big=$TL_TMP/big.supp
head -c 1100000 /dev/zero | tr '\0' '#' >"$big"
printf 'ignore-top worker_wait\n\0\n' >"$TL_TMP/nul.supp"
for f in /dev/zero "$TL_TMP" "$big" "$TL_TMP/nul.supp" "$TL_TMP/missing.supp"; do
	TL_SNAP_TIMEOUT=10 tl_check "$OUT" --suppressions "$f" -- true
	expect_rc "--suppressions $f" 64
	one_line "--suppressions $f" "$OUT.err"
	has "--suppressions $f" "$OUT.err" "^threadleak: .*(not a regular file|larger than|NUL byte|No such file)"
done

# ---- report files that cannot be written: before the command runs ----
for o in "$TL_TMP" /proc/threadleak-report; do
	tl_check "$OUT" -o "$o" -- sh -c 'echo ran'
	expect_rc "-o $o" 2
	has "-o $o" "$OUT.err" "^threadleak: cannot write $o: "
	[ -s "$OUT" ] && error "-o $o: the command ran although its report could not be written"
done
# a report is whole or absent: no temporary file left beside it
tl_check "$OUT" -o "$TL_TMP/report.txt" -- "$TESTDATA/checkme" leak
expect_rc "-o FILE" 1
has "-o FILE" "$TL_TMP/report.txt" 'exited with 1 thread still alive'
left=$(find "$TL_TMP" -name '.report.txt.*')
[ -z "$left" ] || error "-o FILE: a temporary file left: $left"

# ---- rule syntax ----
printf '# quoted, two conditions\nignore-name "work*"   ignore-module checkme\n' >"$TL_TMP/both.supp"
tl_check "$OUT" --suppressions "$TL_TMP/both.supp" -- "$TESTDATA/checkme" leak
expect_rc "name and module" 0
printf 'ignore-name worker ignore-module libjvm.so\n' >"$TL_TMP/half.supp"
tl_check "$OUT" --suppressions "$TL_TMP/half.supp" -- "$TESTDATA/checkme" leak
expect_rc "name but not module" 1
printf 'ignore-name "worker\n' >"$TL_TMP/open.supp"
tl_check "$OUT" --suppressions "$TL_TMP/open.supp" -- true
expect_rc "an open quote" 64
has "an open quote" "$OUT.err" '^threadleak: .*open\.supp:1: a quote is not closed$'
tl_check "$OUT" --ignore-name 'w*r' -- "$TESTDATA/checkme" leak
expect_rc "--ignore-name w*r" 0
tl_check "$OUT" --ignore-top 'worker_*' -- "$TESTDATA/checkme" leak
expect_rc "--ignore-top worker_*" 0
run_tl "$TL_TMP/defaults" check --print-default-ignores
((TL_RC == 0)) || error "--print-default-ignores: $(describe_rc "$TL_RC")"
has "--print-default-ignores" "$TL_TMP/defaults" '^ignore-top runtime\.\*$'
has "--print-default-ignores" "$TL_TMP/defaults" '^ignore-name "VM Thread" +ignore-module libjvm\.so$'
tl_check "$OUT" --no-default-ignores --suppressions "$TL_TMP/defaults" -- "$TESTDATA/checkme" timer
expect_rc "the default list read back" 0

# parent_is PID PPID: PID's parent is PPID
parent_is()
{
	local line f
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	read -r -a f <<<"${line##*) }"
	[ "${f[1]}" = "$2" ]
}

# gone PID: our child PID has exited (a zombie, or reaped)
gone() { ! proc_alive "$1"; }

# in_exit_group PID: its main thread is held in exit_group
in_exit_group()
{
	local nr
	{ read -r nr _ <"/proc/$1/syscall"; } 2>/dev/null && [ "$nr" = 231 ]
}

# ---- signals to check end it at once; the command runs on ----
# sh leaves a sleep behind and exits: check, its subreaper, waits for that
# orphan (the signal comes once the sleep is check's child).  "At once" is
# long before the sleep's 1000 s: 60 s, a hang guard.
for sig in TERM HUP INT; do
	pidf=$TL_TMP/sleep.pid
	rm -f "$pidf"
	"$THREADLEAK" check -- sh -c 'sleep 1000 & echo $! >'"$pidf"'; exit 0' \
		>"$OUT" 2>"$OUT.err" </dev/null &
	cpid=$!
	register_pid "$cpid"
	wait_for 60 test -s "$pidf"
	spid=$(cat "$pidf" 2>/dev/null)
	[ -n "$spid" ] || { error "SIG$sig: the command did not start"; continue; }
	wait_for 60 parent_is "$spid" "$cpid" ||
		error "SIG$sig: the command's sleep never became check's child"
	t0=$(tl_now_us)
	kill -"$sig" "$cpid"
	wait_for 60 gone "$cpid"
	took=$(seconds_since "$t0" 0)
	if proc_alive "$cpid"; then
		error "SIG$sig: check still runs after ${took}s"
		kill_target "$cpid"
	else
		wait "$cpid"
		rc=$?
		case $sig in TERM) want=143 ;; HUP) want=129 ;; INT) want=130 ;; esac
		((rc == want)) || error "SIG$sig: exit $rc, expected $want"
		has "SIG$sig" "$OUT.err" "^threadleak: .*\(SIG$sig\): the command runs on, unchecked$"
	fi
	unregister_pid "$cpid"
	# the sleep, now nobody's child but init's: it runs on
	{ read -r comm <"/proc/$spid/comm"; } 2>/dev/null
	if [ "${comm:-}" = sleep ] && proc_alive "$spid"; then
		kill -KILL "$spid"
	else
		error "SIG$sig: the command's sleep did not run on"
	fi
done
# a signal while an exit is held for a long grace period: the exit goes on
start_target_nowait "$THREADLEAK" check --grace 600 -- "$TESTDATA/checkme" leak
cpid=$TARGET_PID
wait_for 60 has_line "$TARGET_OUT" "done leak"
cmd=$(pgrep -P "$cpid" -x checkme | head -1)
if [ -n "$cmd" ] && wait_for 60 in_exit_group "$cmd"; then
	kill -TERM "$cpid"
	wait_for 60 gone "$cpid" || error "SIGTERM during a held exit: check still runs"
	wait_for 60 gone "$cmd" ||
		error "SIGTERM during a held exit: the command's exit is still held"
else
	error "SIGTERM during a held exit: no checkme held in exit_group under check ('$cmd')"
fi

# ^C on a terminal (tmux): the foreground group gets SIGINT, once the
# sleep is check's child (as above)
# tsleep_of_check: the sleep's parent runs $THREADLEAK (check)
tl_exe=$(readlink -f "$THREADLEAK")
tsleep_of_check()
{
	local line f
	spid=$(cat "$TL_TMP/tsleep.pid" 2>/dev/null)
	[ -n "$spid" ] && { read -r line <"/proc/$spid/stat"; } 2>/dev/null || return 1
	read -r -a f <<<"${line##*) }"
	[ "$(readlink "/proc/${f[1]}/exe" 2>/dev/null)" = "$tl_exe" ]
}
if ! command -v tmux >/dev/null; then
	partial "no tmux: ^C on a terminal not tried"
else
	SOCK=$TL_TMP/tmux.sock
	at_exit 'tmux -S "$SOCK" kill-server >/dev/null 2>&1'
	if tmux -S "$SOCK" new-session -d -s c -x 120 -y 10 \
		"'$THREADLEAK' check -- sh -c 'sleep 1000 & echo \$! >$TL_TMP/tsleep.pid; exit 0'; echo \"rc=\$?\" >$TL_TMP/tmux.rc; sleep 30" 2>/dev/null; then
		wait_for 60 tsleep_of_check ||
			error "^C on a terminal: the command's sleep never became check's child"
		tmux -S "$SOCK" send-keys -t c C-c
		wait_for 60 test -s "$TL_TMP/tmux.rc"
		[ "$(cat "$TL_TMP/tmux.rc" 2>/dev/null)" = rc=130 ] ||
			error "^C on a terminal: check did not end with 130: $(cat "$TL_TMP/tmux.rc" 2>/dev/null)"
		spid=$(cat "$TL_TMP/tsleep.pid" 2>/dev/null)
		[ -n "$spid" ] && { read -r comm <"/proc/$spid/comm"; } 2>/dev/null &&
			[ "$comm" = sleep ] && kill -KILL "$spid"
		tmux -S "$SOCK" kill-server >/dev/null 2>&1
	else
		partial "tmux cannot start a session here: ^C on a terminal not tried"
	fi
fi

# ---- another tracer: strace -f ----
if command -v strace >/dev/null; then
	tl_check "$OUT" -- strace -f -o /dev/null "$TESTDATA/checkme" many 4
	expect_rc "under strace -f" 1
	has "under strace -f" "$OUT.err" 'exited with 4 threads still alive'
	has "under strace -f" "$OUT.err" '^    worker_wait '
else
	error "no strace here: make check installs it (scripts/deps.sh)"
fi

# ---- seccomp: nested check, the command's own listener or strict mode ----
tl_check "$OUT" -- "$THREADLEAK" check -- true
expect_rc "nested check" 2
has "nested check" "$OUT.err" '^threadleak: cannot install the seccomp filter that check needs: this process is already under a seccomp listener .*run check outside it$'
for m in listener strict; do
	tl_check "$OUT" -- "$TESTDATA/checkme" seccomp-$m
	expect_rc "seccomp-$m" 0
	has "seccomp-$m" "$OUT" '^seccomp: (Device or resource busy|Invalid argument)$'
	has "seccomp-$m" "$OUT.err" "^threadleak: checkme \(pid [0-9]+\) asks for .*(EBUSY|EINVAL).*; its call fails$"
	one_line "seccomp-$m" "$OUT.err"
done

# ---- commands that cannot be run: the whole reason, a shell's status ----
long=$TL_TMP/$(head -c 5000 /dev/zero | tr '\0' a)/cmd
ln -s loop-b "$TL_TMP/loop-a"
ln -s loop-a "$TL_TMP/loop-b"
ctl=$TL_TMP/$'\e]0;title\a'
for c in "$long:File name too long" "$TL_TMP/loop-a:Too many levels of symbolic links" \
	 "$ctl:No such file or directory"; do
	cmd=${c%:*} why=${c##*:}
	bash -c "exec \"\$0\"" "$cmd" 2>/dev/null
	want=$?
	tl_check "$OUT" -- "$cmd"
	expect_rc "cannot run: $why" "$want"
	one_line "cannot run: $why" "$OUT.err"
	has "cannot run: $why" "$OUT.err" "^threadleak: cannot run $TL_TMP/.*: $why\$"
	((${#cmd} < 1000)) || has "cannot run: $why" "$OUT.err" "^threadleak: cannot run $TL_TMP/a+\\.\\.\\. \\(${#cmd} bytes\\): "
	(($(wc -c <"$OUT.err") < 600)) || error "cannot run: $why: $(wc -c <"$OUT.err") bytes of message"
	LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$OUT.err" && error "cannot run: $why: a control character printed raw"
done
((want == 127)) || error "bash -c says $want for a missing command, not 127"

finish
