#!/bin/bash
# top-tui: the interactive view of `threadleak top`, driven in tmux against
# the leaky server (one leaked thread per request).  The header names the
# process; the table shows the leaking group, which grows and gets the
# 'growing' mark as requests come; the sort keys reorder it; Enter shows the
# group's stack and threads and Esc goes back (each thread's wait shown,
# also in a group of over 16 where refreshes read only some); 's' saves a valid
# snapshot; help, pause, and resizes down to a tiny window keep it drawing;
# q, Ctrl-C and the target's exit all end it with status 0 on a restored terminal
# (normal screen, cursor and tty modes back); a crash (SIGSEGV) restores it
# too; the target is never left stopped.
# A second run in the C locale with NO_COLOR shows only ASCII and no colour.
. "$(dirname "$0")/../lib.sh"

need_cmd tmux jq stty
need_threadleak
need_testdata leakyserver client

WAIT_S=${TL_TOP_TIMEOUT:-30}	# for each expected screen
SOCK=$TL_TMP/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }

at_exit 'tmux -S "$SOCK" kill-server >/dev/null 2>&1'

# The pane runs this: top in the given locale and colour setting, then a
# line with its exit status and whether the tty modes came back, then waits
# (so the pane stays for capture-pane) until the tmux server goes.
cat >"$TL_TMP/run-top.sh" <<'EOF'
#!/bin/bash
# run-top.sh THREADLEAK PID TAG LOCALE NO_COLOR
cd "$(dirname "$0")" || exit 1
export LC_ALL=$4 NO_COLOR=$5
before=$(stty -g)
"$1" top -d 0.5 "$2" 2>"$3.err"
rc=$?
after=$(stty -g)
[ "$before" = "$after" ] && tty=same || tty=changed
echo "$rc $tty" >"$3.rc"
echo "EXITED $rc tty $tty"
read -r _
EOF
chmod +x "$TL_TMP/run-top.sh"
cat >"$TL_TMP/tmux.conf" <<'EOF'
set -g default-terminal screen
set -g status off
set -g history-limit 100
EOF

# screen SESSION: the pane's text now, into $TL_TMP/SESSION.screen
screen()
{
	tm capture-pane -p -t "$1" >"$TL_TMP/$1.screen" 2>/dev/null
}

# wait_screen SESSION ERE [SECONDS [after-exit]]: until the pane shows a
# line matching ERE; 1 after SECONDS, 2 at once when top has exited and ERE
# did not match (with "after-exit": that is no reason to stop)
wait_screen()
{
	local deadline=$(($(tl_now_us) + ${3:-$WAIT_S} * 1000000)) gone
	while :; do
		gone=0
		[ -z "${4:-}" ] && [ -e "$TL_TMP/$1.rc" ] && gone=1
		screen "$1"
		grep -Eq -- "$2" "$TL_TMP/$1.screen" && return 0
		((gone)) && return 2
		(($(tl_now_us) < deadline)) || return 1
		tl_sleep 0.1
	done
}

# expect SESSION ERE WHAT: wait for it, else record an error with the screen;
# when top has exited, fail now
expect()
{
	wait_screen "$1" "$2"
	case $? in
	0) return 0 ;;
	2) fail "$3: top exited (status $(cat "$TL_TMP/$1.rc")) instead of showing '$2': $(head -c 300 "$TL_TMP/$1.err")" ;;
	esac
	error "$3: no line matching '$2' within ${WAIT_S}s; the screen: $(grep -v '^ *$' "$TL_TMP/$1.screen" | head -12 | cut -c 1-110 | tr '\n' '|')"
	return 1
}

# pane_flag SESSION NAME: a tmux pane format flag (alternate_on, cursor_flag)
pane_flag()
{
	tm display-message -p -t "$1" "#{$2}"
}

