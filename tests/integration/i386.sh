#!/bin/bash
# i386: 32-bit processes (testdata/waits, -O2 and -O0, and checkme built
# with gcc -m32), attached to for real.
#   - snapshot (libdw; without and with --stop): every thread's wait kind,
#     function, mutex owner and group as waits says (expect lines); each
#     blocked thread's system call named from the i386 table, its number
#     the one /proc/TID/syscall shows (pause is 29 there, shmget on
#     x86_64), socket calls opened from glibc's socketcall (recv, accept,
#     connect); exit 0 (whole);
#   - the stacks agree with gdb's, frame for frame, the C library's frames
#     included (named where gdb names them, at the same pcs);
#   - --unwinder=libunwind (x86_64 only) refuses in one line, exit 2;
#   - a 64-bit program's int 0x80 calls (testdata/int80) are i386 calls:
#     pause and read named and classified so, by the two bytes before the
#     pc (cd 80);
#   - check -- a 32-bit command that leaks a thread: exit 1, the leaked
#     thread, its wait, its stack and where it was created; the same run
#     from a 64-bit shell; one that joins everything: exit 0, no report;
#     a 64-bit one that exits with an int 0x80 exit_group: exit 1.
# The target is never left stopped.
. "$(dirname "$0")/../lib.sh"
. "$TL_ROOT/tests/expect-lib.sh"

need_cmd jq gdb
need_threadleak
need_testdata waits-i386 waits-O0-i386 checkme-i386 int80

# The system calls an i386 glibc (Debian 12's, built for kernels before
# 4.3: socket calls through socketcall) makes for each kind of wait.
declare -A CALLS=(
	[mutex]="futex futex_time64" [condvar]="futex futex_time64"
	[futex]="futex futex_time64" [join]="futex futex_time64"
	[read]="read readv recv recvfrom recvmsg" [write]="write writev"
	[poll]="poll ppoll ppoll_time64 _newselect select pselect6 pselect6_time64"
	[epoll]="epoll_wait epoll_pwait" [accept]="accept accept4"
	[connect]="connect" [sleep]="nanosleep clock_nanosleep clock_nanosleep_time64"
	[wait]="waitpid wait4 waitid"
	[signal]="pause rt_sigtimedwait rt_sigtimedwait_time64 rt_sigsuspend"
)

