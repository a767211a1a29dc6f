# tests/expect-lib.sh: a snapshot checked against sources other than
# threadleak: what testdata/waits (and its -O0 and frame-pointer builds)
# prints of its own threads, /proc/PID/task, where the man page says a
# stack ends, and gdb's backtraces.  For tests that compare threadleak
# with itself (two unwinders, two modes, -o and --json): agreement alone
# passes when both sides are wrong alike.  Source it after lib.sh.
#
#   wx_parse FILE       the target's lines "expect TID KIND FUNCTION",
#                       "owner TID OWNER_TID", "group N FUNCTION" into
#                       WX_KIND[tid], WX_FUNC[tid], WX_OWNER[tid], WX_GROUP_N,
#                       WX_GROUP_FUNC; fails unless there are 20 or more
#                       and a group
#   wx_settle PID       waits until every thread the program says is blocked
#                       sleeps (the main thread prints "ready" just before
#                       it blocks); fails otherwise
#   wx_check LABEL JSON PID [ENDS]
#                       records an error for every difference between the
#                       snapshot and the program: the threads are exactly
#                       /proc's; each has the program's wait kind, its
#                       function on its stack, its mutex's owner; the
#                       group's threads have one stack; and stack_ends
#                       (ENDS=no: not, where the C library's functions have
#                       no names: gdb_frames checks those stacks whole)
#   stack_ends LABEL JSON PID
#                       every thread's stack is whole and ends where the
#                       man page says a stack ends: the executable's entry
#                       (_start) for the main thread, the C library's clone
#                       for the others
#   gdb_frames LABEL JSON PID [MIN [ARG...]]
#                       tests/gdb-compare.py: the snapshot's stacks against
#                       gdb's, thread for thread, frame for frame, running
#                       threads (state R in the snapshot) left out of both
#                       (they move between the two looks); at least MIN
#                       threads compared (default 1); ARGs to
#                       gdb-compare.py.  gdb stops the target: run it after
#                       the target's last snapshot.

declare -A WX_KIND=() WX_FUNC=() WX_OWNER=()
WX_GROUP_N=0 WX_GROUP_FUNC=

