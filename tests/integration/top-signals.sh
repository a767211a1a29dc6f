#!/bin/bash
# top-signals: SIGINT, SIGTERM and SIGHUP sent to `threadleak top` (man
# page, EXIT STATUS: "128+N interrupted by signal N (SIGINT, SIGTERM,
# SIGHUP) after releasing every thread (top -b too; the interactive view
# ends with 0)").
#   - during a capture: testdata/holder --once (tests/holder-lib.sh) holds
#     a thread in state D; top -b
#     --timeout 600 seizes it and waits (its TracerPid in /proc).  The
#     signal ends top with 128+N, no frame printed; no thread of the target
#     is left traced or stopped, and once released the D thread runs on and
#     blocks without a stop.
#   - between refreshes (top -b -d 3600, asleep after its first frame):
#     128+N, the output that one whole frame (ended by its empty line).
#   - the interactive view (in tmux): SIGTERM and SIGHUP end it with 0 and
#     the terminal's modes as they were.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../holder-lib.sh"

need_cmd tmux stty
need_threadleak
need_testdata holder

start_holder 2
pid=$HOLDER_PID
holder=$HOLDER_TID

declare -A signo=([INT]=2 [TERM]=15 [HUP]=1)

# ---- during a capture ----
rounds=0
for sig in TERM HUP INT; do
	label="top -b, SIG$sig during a capture"
	"$THREADLEAK" top -b --timeout 600 "$pid" >"$TL_TMP/during-$sig" 2>"$TL_TMP/during-$sig.err" </dev/null &
	tl=$!
	register_pid "$tl"
	if ! wait_seized "$tl"; then
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

release_holder
wait_released
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
	until tm capture-pane -p -t "s$sig" 2>/dev/null | grep -q "^pid $pid holder"; do
		[ -e "$tag.rc" ] && break
		((SECONDS < deadline)) || break
		tl_sleep 0.05
	done
	read -r tpid <"$tag.pid" 2>/dev/null
	if ! tm capture-pane -p -t "s$sig" 2>/dev/null | grep -q "^pid $pid holder" || [ -z "${tpid:-}" ]; then
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