# start_top SESSION LOCALE NO_COLOR: top on the target in a new 120x40 pane
start_top()
{
	tm new-session -d -s "$1" -x 120 -y 40 \
		"$TL_TMP/run-top.sh" "$THREADLEAK" "$TARGET_PID" "$1" "$2" "$3" ||
		fail "tmux cannot start a session"
	expect "$1" "^pid $TARGET_PID leakyserver" "$1: header" ||
		fail "$1: the view did not start (stderr: $(head -c 300 "$TL_TMP/$1.err" 2>/dev/null))"
}

# wait_exit SESSION: until top has exited (its status is written)
wait_exit()
{
	local deadline=$(($(tl_now_us) + WAIT_S * 1000000))
	until [ -s "$TL_TMP/$1.rc" ]; do
		(($(tl_now_us) < deadline)) || return 1
		tl_sleep 0.1
	done
	read -r rc tty <"$TL_TMP/$1.rc"
}

# restored SESSION WHAT: the terminal is as top found it: the normal screen,
# a visible cursor, the keypad in normal mode, the line after top at its
# start.  The line comes after all top wrote: once tmux shows it, tmux has
# read all of that too, and its flags are top's last word.
restored()
{
	if ! wait_screen "$1" "^EXITED " "$WAIT_S" after-exit; then
		error "$2: the line printed after top is not at the start of a line on the normal screen: $(grep -v '^ *$' "$TL_TMP/$1.screen" | tail -3 | cut -c 1-110 | tr '\n' '|')"
		return
	fi
	[ "$(pane_flag "$1" alternate_on)" = 0 ] || error "$2: still on the alternate screen"
	[ "$(pane_flag "$1" cursor_flag)" = 1 ] || error "$2: the cursor is still hidden"
	[ "$(pane_flag "$1" keypad_flag)" = 0 ] || error "$2: the keypad is still in application mode"
}

# check_exit SESSION WHAT: top ended with status 0 and left the terminal
# as it found it
check_exit()
{
	if ! wait_exit "$1"; then
		error "$2: top did not exit within ${WAIT_S}s"
		return 1
	fi
	[ "$rc" = 0 ] || error "$2: exit status $rc, expected 0 (stderr: $(head -c 300 "$TL_TMP/$1.err"))"
	[ "$tty" = same ] || error "$2: the tty modes were not restored"
	restored "$1" "$2"
	assert_not_stopped "$TARGET_PID" "$2"
}

# column_sorted FILE FIELD: the table's rows (after the COUNT header) are in
# non-increasing order of FIELD (1 COUNT, 2 CHANGE)
column_sorted()
{
	awk -v f="$2" '
		/^ +COUNT +CHANGE/ { on = 1; next }
		on && NF >= 4 && $1 ~ /^[0-9]+$/ {
			v = $f; sub(/^\+/, "", v); v += 0
			if (n++ && v > last) bad = 1
			last = v
		}
		on && NF == 0 { exit }
		END { exit bad || !n }' "$1"
}

# tmux must work here (a pty, a socket)
tm -f "$TL_TMP/tmux.conf" new-session -d -s probe -x 20 -y 5 "read -r _" 2>/dev/null ||
	skip "tmux cannot start a server here"
locale=C.UTF-8
locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' || locale=C

start_target "$TESTDATA/leakyserver"
PORT=$(awk '/^port /{print $2}' "$TARGET_OUT")
[ -n "$PORT" ] || fail "leakyserver printed no port"
"$TESTDATA/client" "$PORT" 3 >/dev/null || fail "client failed"

# ---- the table, growth, sorting ----
S=main
start_top "$S" "$locale" ""
[ "$(pane_flag "$S" alternate_on)" = 1 ] || error "the view is not on the alternate screen"
expect "$S" "^ +3 +0 .* condvar .*wait_for_reply \(leakyserver\.c:[0-9]+\)" "the leaking group with 3 threads"
expect "$S" "^waits .*condvar" "the totals per wait kind"
expect "$S" "every 0\.5s" "the interval"
expect "$S" "^q quit" "the key hints"

