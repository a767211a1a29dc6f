#!/bin/bash
# text-output: the text `snapshot` prints, read back and checked against
# what testdata/waits says of each of its threads (tid, wait kind,
# function) and /proc's thread count.  Grouped (the default): the summary
# line counts every thread and each kind as the program has them; every
# group's header gives its size and kind, and lists its threads; each of
# the program's threads is in a group of its kind with its function on the
# stack, the 5 pool threads in one group.  --threads: one entry per thread,
# its kind and function the program's.
. "$(dirname "$0")/../lib.sh"
. "$TL_ROOT/tests/expect-lib.sh"

need_cmd awk
need_threadleak
need_testdata waits

start_target "$TESTDATA/waits"
wx_parse "$TARGET_OUT"
wx_settle "$TARGET_PID"
nthreads=$(task_tids "$TARGET_PID" | wc -l)
# the kinds as the program counts them: "KIND N" lines, sorted
want_kinds=$(for t in "${!WX_KIND[@]}"; do echo "${WX_KIND[$t]}"; done | sort | uniq -c |
	awk '{ print $2, $1 }' | sort)

# summary LABEL FILE: "waits (pid P): N threads — K1 kind1, K2 kind2, ..."
summary()
{
	local label=$1 line got
	line=$(grep -m1 "^waits (pid $TARGET_PID): " "$2")
	[ -n "$line" ] || { error "$label: no summary line 'waits (pid $TARGET_PID): ...': $(first_line "$2")"; return; }
	[[ $line == *": $nthreads threads — "* ]] ||
		error "$label: summary '$line' does not count the $nthreads threads /proc has"
	got=$(printf '%s\n' "${line#* — }" | tr ',' '\n' | awk 'NF == 2 { print $2, $1 }' | sort)
	[ "$got" = "$want_kinds" ] ||
		error "$label: summary counts [$(echo $got)], the program's threads [$(echo $want_kinds)]"
}

# ---- grouped (default) ----
out=$TL_TMP/grouped.txt
run_tl "$out" snapshot "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "snapshot"
if ((TL_RC != 0)); then
	error "snapshot: $(describe_rc $TL_RC), expected 0: $(first_line "$out.err")"
else
	summary "snapshot" "$out"
	# one line per group: count, kind, " tid tid ... ", ",func,func,...,"
	awk '
		function flush() { if (inb) print n "\t" kind "\t " tids " \t," funcs }
		/^[0-9]+ threads?  / { flush(); inb = 1; n = $1; kind = $3; tids = ""; funcs = ""; next }
		inb && /^  threads: / {
			if (match($0, /\[[0-9 ]+\]/)) tids = substr($0, RSTART + 1, RLENGTH - 2)
			next
		}
		inb && /^    [^ ]/ { funcs = funcs $1 ","; next }
		/^$/ { flush(); inb = 0 }
		END { flush() }' "$out" >"$out.groups"
	total=$(awk -F'\t' '{ s += $1 } END { print s + 0 }' "$out.groups")
	((total == nthreads)) ||
		error "snapshot: the groups count $total threads, /proc has $nthreads"
	n=0
	for tid in "${!WX_KIND[@]}"; do
		kind=${WX_KIND[$tid]} func=${WX_FUNC[$tid]}
		# the group that lists this tid
		g=$(awk -F'\t' -v t=" $tid " 'index($3, t)' "$out.groups")
		if [ -z "$g" ]; then
			error "snapshot: thread $tid ($func) in no group's list"
			continue
		fi
		IFS=$'\t' read -r gn gkind gtids gfuncs <<<"$g"
		[ "$gkind" = "$kind" ] || error "snapshot: thread $tid ($func) in a group of kind $gkind, the program says $kind"
		[[ $gfuncs == *",$func,"* || $gfuncs == *",$func."* ]] ||
			error "snapshot: thread $tid's group has no $func on its stack: [$gfuncs]"
		if [ "$func" = "$WX_GROUP_FUNC" ]; then
			[ "$gn" = "$WX_GROUP_N" ] ||
				error "snapshot: $func thread $tid in a group of $gn, the program has $WX_GROUP_N"
			[ "$(echo $gtids | wc -w)" = "$gn" ] ||
				error "snapshot: the group of $gn lists [$gtids]"
		fi
		n=$((n + 1))
	done
	at_least "$n" 20 "snapshot: threads of the program found in groups"
	[ "$(grep -c "$WX_GROUP_FUNC" "$out")" = 1 ] ||
		error "snapshot: $WX_GROUP_FUNC on $(grep -c "$WX_GROUP_FUNC" "$out") lines: its $WX_GROUP_N threads are one group"
fi

# ---- per thread ----
out=$TL_TMP/threads.txt
run_tl "$out" snapshot --threads "$TARGET_PID"
assert_not_stopped "$TARGET_PID" "snapshot --threads"
if ((TL_RC != 0)); then
	error "snapshot --threads: $(describe_rc $TL_RC), expected 0: $(first_line "$out.err")"
else
	summary "snapshot --threads" "$out"
	# one line per thread: tid, kind, ",func,func,...,"
	awk '
		function flush() { if (inb) print tid "\t" kind "\t," funcs }
		/^thread [0-9]+ ".*" state . / {
			flush(); inb = 1; tid = $2; funcs = ""
			rest = $0; sub(/^thread [0-9]+ ".*" state .  /, "", rest)
			split(rest, w, " "); kind = w[1]
			next
		}
		inb && /^    [^ ]/ { funcs = funcs $1 ","; next }
		/^$/ { flush(); inb = 0 }
		END { flush() }' "$out" >"$out.threads"
	got=$(cut -f1 "$out.threads" | sort -n | tr '\n' ' ')
	live=$(task_tids "$TARGET_PID" | tr '\n' ' ')
	[ "$got" = "$live" ] || error "snapshot --threads: threads [$got], /proc has [$live]"
	n=0
	for tid in "${!WX_KIND[@]}"; do
		kind=${WX_KIND[$tid]} func=${WX_FUNC[$tid]}
		t=$(awk -F'\t' -v t="$tid" '$1 == t' "$out.threads")
		if [ -z "$t" ]; then
			error "snapshot --threads: thread $tid ($func) not listed"
			continue
		fi
		IFS=$'\t' read -r _ tkind tfuncs <<<"$t"
		[ "$tkind" = "$kind" ] || error "snapshot --threads: thread $tid ($func): kind $tkind, the program says $kind"
		[[ $tfuncs == *",$func,"* || $tfuncs == *",$func."* ]] ||
			error "snapshot --threads: thread $tid: no $func on its stack: [$tfuncs]"
		n=$((n + 1))
	done
	at_least "$n" 20 "snapshot --threads: threads of the program found"
fi

proc_alive "$TARGET_PID" || error "the target died"
finish
