#!/bin/bash
# serve-churn: serve --match under a churn of short-lived processes keeps
# what it watches, not what it saw:
#   - 2,000 processes named tlchurn (a copy of sleep), 10 at a time, each
#     living 0.2 s, watched by serve --match '^tlchurn$' every 0.1 s (the
#     scrapes during the churn must show at least 100 of them);
#   - once they are gone, /metrics has no series for any of them;
#   - serve's resident memory (/proc/PID/status): its peak (VmHWM) within
#     what 10 sessions take (at most 10 processes live at a time: the
#     peak is theirs, not the 2,000's; a dead process's session was
#     closed only after the next one's was opened: 200 MB and more), and
#     what it keeps (VmRSS) with nothing left to watch within 24 MB of
#     what it had before the churn (freed sessions stayed in malloc's
#     heap: 76 MB and more kept).
# tl: timeout 600
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../serve-lib.sh"

need_cmd curl
need_threadleak

N=2000 P=10
# one session of a sleep: about 10 MB resident, most of it libc's debug
# file mapped (once a session)
SESSION_KB=$((16 * 1024))
KEPT_KB=$((24 * 1024))
# AddressSanitizer's quarantine holds what is freed (256 MB) before it is
# reused, and its allocator gives free pages back only when asked to:
# that is the sanitizer's cost, not serve's.  Other builds ignore this.
# Even so its allocator keeps more (15 MB more kept, measured): its
# bounds are wider.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:allocator_release_to_os_interval_ms=0
if ldd "$THREADLEAK" 2>/dev/null | grep -q libasan; then
	SESSION_KB=$((20 * 1024)) KEPT_KB=$((48 * 1024))
fi

cp /bin/sleep "$TL_TMP/tlchurn" || fail "cannot copy /bin/sleep"

# status_kb PID FIELD: FIELD (VmRSS, VmHWM) of PID in KB
status_kb()
{
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# refreshes FILE: threadleak_refreshes_total in a scrape
refreshes()
{
	sed -n 's/^threadleak_refreshes_total //p' "$1"
}

start_serve --listen 127.0.0.1:0 --interval 0.1 --match '^tlchurn$'
scrape "$TL_TMP/m0" || fail "serve never answered"
# settled: a few refreshes of nothing
r0=$(refreshes "$TL_TMP/m0")
refreshed_since()
{
	scrape "$TL_TMP/m" && (($(refreshes "$TL_TMP/m") >= $1))
}
wait_for 60 refreshed_since $((r0 + 5)) || fail "serve made no 5 refreshes in 60 s"
base=$(status_kb "$SERVE_PID" VmRSS)
[ -n "$base" ] || fail "no VmRSS for serve $SERVE_PID"

churn()
{
	local i j
	for ((i = 0; i < N; i += P)); do
		for ((j = 0; j < P; j++)); do
			"$TL_TMP/tlchurn" 0.2 &
		done
		wait
	done
	echo done
}
churn >"$TL_TMP/churn.out" 2>&1 </dev/null &
CHURN=$!
register_pid "$CHURN"

# scrape while it runs: the pids of the series seen
: >"$TL_TMP/seen"
while ! has_line "$TL_TMP/churn.out" done; do
	proc_alive "$CHURN" || break
	scrape "$TL_TMP/m" && sed -n 's/^threadleak_up{pid="\([0-9]*\)",comm="tlchurn"} .*/\1/p' "$TL_TMP/m" >>"$TL_TMP/seen"
	tl_sleep 0.2
done
has_line "$TL_TMP/churn.out" done || error "the churn ended without 'done': $(first_line "$TL_TMP/churn.out")"
unregister_pid "$CHURN"
wait "$CHURN"
seen=$(sort -u "$TL_TMP/seen" | wc -l)
at_least "$seen" 100 "tlchurn processes seen in serve's metrics during the churn"

# none left: no series, then one more refresh (its sessions closed after
# the metrics without them were made)
no_series()
{
	scrape "$TL_TMP/m" && ! grep -q '^threadleak_up{' "$TL_TMP/m"
}
wait_for 60 no_series || error "series 60 s after the churn: $(grep -m1 '^threadleak_up{' "$TL_TMP/m")"
r=$(refreshes "$TL_TMP/m")
wait_for 60 refreshed_since $((r + 2)) || error "serve made no 2 refreshes in 60 s after the churn"
grep '^threadleak_' "$TL_TMP/m" | grep -v '^threadleak_refreshes_total ' | head -1 | grep -q . &&
	error "series with nothing to watch: $(grep '^threadleak_' "$TL_TMP/m" | grep -v '^threadleak_refreshes_total ' | head -1)"

peak=$(status_kb "$SERVE_PID" VmHWM)
kept=$(status_kb "$SERVE_PID" VmRSS)
note "serve's memory: ${base} KB before, peak ${peak} KB, ${kept} KB kept after $N processes"
((peak <= base + P * SESSION_KB)) ||
	error "serve's peak memory ${peak} KB over ${base} KB + $P sessions of $SESSION_KB KB"
((kept <= base + KEPT_KB)) ||
	error "serve keeps ${kept} KB with nothing to watch, over ${base} KB + $KEPT_KB KB"
proc_alive "$SERVE_PID" || error "serve exited: $(first_line "$SERVE_ERR")"
kill_target "$SERVE_PID"
finish