# batches of 2, each seen by a refresh: growth, then the mark.  The mark
# needs two growths within 4 refreshes or 10 s, and the screen that shows
# a batch may come later than that on a loaded machine: batches go on
# until a screen shows the group at its new size marked (6 at most, so
# that the detail view below has room for every thread).  leak: the
# group's size.
total=$(($(task_tids "$TARGET_PID" | wc -l)))
leak=3 marked=0
for batch in 1 2 3 4 5 6; do
	"$TESTDATA/client" "$PORT" 2 >/dev/null || fail "client failed"
	total=$((total + 2)) leak=$((leak + 2))
	expect "$S" "threads $total [(][+]$((batch * 2))[)]" "batch $batch: the header's total" || break
	((batch >= 2)) || continue
	grep -Eq "^ +$leak +[+]$((leak - 3)) +[+][0-9.]+/s condvar .*growing .*wait_for_reply" "$TL_TMP/$S.screen" ||
		continue
	marked=1
	grep -Eq "suspects [1-9]" "$TL_TMP/$S.screen" ||
		error "the suspect count: none on the screen marking a group growing: $(grep -v '^ *$' "$TL_TMP/$S.screen" | head -8 | cut -c 1-110 | tr '\n' '|')"
	break
done
((marked)) || error "the leaking group never marked growing at its size after $batch batches: $(grep -v '^ *$' "$TL_TMP/$S.screen" | head -12 | cut -c 1-110 | tr '\n' '|')"

tm send-keys -t "$S" c
if expect "$S" "  sort count( |$)" "sort by count"; then
	column_sorted "$TL_TMP/$S.screen" 1 || error "sort count: rows not by count: $(grep -A8 COUNT "$TL_TMP/$S.screen" | tr '\n' '|')"
fi
tm send-keys -t "$S" u
expect "$S" "  sort cpu( |$)" "sort by cpu"
tm send-keys -t "$S" g
if expect "$S" "  sort growth( |$)" "sort by growth"; then
	column_sorted "$TL_TMP/$S.screen" 2 || error "sort growth: rows not by change: $(grep -A8 COUNT "$TL_TMP/$S.screen" | tr '\n' '|')"
fi

# ---- the detail view ----
tm send-keys -t "$S" Home Enter
if expect "$S" "^stack, innermost first" "Enter: the detail view"; then
	expect "$S" "^$leak threads +condvar" "detail: the group's summary"
	expect "$S" "^  wait_for_reply +leakyserver\.c:[0-9]+" "detail: wait_for_reply with its line"
	expect "$S" "^  handle_request +leakyserver\.c:[0-9]+" "detail: handle_request"
	expect "$S" "^  _*pthread_cond_wait .*libc\.so" "detail: the library frame and its module"
	expect "$S" "^threads \($leak\)" "detail: the thread count"
	# every handler thread is listed ($leak of them: the screen has room)
	handlers=0
	for tid in $(task_tids "$TARGET_PID"); do
		{ read -r comm <"/proc/$TARGET_PID/task/$tid/comm"; } 2>/dev/null || continue
		[ "$comm" = handler ] || continue
		handlers=$((handlers + 1))
		grep -Eq "^ +$tid +handler +S " "$TL_TMP/$S.screen" ||
			error "detail: handler thread $tid not listed"
	done
	((handlers == leak)) || error "detail: the server has $handlers handler threads, expected $leak"
	expect "$S" "^Esc/Enter/q back" "detail: the key hints"
	tm send-keys -t "$S" End Down PageDown Up Home
	expect "$S" "^stack, innermost first" "detail: scrolled back to the top"
	tm send-keys -t "$S" Escape
	expect "$S" "^ +COUNT +CHANGE" "Esc: back to the table"
	grep -q "^stack, innermost first" "$TL_TMP/$S.screen" && error "Esc: the stack is still shown"
	tm send-keys -t "$S" Enter
	expect "$S" "^stack, innermost first" "Enter again"
	tm send-keys -t "$S" q
	expect "$S" "^ +COUNT +CHANGE" "q in the detail view: back to the table"
