# bench/lib.sh: what the benchmark scripts share (sourced; needs OUT and
# TMP set by the caller).

# put_block START END BLOCK INTRO: BLOCK between START and END in $OUT,
# in place, or appended after INTRO when $OUT has no such block
put_block()
{
	if [ -f "$OUT" ] && grep -qF "$1" "$OUT"; then
		awk -v s="$1" -v e="$2" -v b="$3" '
			$0 == s { print b; skip = 1; next }
			$0 == e { skip = 0; next }
			!skip' "$OUT" >"$TMP/.put_block" && cat "$TMP/.put_block" >"$OUT"
	else
		printf '\n%s\n\n%s\n' "$4" "$3" >>"$OUT"
	fi
}

# table_rows HEADER ROW...: a markdown table, HEADER (its first lines)
# then each ROW, one a line.
table_rows()
{
	local t=$1 r
	shift
	for r in "$@"; do
		t="$t
$r"
	done
	printf '%s' "$t"
}

# wait_ready FILE PID: until FILE has a line starting "ready" (PID's
# output), at most 2 minutes, or PID ends; whether it came.
wait_ready()
{
	for _ in $(seq 1200); do
		grep -q '^ready' "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^ready' "$1"
}

# ticks_of PID: utime + stime of a process, in clock ticks
ticks_of()
{
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	s=${s##*) }
	set -- $s
	echo $((${12} + ${13}))
}

# pct TICKS NS: share of one core (HZ set by the caller: getconf CLK_TCK)
pct() { awk -v t="$1" -v ns="$2" -v hz="$HZ" 'BEGIN { printf "%.2f", 100 * t / hz * 1e9 / ns }'; }

# bench_serve ARG...: threadleak serve ARG... in the background (tests/
# lib.sh's start_target_nowait: killed at the exit), until a scrape gets
# its first metrics (into $TMP/m).  Sets S (its pid), SERR (its stderr)
# and addr (HOST:PORT); exits 1 when it ends first.
bench_serve()
{
	start_target_nowait "$THREADLEAK" serve "$@"
	S=$TARGET_PID SERR=$TARGET_ERR addr=
	until [ -n "$addr" ]; do
		addr=$(sed -n 's|^threadleak: serving http://\(.*\)/metrics$|\1|p' "$SERR")
		proc_alive "$S" || { say "serve exited: $(head -c 300 "$SERR")"; exit 1; }
		tl_sleep 0.05
	done
	until [ "$(curl -s -o "$TMP/m" -w '%{http_code}' "http://$addr/metrics")" = 200 ]; do
		proc_alive "$S" || { say "serve exited: $(head -c 300 "$SERR")"; exit 1; }
		tl_sleep 0.05
	done
}
