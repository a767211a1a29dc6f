#!/bin/bash
# serve-clients: serve's HTTP side under clients that hold connections,
# as anyone who reaches --listen can (the limits the man page gives).
# With --request-timeout 600, so that no connection is cut by its
# deadline while the test looks, however slow the machine:
#   - 3 idle connections (connected, nothing sent) and a trickler (a
#     request never finished, a byte every second) open: a scrape by curl
#     is answered (within 120 s, so not because they were cut), and the
#     idle connections and the trickler are all still open after it
#     (served one at a time, the scrape waited behind them for ever), and
#     12 s later, past the default deadline, too;
#   - 16 connections from one address (its limit) open: a 17th from it
#     is closed at once while they stay open, and a scrape from another
#     address (127.0.0.2) is answered.
# With the default deadline (10 s): the trickler's connection is closed by
# serve while it keeps sending, and the idle ones too (waited for with a
# generous bound).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../serve-lib.sh"

need_cmd curl python3
need_threadleak
need_testdata leakyserver

CLIENTS=$TL_ROOT/tests/serve-clients.py

start_target "$TESTDATA/leakyserver"
LS=$TARGET_PID
start_serve --listen 127.0.0.1:0 --interval 600 --request-timeout 600 "$LS"
PORT=${SERVE_ADDR##*:}
# published: from now on a scrape waits for no capture
scrape "$TL_TMP/first" || fail "serve never answered a scrape"

# closed FILE NAME: serve-clients.py said connection NAME was closed
closed()
{
	grep -q "^$2 closed" "$1"
}

# ---- a scrape beside 3 idle connections and a trickler ----
start_target python3 "$CLIENTS" 127.0.0.1 "$PORT" 127.0.0.1 3 trickle
HOLD=$TARGET_PID HOLD_OUT=$TARGET_OUT
code=$(curl -s --max-time 120 -o "$TL_TMP/m" -w '%{http_code}' "http://$SERVE_ADDR/metrics")
[ "$code" = 200 ] && grep -q "^threadleak_threads{pid=\"$LS\"" "$TL_TMP/m" ||
	error "a scrape beside 3 idle connections and a trickler: HTTP $code, $(first_line "$TL_TMP/m")"
for i in 0 1 2; do
	closed "$HOLD_OUT" "idle $i" && error "idle connection $i was closed before the scrape beside it was answered"
done
closed "$HOLD_OUT" trickler && error "the trickler was closed before the scrape beside it was answered"
# past the default deadline (10 s), --request-timeout 600 keeps them all
tl_sleep 12
for name in "idle 0" "idle 1" "idle 2" trickler; do
	closed "$HOLD_OUT" "$name" && error "--request-timeout 600: $name closed within 12 s"
done
grep -q ' got ' "$HOLD_OUT" && error "serve answered a request never finished: $(grep ' got ' "$HOLD_OUT" | head -1)"
kill_target "$HOLD"

# ---- one address's limit: 16 connections ----
start_target python3 "$CLIENTS" 127.0.0.1 "$PORT" 127.0.0.1 17
HOLD=$TARGET_PID HOLD_OUT=$TARGET_OUT
wait_for 120 closed "$HOLD_OUT" "idle 16" || error "a 17th connection from 127.0.0.1 still open after 120 s"
n=$(grep -c '^idle [0-9]* closed' "$HOLD_OUT")
((n == 1)) || error "16 connections from one address: $n closed (the 17th only expected): $(tr '\n' '|' <"$HOLD_OUT")"
code=$(curl -s --max-time 120 --interface 127.0.0.2 -o "$TL_TMP/m2" -w '%{http_code}' "http://$SERVE_ADDR/metrics")
[ "$code" = 200 ] && grep -q "^threadleak_threads{pid=\"$LS\"" "$TL_TMP/m2" ||
	error "a scrape from 127.0.0.2 beside 16 connections from 127.0.0.1: HTTP $code, $(first_line "$TL_TMP/m2")"
kill_target "$HOLD"

# serve is whole after all that
scrape "$TL_TMP/last" && grep -q "^threadleak_threads{pid=\"$LS\"" "$TL_TMP/last" || error "no metrics at the end"
proc_alive "$SERVE_PID" || error "serve exited: $(first_line "$SERVE_ERR")"
kill_target "$SERVE_PID"

# ---- the default deadline: the trickler cut while it sends ----
start_serve --listen 127.0.0.1:0 --interval 600 "$LS"
PORT=${SERVE_ADDR##*:}
start_target python3 "$CLIENTS" 127.0.0.1 "$PORT" 127.0.0.1 3 trickle
HOLD=$TARGET_PID HOLD_OUT=$TARGET_OUT
# the trickler goes on sending: serve closes it all the same
wait_for 120 closed "$HOLD_OUT" trickler ||
	error "the trickler's connection still open after 120 s: $(tr '\n' '|' <"$HOLD_OUT")"
sent=$(sed -n 's/^trickler closed after \([0-9]*\) bytes.*/\1/p' "$HOLD_OUT")
at_least "$sent" 2 "bytes the trickler sent before serve closed it"
for i in 0 1 2; do
	wait_for 120 closed "$HOLD_OUT" "idle $i" || error "idle connection $i still open after 120 s"
done
grep -q ' got ' "$HOLD_OUT" && error "serve answered a request never finished: $(grep ' got ' "$HOLD_OUT" | head -1)"
kill_target "$HOLD"
proc_alive "$SERVE_PID" || error "serve exited: $(first_line "$SERVE_ERR")"
kill_target "$SERVE_PID"
kill_target "$LS"
finish