fi

# ---- save, help, pause ----
tm send-keys -t "$S" s
if expect "$S" "saved threadleak-$TARGET_PID-[0-9-]+\.json" "s: the saved message"; then
	saved=$(ls "$TL_TMP"/threadleak-"$TARGET_PID"-*.json 2>/dev/null | head -1)
	if [ -z "$saved" ]; then
		error "s: no file threadleak-$TARGET_PID-*.json in the directory top ran in"
	else
		[ "$(jq .version "$saved" 2>/dev/null)" = 2 ] || error "s: $saved is not a snapshot file (version 2)"
		snap_valid "$saved" "$TARGET_PID" || error "s: $saved is not a snapshot of $TARGET_PID"
	fi
fi
tm send-keys -t "$S" h
expect "$S" "press any key to go back" "h: the help"
tm send-keys -t "$S" x
expect "$S" "^ +COUNT +CHANGE" "a key after the help: back to the table"
tm send-keys -t "$S" p
expect "$S" "PAUSED +every" "p: paused"
tm send-keys -t "$S" p +
expect "$S" "every 1\.0s" "p again and +: every 1s"
grep -q "PAUSED" "$TL_TMP/$S.screen" && error "p again: still paused"
tm send-keys -t "$S" -- -
expect "$S" "every 0\.5s" "-: back to 0.5s"

# ---- resizes, down to tiny ----
for size in 20x5 10x2 1x1 40x8 120x40; do
	tm resize-window -t "$S" -x "${size%x*}" -y "${size#*x}" 2>/dev/null || {
		error "tmux cannot resize to $size"
		continue
	}
	case $size in
	1x1) tl_sleep 0.6 ;;
	10x2) expect "$S" "^pid $TARGET_PID" "resized to $size" ;;
	120x40) expect "$S" "^ +$leak .*wait_for_reply" "resized back to $size" ;;
	*) expect "$S" "^  COUNT" "resized to $size" ;;
	esac
done
# still refreshing: the sample count moves on
samples()
{
	sed -n 's/.*samples \([0-9]*\) .*/\1/p' "$TL_TMP/$S.screen" | head -1
}
n1=$(samples)
if [ -z "$n1" ]; then
	error "after the resizes: no sample count in the header"
else
	deadline=$(($(tl_now_us) + WAIT_S * 1000000))
	while screen "$S" && n2=$(samples) && ((${n2:-0} <= n1)); do
		if (($(tl_now_us) >= deadline)); then
			error "no refresh after the resizes (still at $n1 samples, now '${n2}')"
			break
		fi
		tl_sleep 0.1
	done
fi
proc_alive "$TARGET_PID" || fail "the target died"

tm send-keys -t "$S" q
check_exit "$S" "q"

# ---- Ctrl-C, in the C locale without colour ----
S=intr
start_top "$S" C 1
expect "$S" "^ +$leak .*wait_for_reply" "C locale: the table"
tm capture-pane -p -e -t "$S" >"$TL_TMP/$S.ansi"
LC_ALL=C grep -q $'[\x80-\xff]' "$TL_TMP/$S.ansi" &&
	error "C locale: non-ASCII on the screen: $(LC_ALL=C grep -m1 $'[\x80-\xff]' "$TL_TMP/$S.ansi" | cut -c 1-100)"
grep -Eq $'\e\\[([0-9;]*;)?[34][0-7](;[0-9;]*)?m' "$TL_TMP/$S.ansi" &&
	error "NO_COLOR: the screen has colours"
grep -q $'\e\\[[0-9;]*7[;m]' "$TL_TMP/$S.ansi" ||
	error "NO_COLOR: no reverse video (selection, headers)"
tm send-keys -t "$S" C-c
check_exit "$S" "Ctrl-C"