# check_build PROG: a waits build, snapshot and gdb (see the top)
check_build()
{
	local prog=$1 tid named main recv json stopjson out stopped kind name nr
	start_target "$TESTDATA/$prog"
	wx_parse "$TARGET_OUT"
	wx_settle "$TARGET_PID"
	# ELF class 1: 32-bit
	[ "$(od -An -tx1 -j4 -N1 "$TESTDATA/$prog" | tr -d ' ')" = 01 ] ||
		fail "testdata/$prog is not a 32-bit program"

	# what /proc says each blocked thread waits in, before anything looks
	local -A NR=()
	for tid in "${!WX_KIND[@]}"; do
		[ "${WX_KIND[$tid]}" = running ] && continue
		read -r NR[$tid] _ <"/proc/$TARGET_PID/task/$tid/syscall" ||
			fail "cannot read /proc/$TARGET_PID/task/$tid/syscall"
	done

	json=$TL_TMP/$prog.json
	snapshot_json "$TARGET_PID" "$json"
	assert_not_stopped "$TARGET_PID" "$prog: snapshot"
	((TL_RC == 0)) || error "$prog: snapshot: $(describe_rc $TL_RC), expected 0 (whole): $(first_line "$json.err")"
	wx_check "$prog: snapshot" "$json" "$TARGET_PID" no
	# whole from /proc/TID/syscall alone: no blocked thread stopped
	stopped=$(jq -r '[.threads[] | select(.stopped and .state != "R") | .tid] | join(" ")' "$json")
	[ -z "$stopped" ] || error "$prog: snapshot: blocked threads stopped: $stopped"
	# the system calls, by the i386 table
	named=0
	while IFS=$'\t' read -r tid name nr; do
		[ -n "${NR[$tid]+set}" ] || continue
		kind=${WX_KIND[$tid]}
		[[ " ${CALLS[$kind]} " == *" $name "* ]] ||
			error "$prog: snapshot: thread $tid (${WX_FUNC[$tid]}, $kind): system call '$name' ($nr), expected one of: ${CALLS[$kind]}"
		[ "$nr" = "${NR[$tid]}" ] ||
			error "$prog: snapshot: thread $tid (${WX_FUNC[$tid]}): syscall_nr $nr, /proc/TID/syscall says ${NR[$tid]}"
		named=$((named + 1))
	done < <(jq -r '.threads[] | [(.tid | tostring), (.wait.syscall // "null"),
		((.wait.syscall_nr // "null") | tostring)] | @tsv' "$json")
	at_least "$named" 22 "$prog: snapshot: blocked threads whose system call was checked"
	# the main thread in pause (i386 29; x86_64's 29 is shmget)
	main=$(jq -r --argjson p "$TARGET_PID" '.threads[] | select(.tid == $p) |
		"\(.wait.kind) \(.wait.syscall) \(.wait.syscall_nr)"' "$json")
	[ "$main" = "signal pause 29" ] || error "$prog: snapshot: main thread waits '$main', expected 'signal pause 29'"
	# a socket call's fd, read from socketcall's arguments in memory
	recv=$(jq -r '.threads[] | select(.wait.syscall == "recv") | .wait.object // "none"' "$json")
	[[ $recv == *socket:* ]] || error "$prog: snapshot: the recv thread's object is '$recv', not its socket"

	stopjson=$TL_TMP/$prog-stop.json
	snapshot_json "$TARGET_PID" "$stopjson" --stop
	assert_not_stopped "$TARGET_PID" "$prog: snapshot --stop"
	((TL_RC == 0)) || error "$prog: snapshot --stop: $(describe_rc $TL_RC), expected 0: $(first_line "$stopjson.err")"
	wx_check "$prog: snapshot --stop" "$stopjson" "$TARGET_PID" no

	# libunwind unwinds x86_64 only: one line, exit 2
	out=$TL_TMP/$prog-libunwind
	run_tl "$out" snapshot --unwinder=libunwind "$TARGET_PID"
	assert_not_stopped "$TARGET_PID" "snapshot --unwinder=libunwind"
	((TL_RC == 2)) || error "$prog: --unwinder=libunwind: $(describe_rc $TL_RC), expected 2"
	[ "$(wc -l <"$out.err")" = 1 ] && grep -q 'cannot unwind .*32-bit (i386)' "$out.err" ||
		error "$prog: --unwinder=libunwind: not one line saying why: $(head -c 300 "$out.err")"

	# gdb's stacks, last (gdb stops the target); the C library's internal
	# functions are "??" to gdb without libc6-dbg:i386: a third named alike
	gdb_frames "$prog: gdb" "$json" "$TARGET_PID" 22 --named-share 33
	proc_alive "$TARGET_PID" || fail "$prog: the target died"
	kill_target "$TARGET_PID"
}

# -O2, and -O0 (frame-pointer code, unwound without a stop all the same:
# a blocked call's __kernel_vsyscall saved ebp where its CFI says)
check_build waits-i386
check_build waits-O0-i386

# ---- int 0x80 in a 64-bit program ----
start_target "$TESTDATA/int80" wait
json=$TL_TMP/int80.json
snapshot_json "$TARGET_PID" "$json"
assert_not_stopped "$TARGET_PID" "int80"
((TL_RC == 0)) || error "int80: $(describe_rc $TL_RC), expected 0: $(first_line "$json.err")"
n=0
while read -r _ tid kind fn call; do
	got=$(jq -r --argjson t "$tid" '.threads[] | select(.tid == $t) |
		"\(.wait.kind) \(.wait.syscall) \([.frames[].function] | index("'"$fn"'") != null)"' "$json")
	[ "$got" = "$kind $call true" ] ||
		error "int80: thread $tid: '$got', expected '$kind $call true' (kind, system call, $fn on its stack)"
	n=$((n + 1))
done < <(grep '^expect ' "$TARGET_OUT")
at_least "$n" 2 "int80: threads compared"
obj=$(jq -r '.threads[] | select(.wait.syscall == "read") | .wait.object // "none"' "$json")
[[ $obj == pipe:* ]] || error "int80: the read thread's object is '$obj', not its pipe"
kill_target "$TARGET_PID"

# ---- check ----
OUT=$TL_TMP/leak
run_tl "$OUT" check -- "$TESTDATA/checkme-i386" leak
((TL_RC == 1)) || error "check leak: $(describe_rc $TL_RC), expected 1: $(first_line "$OUT.err")"
for re in '^threadleak: checkme-i386 \(pid [0-9]+\) exited with 1 thread still alive:$' \
	'^1 thread  condvar .* waiting [0-9.]+s$' '^    worker_wait +checkme\.c:[0-9]+' \
	'^    leaked_worker +checkme\.c:[0-9]+' '^  created by:$' \
	'^threadleak: 1 leaked thread in 1 process$'; do
	grep -Eq -- "$re" "$OUT.err" || error "check leak: no line matching '$re' in: $(head -c 600 "$OUT.err")"
done
created=$(sed -n '/^  created by:/,/^$/p' "$OUT.err")
grep -Eq '^    start_workers +checkme\.c:[0-9]+' <<<"$created" &&
	grep -Eq '^    main +checkme\.c:[0-9]+' <<<"$created" ||
	error "check leak: created by does not name start_workers and main: $created"

OUT=$TL_TMP/shell
run_tl "$OUT" check -- sh -c "'$TESTDATA/checkme-i386' leak; echo shell-ok"
((TL_RC == 1)) || error "check from a 64-bit shell: $(describe_rc $TL_RC), expected 1: $(first_line "$OUT.err")"
grep -q '^shell-ok$' "$OUT" || error "check from a 64-bit shell: the shell did not go on"
grep -Eq '^threadleak: checkme-i386 \(pid [0-9]+\) exited with 1 thread still alive:$' "$OUT.err" ||
	error "check from a 64-bit shell: no report: $(head -c 300 "$OUT.err")"

OUT=$TL_TMP/clean
run_tl "$OUT" check -- "$TESTDATA/checkme-i386" clean
((TL_RC == 0)) || error "check clean: $(describe_rc $TL_RC), expected 0: $(first_line "$OUT.err")"
[ -s "$OUT.err" ] && error "check clean: a report where there is no leak: $(head -c 300 "$OUT.err")"

OUT=$TL_TMP/int80-exit
run_tl "$OUT" check -- "$TESTDATA/int80" exit
((TL_RC == 1)) || error "check int80 exit: $(describe_rc $TL_RC), expected 1: $(first_line "$OUT.err")"
grep -Eq '^    int80_pause +int80\.c:[0-9]+' "$OUT.err" ||
	error "check int80 exit: the leaked thread is not reported: $(head -c 300 "$OUT.err")"

OUT=$TL_TMP/json
run_tl "$OUT" check --json -- "$TESTDATA/checkme-i386" many 5
((TL_RC == 1)) || error "check many: $(describe_rc $TL_RC), expected 1"
[ "$(jq -r .leaked "$OUT.err" 2>/dev/null)" = 5 ] ||
	error "check --json many 5: leaked is not 5: $(head -c 300 "$OUT.err")"

finish
