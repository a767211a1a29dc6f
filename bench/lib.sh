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
