#!/bin/bash
# top-signals: SIGINT, SIGTERM and SIGHUP sent to `threadleak top` (man
# page, EXIT STATUS: "128+N interrupted by signal N (SIGINT, SIGTERM,
# SIGHUP) after releasing every thread (top -b too; the interactive view
# ends with 0)").
#   - during a capture: testdata/dhold holds a thread in state D; top -b
#     --timeout 600 seizes it and waits (its TracerPid in /proc).  The
#     signal ends top with 128+N, no frame printed; no thread of the target
#     is left traced or stopped, and once released the D thread runs on and
#     blocks without a stop.
#   - between refreshes (top -b -d 3600, asleep after its first frame):
#     128+N, the output that one whole frame (ended by its empty line).
#   - the interactive view (in tmux): SIGTERM and SIGHUP end it with 0 and
#     the terminal's modes as they were.
. "$(dirname "$0")/../lib.sh"

need_cmd tmux stty
need_threadleak
need_testdata dhold

fifo=$TL_TMP/fifo
mkfifo "$fifo" || fail "cannot make a FIFO in $TL_TMP"
start_target "$TESTDATA/dhold" "$fifo" 2
pid=$TARGET_PID
out=$TARGET_OUT
read -r _ holder _ < <(grep '^holder ' "$out")
[ -n "$holder" ] || fail "dhold printed no holder line"

declare -A signo=([INT]=2 [TERM]=15 [HUP]=1)

tracer_of() { awk '/^TracerPid:/ { print $2 }' "/proc/$pid/task/$1/status" 2>/dev/null; }

# wait_gone PID: wait (60 s at most) for our child PID to end; sets RC
wait_gone()
{
	local deadline=$((SECONDS + 60))
	while proc_alive "$1" && ((SECONDS < deadline)); do
		tl_sleep 0.02
	done
	if proc_alive "$1"; then
		tl_kill_child "$1"
		unregister_pid "$1"
		wait "$1" 2>/dev/null
		RC=hung
		return 1
	fi
	unregister_pid "$1"
	wait "$1"
	RC=$?
	return 0
}

# no_tracer WHAT: no thread of the target is traced or stopped
no_tracer()
{
	local t tr
	for t in $(task_tids "$pid"); do
		tr=$(tracer_of "$t")
		[ "${tr:-0}" = 0 ] || error "$1: thread $t still traced by $tr"
	done
	assert_not_stopped "$pid" "$1"
}

# ---- during a capture ----
rounds=0
for sig in TERM HUP INT; do
	label="top -b, SIG$sig during a capture"
	"$THREADLEAK" top -b --timeout 600 "$pid" >"$TL_TMP/during-$sig" 2>"$TL_TMP/during-$sig.err" </dev/null &
	tl=$!
	register_pid "$tl"
	deadline=$((SECONDS + 60))
	until [ "$(tracer_of "$holder")" = "$tl" ] || ! proc_alive "$tl" || ((SECONDS >= deadline)); do
		tl_sleep 0.02
	done
	if [ "$(tracer_of "$holder")" != "$tl" ]; then
		error "$label: top never seized the thread in D: $(head -c 200 "$TL_TMP/during-$sig.err")"
		wait_gone "$tl"
		continue
	fi
	kill -"$sig" "$tl"
	wait_gone "$tl"
	[ "$RC" = $((128 + ${signo[$sig]})) ] ||
		error "$label: exit status $RC, expected $((128 + ${signo[$sig]})): $(head -c 200 "$TL_TMP/during-$sig.err")"
	[ -s "$TL_TMP/during-$sig" ] && error "$label: printed $(first_line "$TL_TMP/during-$sig")"
	no_tracer "$label"
	[ "$(proc_state "$pid" "$holder")" = D ] || error "$label: the holder is in state $(proc_state "$pid" "$holder"), not D"
	rounds=$((rounds + 1))
done
at_least "$rounds" 3 "signals sent during a capture"

exec {fd}<>"$fifo"
exec {fd}>&-
deadline=$((SECONDS + 60))
until grep -q "^released $holder\$" "$out"; do
	((SECONDS < deadline)) || fail "dhold never said the holder was released"
	tl_sleep 0.02