# ---- a crash: the terminal is restored before it dies ----
S=crash
start_top "$S" "$locale" ""
pane=$(pane_flag "$S" pane_pid)
top_pid=
for f in /proc/[0-9]*/stat; do
	{ read -r line <"$f"; } 2>/dev/null || continue
	read -r -a fields <<<"${line##*) }"
	[ "${fields[1]}" = "$pane" ] && top_pid=${f#/proc/} top_pid=${top_pid%/stat}
done
if [ -z "$top_pid" ]; then
	error "crash: cannot find top under the pane's shell $pane"
else
	kill -SEGV "$top_pid"
	if wait_exit "$S"; then
		[ "$rc" != 0 ] || error "crash: exit status 0 after SIGSEGV"
		restored "$S" "crash"
		st=$(wait_not_stopped "$TARGET_PID" 30) || error "crash: target left stopped: $st"
	else
		error "crash: top did not die of SIGSEGV within ${WAIT_S}s"
	fi
fi

# ---- a group larger than top reads waits of per refresh (16 a stack):
# its detail view reads the rest, so no thread's wait shows as "-" ----
S=many
start_top "$S" "$locale" ""
expect "$S" "^ +$leak .*wait_for_reply" "many: the table"
"$TESTDATA/client" "$PORT" 20 >/dev/null || fail "client failed"
total=$((total + 20))
expect "$S" "threads $total " "20 more requests: the header's total"
tm send-keys -t "$S" g Home Enter
if expect "$S" "^$((leak + 20)) threads +condvar" "the detail of the group of $((leak + 20))"; then
	# its members in tid order: End shows the last, Home the group's head
	last=0
	for tid in $(task_tids "$TARGET_PID"); do
		{ read -r comm <"/proc/$TARGET_PID/task/$tid/comm"; } 2>/dev/null && [ "$comm" = handler ] &&
			last=$tid
	done
	for end in End Home; do
		tm send-keys -t "$S" "$end"
		case $end in
		End) expect "$S" "^ +$last +handler +S " "detail of $((leak + 20)), End: the last thread, $last" || continue ;;
		Home) expect "$S" "^$((leak + 20)) threads +condvar" "detail of $((leak + 20)), Home: the group's head" || continue ;;
		esac
		n=$(grep -Ec "^ +[0-9]+ +handler +S " "$TL_TMP/$S.screen")
		((n > 0)) || error "detail of $((leak + 20)) ($end): no handler thread listed"
		grep -Eq "^ +[0-9]+ +handler +S +- " "$TL_TMP/$S.screen" &&
			error "detail of $((leak + 20)) ($end): a handler's wait is not shown: $(grep -E '^ +[0-9]+ +handler +S +- ' "$TL_TMP/$S.screen" | head -2 | tr '\n' '|')"
	done
	tm send-keys -t "$S" Escape
	expect "$S" "^ +COUNT +CHANGE" "Esc: back to the table"
fi
tm send-keys -t "$S" q
check_exit "$S" "q"


# ---- the target exits ----
S=gone
start_top "$S" "$locale" ""
printf 'quit\n' 2>/dev/null >"/dev/tcp/127.0.0.1/$PORT" || kill_target "$TARGET_PID"
if wait_exit "$S"; then
	[ "$rc" = 0 ] || error "target exit: top's exit status $rc, expected 0"
	[ "$tty" = same ] || error "target exit: the tty modes were not restored"
	restored "$S" "target exit"
	msgs=$(grep -c '^threadleak: ' "$TL_TMP/$S.err")
	grep -q "^threadleak: .*$TARGET_PID.*exited" "$TL_TMP/$S.err" && ((msgs == 1)) ||
		error "target exit: expected one line saying it exited, got: $(grep '^threadleak' "$TL_TMP/$S.err" | head -3 | tr '\n' '|')"
else
	error "top did not end within ${WAIT_S}s of the target's exit"
fi
finish