wx_parse()
{
	local word a b c
	WX_KIND=() WX_FUNC=() WX_OWNER=() WX_GROUP_N=0 WX_GROUP_FUNC=
	while read -r word a b c; do
		case $word in
		expect) WX_KIND[$a]=$b WX_FUNC[$a]=$c ;;
		owner) WX_OWNER[$a]=$b ;;
		group) WX_GROUP_N=$a WX_GROUP_FUNC=$b ;;
		esac
	done <"$1"
	((${#WX_KIND[@]} >= 20)) || fail "target printed only ${#WX_KIND[@]} expect lines"
	((WX_GROUP_N > 1)) || fail "target printed no group line"
}

wx_settle()
{
	local tid
	for tid in "${!WX_KIND[@]}"; do
		[ "${WX_KIND[$tid]}" = running ] && continue
		wait_blocked "$1" "$tid" 60 || fail "thread $tid (${WX_FUNC[$tid]}) never blocked"
	done
}

stack_ends()
{
	local label=$1 json=$2 pid=$3 out
	out=$(jq -r --argjson pid "$pid" '
		[.threads[] |
		 (if .tid == $pid then ["_start"] else ["__clone3", "clone3", "__clone", "clone"] end) as $ends |
		 (.frames[-1].function // "?") as $last |
		 select(.partial or (.frames | length) == 0 or ($ends | index([$last])) == null) |
		 "\(.tid) (partial \(.partial), ends in \(.frames[-1].function // "nothing"))"] as $bad |
		"\(.threads | length)\t\($bad[:5] | join(" "))"' "$json") ||
		{ error "$label: cannot read the stacks of $json"; return 1; }
	[ -z "${out#*$'\t'}" ] ||
		error "$label: stacks not whole, or not ending at _start (main) or clone: ${out#*$'\t'}"
	at_least "${out%%$'\t'*}" 1 "$label: threads whose stack end was checked"
}

wx_check()
{
	local label=$1 json=$2 pid=$3 tid state kind owner funcs live got compared=0
	local -A S_KIND=() S_OWNER=() S_FUNCS=()
	local group_sig= group_count=0

	if ! snap_valid "$json" "$pid"; then
		error "$label: not a threadleak snapshot of pid $pid: $(head -c 200 "$json")"
		return 1
	fi
	while IFS=$'\t' read -r tid state kind owner funcs; do
		S_KIND[$tid]=$kind S_OWNER[$tid]=$owner S_FUNCS[$tid]=$funcs
	done < <(snap_table "$json")

	live=$(task_tids "$pid" | tr '\n' ' ')
	got=$(snap_tids "$json" | tr '\n' ' ')
	[ "$live" = "$got" ] || error "$label: threads [$got], but /proc/$pid/task has [$live]"

	for tid in "${!WX_KIND[@]}"; do
		if [ -z "${S_KIND[$tid]+set}" ]; then
			error "$label: thread $tid (${WX_FUNC[$tid]}) missing from the snapshot"
			continue
		fi
		compared=$((compared + 1))
		[ "${S_KIND[$tid]}" = "${WX_KIND[$tid]}" ] ||
			error "$label: thread $tid (${WX_FUNC[$tid]}): kind ${S_KIND[$tid]}, the program says ${WX_KIND[$tid]}"
		has_function "${S_FUNCS[$tid]}" "${WX_FUNC[$tid]}" ||
			error "$label: thread $tid: ${WX_FUNC[$tid]} not on its stack [${S_FUNCS[$tid]}]"
		if [ -n "${WX_OWNER[$tid]+set}" ] && [ "${S_OWNER[$tid]}" != "${WX_OWNER[$tid]}" ]; then
			error "$label: thread $tid (${WX_FUNC[$tid]}): owner ${S_OWNER[$tid]}, the program says ${WX_OWNER[$tid]}"
		fi
		if [ "${WX_FUNC[$tid]}" = "$WX_GROUP_FUNC" ]; then
			group_count=$((group_count + 1))
			if [ -z "$group_sig" ]; then
				group_sig=${S_FUNCS[$tid]}
			elif [ "${S_FUNCS[$tid]}" != "$group_sig" ]; then
				error "$label: $WX_GROUP_FUNC thread $tid has stack [${S_FUNCS[$tid]}], another [$group_sig]"
			fi
		fi
	done
	((group_count == WX_GROUP_N)) ||
		error "$label: $group_count $WX_GROUP_FUNC threads, the program says $WX_GROUP_N"
	at_least "$compared" 20 "$label: threads compared with the program's word"
	[ "${4:-}" = no ] || stack_ends "$label" "$json" "$pid"
}

gdb_frames()
{
	local label=$1 json=$2 pid=$3 min=${4:-1} base=$TL_TMP/gdb$RANDOM running
	shift $(($# < 4 ? $# : 4))
	command -v gdb >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1 || {
		partial "$label: gdb's frames not compared (no gdb or python3)"
		return 0
	}
	timeout -k 5 120 gdb -p "$pid" -batch -nx -ex 'set pagination off' \
		-ex 'thread apply all bt' >"$base.gdb" 2>"$base.gdb.err" </dev/null
	grep -q '^Thread [0-9]' "$base.gdb" || {
		error "$label: gdb listed no thread: $(grep -v '^\[' "$base.gdb.err" | head -c 300)"
		return 1
	}
	running=$(jq -r '[.threads[] | select(.state == "R") | .tid] | join(" ")' "$json")
	jq --arg r " $running " '.threads |= map(select((" \(.tid) " | inside($r)) | not))' \
		"$json" >"$base.json" || { error "$label: cannot filter the snapshot"; return 1; }
	awk -v r=" $running " '
		/^Thread [0-9]+ \(/ {
			skip = 0
			if (match($0, /LWP [0-9]+/))
				skip = index(r, " " substr($0, RSTART + 4, RLENGTH - 4) " ") > 0
		}
		!skip' "$base.gdb" >"$base.gdb2"
	python3 "$TL_ROOT/tests/gdb-compare.py" "$base.json" "$base.gdb2" --min-threads "$min" "$@" \
		>"$base.out" 2>"$base.err"
	(($? == 0)) || error "$label: stacks differ from gdb's: $(head -c 600 "$base.err" | tr '\n' '|')"
	at_least "$(jq -r '.threads // 0' "$base.out" 2>/dev/null)" "$min" "$label: threads compared with gdb"
}