done
wait_blocked "$pid" "$holder" 30 || error "the released holder never blocked again (state $(proc_state "$pid" "$holder"))"
no_tracer "the holder released"

# ---- between refreshes ----
rounds=0
for sig in TERM HUP INT; do
	label="top -b, SIG$sig between refreshes"
	f=$TL_TMP/between-$sig
	"$THREADLEAK" top -b -d 3600 "$pid" >"$f" 2>"$f.err" </dev/null &
	tl=$!
	register_pid "$tl"
	deadline=$((SECONDS + 60))
	until grep -q '^threadleak top:' "$f" && grep -q '^$' "$f" && [ "$(proc_state "$tl" "$tl")" = S ]; do
		proc_alive "$tl" && ((SECONDS < deadline)) || break
		tl_sleep 0.02
	done
	if ! grep -q '^$' "$f"; then
		error "$label: no first frame: $(head -c 200 "$f.err")"
		wait_gone "$tl"
		continue
	fi
	kill -"$sig" "$tl"
	wait_gone "$tl"
	[ "$RC" = $((128 + ${signo[$sig]})) ] ||
		error "$label: exit status $RC, expected $((128 + ${signo[$sig]})): $(head -c 200 "$f.err")"
	[ "$(grep -c '^threadleak top:' "$f")" = 1 ] && [ -z "$(tail -n 1 "$f")" ] ||
		error "$label: the output is not one whole frame: $(tail -n 3 "$f" | tr '\n' '|')"
	no_tracer "$label"
	rounds=$((rounds + 1))
done
at_least "$rounds" 3 "signals sent between refreshes"

# ---- the interactive view ----
SOCK=$TL_TMP/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
at_exit 'tmux -S "$SOCK" kill-server >/dev/null 2>&1'
cat >"$TL_TMP/run-top.sh" <<'EOF'
#!/bin/bash
# run-top.sh TAG THREADLEAK ARG...: top in the foreground; TAG.pid its pid,
# TAG.rc "STATUS same|changed" (the tty modes after it)
tag=$1
shift
before=$(stty -g)
sh -c 'echo $$ >"$0.pid"; exec "$@"' "$tag" "$@" 2>"$tag.err"
rc=$?
after=$(stty -g)
[ "$before" = "$after" ] && tty=same || tty=changed
echo "$rc $tty" >"$tag.rc"
read -r _
EOF
chmod +x "$TL_TMP/run-top.sh"
rounds=0
for sig in TERM HUP; do
	label="interactive top, SIG$sig"
	tag=$TL_TMP/tui-$sig
	tm new-session -d -s "s$sig" -x 120 -y 30 "$TL_TMP/run-top.sh" "$tag" "$THREADLEAK" top -d 0.5 "$pid" ||
		fail "tmux cannot start a session"
	deadline=$((SECONDS + 60))
	until tm capture-pane -p -t "s$sig" 2>/dev/null | grep -q "^pid $pid dhold"; do
		[ -e "$tag.rc" ] && break
		((SECONDS < deadline)) || break
		tl_sleep 0.05
	done
	read -r tpid <"$tag.pid" 2>/dev/null
	if ! tm capture-pane -p -t "s$sig" 2>/dev/null | grep -q "^pid $pid dhold" || [ -z "${tpid:-}" ]; then
		error "$label: the view did not start: $(head -c 200 "$tag.err" 2>/dev/null)"
		continue
	fi
	kill -"$sig" "$tpid"
	deadline=$((SECONDS + 60))
	until [ -s "$tag.rc" ] || ((SECONDS >= deadline)); do
		tl_sleep 0.05
	done
	read -r rc tty <"$tag.rc" 2>/dev/null
	[ "${rc:-none}" = 0 ] || error "$label: exit status ${rc:-none (still running)}, expected 0: $(head -c 200 "$tag.err")"
	[ "${tty:-}" = same ] || error "$label: the terminal's modes were not restored"
	[ "$(tm display-message -p -t "s$sig" '#{alternate_on}')" = 0 ] || error "$label: still on the alternate screen"
	no_tracer "$label"
	rounds=$((rounds + 1))
done
at_least "$rounds" 2 "signals sent to the interactive view"
finish
