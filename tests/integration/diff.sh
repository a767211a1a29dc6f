#!/bin/bash
# diff: `threadleak diff` checked against what it is given, never against
# itself.  Two independent sources of the expected numbers:
#
# - the targets: testdata/groups says which threads it has in each of six
#   groups before and after a change (grew, shrank, churn, vanished,
#   appeared, unchanged), by tid; leakyserver leaks exactly one thread per
#   request the client got an answer to;
# - an oracle in jq, written from the man page, that groups the two input
#   snapshots itself: by wait kind and signature (each frame's module
#   basename and function, or module+offset when it has no function),
#   threads matched by (tid, start_time); it predicts every field of every
#   group shown, the header, `grown`, and so the exit status, for any
#   --min-delta, --ignore, --ignore-top.
#
# The oracle itself is checked against hand-stated results on a pair of
# snapshots made by editing a real one (every status, a kind that splits a
# stack, a tid reused with another start time, a frame with no function).
# The frozen snapshots' recorded outputs stay as regressions, and their
# numbers (down to oldest_blocked_sec) are checked by the oracle too.  Bad
# files get one clear line and exit 2.
. "$(dirname "$0")/../lib.sh"

need_cmd jq awk
need_threadleak
need_testdata leakyserver client groups

N=${TL_DIFF_REQUESTS:-50}

# ---- the oracle ----

# inputs: $a, $b (the snapshots), $d (threadleak's diff --json), $m (the
# threshold), $ign and $igntop (the --ignore and --ignore-top names).
# Prints "grown N", "header TB TA GREW NEW VANISHED", one "shown ..." line
# per group diff must show, and "error MSG" per difference from $d.
DIFF_ORACLE='
def base: if type == "string" and . != "" then split("/") | last else null end;
def fpart: (.module | base) as $mod |
	if (.function | type) == "string" and .function != "" then "\($mod // "?")!\(.function)"
	elif $mod == null then "?"
	else "\($mod)+\(.offset)" end;
def sig: [.frames[]? | fpart] | join(";");
def kind: .wait.kind // "unknown";
def libc: (.module | base // "") | test("^(libc\\.so|libc-|libpthread|ld-linux)");
def top: [.frames[]? | select(libc | not)][0];
def has_fn($f): any(.frames[]?; .function == $f);
def proj: [.frames[]? | [.module, .function, .file, (if .line == 0 then null else .line end), .offset, .inlined]];
def groups: reduce .threads[] as $t ({}; .[[$t | kind, sig] | tojson] += [$t]);
def ids: map("\(.tid)/\(.start_time)");
def status: if .before == 0 then "appeared" elif .after == 0 then "vanished"
	elif .delta > 0 then "grew" elif .delta < 0 then "shrank"
	elif .born > 0 then "churn" else "same" end;
def abs: if . < 0 then -. else . end;
def name: "\(.kind) \(.before)->\(.after) at \(.top)";

$a[0] as $A | $b[0] as $B | $d[0] as $D |
if ($A.runtime // $B.runtime) != null then error("the oracle knows no Go snapshots") else . end |
($A | groups) as $ga | ($B | groups) as $gb |
([($ga | keys[]), ($gb | keys[])] | unique | map(
	. as $k | ($ga[$k] // []) as $x | ($gb[$k] // []) as $y |
	(if ($y | length) > 0 then $y else $x end) as $ex |
	{ key: $k, kind: ($k | fromjson)[0], signature: ($k | fromjson)[1],
	  top: ($ex[0] | top | fpart),
	  before: ($x | length), after: ($y | length),
	  delta: (($y | length) - ($x | length)),
	  born: (($y | ids) - ($x | ids) | length),
	  died: (($x | ids) - ($y | ids) | length),
	  oldest_blocked_sec: ([$y[].wait.blocked_sec | numbers | select(. >= 0)] | max),
	  ignored: (($ex[0] | . as $t | any($ign[]; . as $f | $t | has_fn($f))) or
		    (($ex[0] | top.function) as $tf | any($igntop[]; . == $tf))),
	  frames: ([$ex[] | proj] | unique) } |
	.status = status)) as $all |
($all | map(select((.ignored | not) and
	((.delta | abs) >= $m or (.delta == 0 and .born >= $m))))) as $shown |
($all | map(select((.ignored | not) and .delta >= $m)) | length) as $grown |
(($D.groups // []) | map({key: ([.kind, .signature] | tojson), value: .}) | from_entries) as $dg |
(
	"grown\t\($grown)",
	"header\t\($A.threads | length)\t\($B.threads | length)\t\($grown)\t\($all |
		map(select((.ignored | not) and .before == 0 and .after >= $m)) | length)\t\($all |
		map(select((.ignored | not) and .after == 0 and .before >= $m)) | length)",
	($shown[] | "shown\t\(.status)\t\(.kind)\t\(.before)\t\(.after)\t\(.delta)\t\(.born)\t\(.died)\t\(.top)"),
	(if $D.format != "threadleak-diff" or $D.version != 1 then
		"error\tformat/version \($D.format)/\($D.version), expected threadleak-diff/1" else empty end),
	(if $D.grown != $grown then "error\tgrown \($D.grown), expected \($grown)" else empty end),
	(["before", $A], ["after", $B] | .[0] as $side | .[1] as $S |
		{pid: $S.pid, comm: $S.comm, taken_at: $S.taken_at, threads: ($S.threads | length)} as $want |
		if $D[$side] != $want then "error\t\($side): \($D[$side] | tojson), expected \($want | tojson)" else empty end),
	(if (($D.groups // []) | length) != ($dg | length) then "error\ttwo groups with one kind and signature" else empty end),
	($shown[] | . as $e | $dg[$e.key] as $g |
		if $g == null then "error\tmissing group: \($e.status) \($e | name) [\($e.signature)]"
		else
			(("status", "before", "after", "delta", "born", "died", "oldest_blocked_sec") as $f |
				if $g[$f] != $e[$f] then "error\t\($e | name): \($f) \($g[$f] | tojson), expected \($e[$f] | tojson)" else empty end),
			(($g | proj) as $gf | if ($e.frames | index([$gf])) == null then
				"error\t\($e | name): its frames are no member'"'"'s: \($gf | map(.[1]) | tojson)" else empty end)
		end),
	($D.groups[]? | . as $g | ([.kind, .signature] | tojson) as $k |
		if ($shown | map(.key) | index([$k])) == null then
			"error\tunexpected group: \($g.status) \($g.kind) \($g.before)->\($g.after) [\($g.signature)]"
		else empty end)
)'

# tl_diff LABEL BEFORE AFTER [OPTION...]: threadleak diff --json and the
# text diff of BEFORE and AFTER (files) with OPTIONs, each checked against
# the oracle: every group field, the header, the exit status.  Sets
# ORACLE_SHOWN ("status kind before after delta born died" per group shown,
# sorted), ORACLE_GROWN and DIFF_JSON.
tl_diff()
{
	local label=$1 a=$2 b=$3 m=1 ign=() top=() i args line want_rc
	local tb ta grew new vanished shown=0 lines
	shift 3
	args=("$@")
	for ((i = 0; i < ${#args[@]}; i++)); do
		case ${args[i]} in
		--min-delta) m=${args[i + 1]} ;;
		--ignore) ign+=("${args[i + 1]}") ;;
		--ignore-top) top+=("${args[i + 1]}") ;;
		esac
	done
	TL_N=$((${TL_N:-0} + 1))
	DIFF_JSON=$TL_TMP/diff$TL_N.json
	ORACLE_SHOWN= ORACLE_GROWN=
	run_tl "$DIFF_JSON" diff --json "$@" "$a" "$b"
	if ((TL_RC != 0 && TL_RC != 1)); then
		error "$label: diff --json: $(describe_rc $TL_RC): $(first_line "$DIFF_JSON.err")"
		return 1
	fi
	jq -e . "$DIFF_JSON" >/dev/null 2>&1 || {
		error "$label: diff --json printed no JSON: $(head -c 200 "$DIFF_JSON")"
		return 1
	}
	jq -r -n --slurpfile a "$a" --slurpfile b "$b" --slurpfile d "$DIFF_JSON" \
		--argjson m "$m" \
		--argjson ign "$(jq -nc '$ARGS.positional' --args "${ign[@]}")" \
		--argjson igntop "$(jq -nc '$ARGS.positional' --args "${top[@]}")" \
		"$DIFF_ORACLE" >"$DIFF_JSON.oracle" 2>"$DIFF_JSON.oracle.err" || {
		error "$label: the oracle failed: $(head -c 300 "$DIFF_JSON.oracle.err")"
		return 1
	}
	while IFS=$'\t' read -r line rest; do
		case $line in
		error) error "$label: $(printf '%s' "$rest" | cut -c 1-400)" ;;
		grown) ORACLE_GROWN=$rest ;;
		header) IFS=$'\t' read -r tb ta grew new vanished <<<"$rest" ;;
		shown) shown=$((shown + 1)) ;;
		esac
	done <"$DIFF_JSON.oracle"
	ORACLE_SHOWN=$(awk -F'\t' '$1 == "shown" { print $2, $3, $4, $5, $6, $7, $8 }' "$DIFF_JSON.oracle" | sort)
	[ -n "$ORACLE_GROWN" ] || { error "$label: the oracle printed nothing"; return 1; }
	want_rc=$((ORACLE_GROWN > 0 ? 1 : 0))
	((TL_RC == want_rc)) ||
		error "$label: diff --json: exit $TL_RC, expected $want_rc ($ORACLE_GROWN groups grew by $m or more)"

	# the text: its header, one line per group shown, the exit status
	run_tl "$DIFF_JSON.txt" diff --color never "$@" "$a" "$b"
	((TL_RC == want_rc)) ||
		error "$label: diff (text): $(describe_rc $TL_RC), expected $want_rc: $(first_line "$DIFF_JSON.txt.err")"
	line="threads: $tb -> $ta ($(printf '%+d' $((ta - tb)))); $grew group$( ((grew == 1)) || echo s) grew by $m or more ($new new), $vanished vanished"
	has_line "$DIFF_JSON.txt" "$line" ||
		error "$label: text: no line '$line': $(sed -n 3p "$DIFF_JSON.txt")"
	lines=$(grep -Ec '^[+-][0-9]+  \([0-9]+ -> [0-9]+\)  ' "$DIFF_JSON.txt")
	((lines == shown)) || error "$label: text: $lines group lines, expected $shown"
	if ((shown == 0)); then
		has_line "$DIFF_JSON.txt" "no group changed by $m or more" ||
			error "$label: text: nothing shown, but no 'no group changed by $m or more'"
	fi
	local st kind before after delta born died ltop
	while IFS=$'\t' read -r line st kind before after delta born died ltop; do
		[ "$line" = shown ] || continue
		line="$(printf '%+d' "$delta")  ($before -> $after)  $kind"
		awk -v p="$line" -v s="  $st" 'index($0, p) == 1 && index($0, s) { found = 1 }
			END { exit !found }' "$DIFF_JSON.txt" ||
			error "$label: text: no line '$line ... $st' for the group at $ltop"
	done <"$DIFF_JSON.oracle"
	return 0
}

# expect_shown LABEL WANT: the groups the oracle says diff shows are WANT
# ("status kind before after delta born died" lines, any order): the
# oracle checked against results stated by hand.
expect_shown()
{
	local want
	want=$(printf '%s\n' "$2" | sed '/^$/d' | sort)
	[ "$ORACLE_SHOWN" = "$want" ] ||
		error "$1: groups shown [$(echo "$ORACLE_SHOWN" | tr '\n' ';')], stated by hand [$(echo "$want" | tr '\n' ';')]"
}

snap()	# snap PID FILE
{
	run_tl "$2.out" snapshot -q -o "$2" "$1"
	((TL_RC == 0)) || fail "snapshot of $1: $(describe_rc $TL_RC): $(first_line "$2.out.err")"
	snap_valid "$2" "$1" || fail "snapshot of $1: $2 is not a snapshot of it"
}

# ---- the oracle checked against hand-stated results ----

# A pair made by editing the frozen snapshot of leakyserver (main, the
# acceptor, 4 pool threads, the ticker, 5 handlers):
#   pool     4 -> 7: 3 new, and 28609 replaced by a thread of the same tid
#            and another start time: grew +3, born 4, died 1
#   mutex    the pool's stack with kind mutex, 2 new threads: appeared
#            (a group is its kind and stack)
#   handler  5 -> 2: shrank -3, died 3
#   acceptor gone: vanished
#   ticker   replaced: churn, 1 of 1
#   ticker's stack with ticker_loop unnamed, 1 thread: appeared, a group
#            of its own (its signature has leakyserver+0xOFFSET there)
#   main     unchanged: not shown
src=$TESTDATA/diff-after.snap
[ -r "$src" ] || fail "missing $src"
syn_a=$TL_TMP/syn-before.snap syn_b=$TL_TMP/syn-after.snap
jq -c '.' "$src" >"$syn_a" || fail "cannot copy $src"
jq -c '
	def t($n): [.threads[] | select(.name == $n)];
	def bs($s): .wait.blocked_sec = $s;
	(t("leakyserver")) as $main | (t("acceptor")) as $acc | (t("pool")) as $pool |
	(t("ticker")) as $tick | (t("handler")) as $h |
	.threads = $main + [
		($pool[0] | bs(7.25)), ($pool[1] | bs(0.5)), ($pool[2] | bs(null)),
		($pool[3] | .start_time += 1000 | bs(0.125)),
		($pool[0] | .tid = 30001 | .start_time = 800001 | bs(1)),
		($pool[0] | .tid = 30002 | .start_time = 800002 | bs(2)),
		($pool[0] | .tid = 30003 | .start_time = 800003 | bs(3)),
		($pool[1] | .tid = 30020 | .start_time = 800020 | .wait.kind = "mutex" | bs(4.5)),
		($pool[1] | .tid = 30021 | .start_time = 800021 | .wait.kind = "mutex" | bs(0.25)),
		($tick[0] | .tid = 30010 | .start_time = 800010 | bs(9.5)),
		($tick[0] | .tid = 30011 | .start_time = 800011 | bs(0.75) |
			.frames |= map(if .function == "ticker_loop" then .function = null else . end))
	] + $h[0:2]' "$src" >"$syn_b" || fail "cannot edit $src"
# the edits themselves: 9 pool threads (7 condvar, 2 mutex), a frame unnamed
[ "$(jq '[.threads[] | select(.name == "pool")] | length' "$syn_b")" = 9 ] &&
[ "$(jq '[.threads[].frames[] | select(.function == null)] | length' "$syn_b")" -ge 1 ] ||
	fail "the edited snapshot is not what it should be"

tl_diff "edited pair" "$syn_a" "$syn_b"
expect_shown "edited pair" "grew condvar 4 7 3 4 1
appeared mutex 0 2 2 2 0
shrank condvar 5 2 -3 0 3
vanished accept 1 0 -1 0 1
churn sleep 1 1 0 1 1
appeared sleep 0 1 1 1 0"
# oldest_blocked_sec: the largest blocked_sec of the group's threads after
jq -e '[.groups[] | select(.kind == "condvar" and .status == "grew")][0].oldest_blocked_sec == 7.25 and
	[.groups[] | select(.kind == "mutex")][0].oldest_blocked_sec == 4.5 and
	[.groups[] | select(.status == "vanished")][0].oldest_blocked_sec == null' "$DIFF_JSON" >/dev/null ||
	error "edited pair: oldest_blocked_sec is not 7.25 (pool), 4.5 (mutex), null (vanished)"
[ "$ORACLE_GROWN" = 3 ] || error "edited pair: the oracle says $ORACLE_GROWN groups grew, stated by hand: 3"

tl_diff "edited pair, --min-delta 2" "$syn_a" "$syn_b" --min-delta 2
expect_shown "edited pair, --min-delta 2" "grew condvar 4 7 3 4 1
appeared mutex 0 2 2 2 0
shrank condvar 5 2 -3 0 3"
tl_diff "edited pair, --min-delta 3" "$syn_a" "$syn_b" --min-delta 3
expect_shown "edited pair, --min-delta 3" "grew condvar 4 7 3 4 1
shrank condvar 5 2 -3 0 3"
tl_diff "edited pair, --min-delta 4" "$syn_a" "$syn_b" --min-delta 4
expect_shown "edited pair, --min-delta 4" ""
tl_diff "edited pair, --ignore pool_worker" "$syn_a" "$syn_b" --ignore pool_worker
expect_shown "edited pair, --ignore pool_worker" "shrank condvar 5 2 -3 0 3
vanished accept 1 0 -1 0 1
churn sleep 1 1 0 1 1
appeared sleep 0 1 1 1 0"
tl_diff "edited pair, --ignore ticker_loop --ignore accept_loop" "$syn_a" "$syn_b" \
	--ignore ticker_loop --ignore accept_loop
expect_shown "edited pair, --ignore ticker_loop --ignore accept_loop" "grew condvar 4 7 3 4 1
appeared mutex 0 2 2 2 0
shrank condvar 5 2 -3 0 3
appeared sleep 0 1 1 1 0"
tl_diff "edited pair, --ignore-top pool_wait" "$syn_a" "$syn_b" --ignore-top pool_wait
expect_shown "edited pair, --ignore-top pool_wait" "shrank condvar 5 2 -3 0 3
vanished accept 1 0 -1 0 1
churn sleep 1 1 0 1 1
appeared sleep 0 1 1 1 0"
# pool_worker is on the pool's stack, but not its top
tl_diff "edited pair, --ignore-top pool_worker" "$syn_a" "$syn_b" --ignore-top pool_worker
[ "$ORACLE_GROWN" = 3 ] || error "--ignore-top pool_worker (not the top): the oracle says $ORACLE_GROWN grew, stated by hand: 3"
tl_diff "edited pair, reversed" "$syn_b" "$syn_a"
expect_shown "edited pair, reversed" "shrank condvar 7 4 -3 1 4
vanished mutex 2 0 -2 0 2
grew condvar 2 5 3 3 0
appeared accept 0 1 1 1 0
churn sleep 1 1 0 1 1
vanished sleep 1 0 -1 0 1"
tl_diff "edited pair with itself" "$syn_b" "$syn_b"
expect_shown "edited pair with itself" ""

# ---- groups: counts stated by the program ----

# members FILE PHASE: "GROUP TID" per thread the program has in PHASE
members()
{
	awk -v p="$2" '$1 == "phase" { cur = $2 } cur == p && $1 == "member" { print $2, $3 }' "$1"
}

# wait_phase FILE PHASE: the program printed "ready PHASE"
wait_phase()
{
	local deadline=$((SECONDS + 120))
	until has_line "$1" "ready $2"; do
		proc_alive "$TARGET_PID" || fail "groups exited before phase $2: $(head -c 300 "$TARGET_ERR")"
		((SECONDS < deadline)) || fail "groups did not reach phase $2 in 120 s"
		tl_sleep 0.02
	done
}

# check_members LABEL SNAP FILE PHASE PID: the snapshot has exactly the
# threads the program has (and /proc has), each named for its group,
# with its group's function on its stack
check_members()
{
	local label=$1 s=$2 want got live bad
	want=$(members "$3" "$4" | awk '{ print $2 }' | sort -n | tr '\n' ' ')
	got=$(snap_tids "$s" | tr '\n' ' ')
	live=$(task_tids "$5" | tr '\n' ' ')
	[ "$want" = "$got" ] || error "$label: snapshot has threads [$got], the program [$want]"
	[ "$want" = "$live" ] || error "$label: /proc has threads [$live], the program [$want]"
	members "$3" "$4" >"$s.members"
	bad=$(jq -R -n --slurpfile s "$s" -r '
		[inputs | split(" ") | {g: .[0], tid: (.[1] | tonumber)}] as $m |
		[$m[] | . as $x | ($s[0].threads[] | select(.tid == $x.tid)) as $t |
		 (if $x.g == "main" then "main_wait" else "grp_\($x.g)" end) as $fn |
		 select(([$t.frames[].function] | index($fn)) == null or
			($x.g != "main" and $t.name != $x.g)) |
		 "\($x.tid) (\($x.g): name \($t.name))"] as $bad |
		"\($m | length)\t\($bad | join(" "))"' "$s.members") ||
		{ error "$label: cannot compare $s with the program's members"; return; }
	[ -z "${bad#*$'\t'}" ] ||
		error "$label: threads not named for their group or without its function: ${bad#*$'\t'}"
	at_least "${bad%%$'\t'*}" 15 "$label: threads of the program checked in the snapshot"
}

# expect_program LABEL DIFFJSON F1 P1 F2 P2 ACROSS: diff's groups are the
# program's: for each group, before/after from the members it printed in
# phase P1 of output F1 and phase P2 of F2; born and died by tid (ACROSS=1:
# two processes, every thread is new).  Returns how many were compared.
expect_program()
{
	local label=$1 d=$2 f1=$3 p1=$4 f2=$5 p2=$6 across=$7 g fn b a born died st got want
	local n=0 grew=0
	for g in main alpha beta gamma delta epsilon zeta; do
		b=$(members "$f1" "$p1" | awk -v g=$g '$1 == g' | wc -l)
		a=$(members "$f2" "$p2" | awk -v g=$g '$1 == g' | wc -l)
		if ((across)); then
			born=$a died=$b
		else
			born=$(comm -13 <(members "$f1" "$p1" | awk -v g=$g '$1 == g { print $2 }' | sort) \
				<(members "$f2" "$p2" | awk -v g=$g '$1 == g { print $2 }' | sort) | wc -l)
			died=$(comm -23 <(members "$f1" "$p1" | awk -v g=$g '$1 == g { print $2 }' | sort) \
				<(members "$f2" "$p2" | awk -v g=$g '$1 == g { print $2 }' | sort) | wc -l)
		fi
		if ((b == 0)); then st=appeared
		elif ((a == 0)); then st=vanished
		elif ((a > b)); then st=grew
		elif ((a < b)); then st=shrank
		elif ((born)); then st=churn
		else st=same
		fi
		((a - b >= 1)) && grew=$((grew + 1))
		fn=grp_$g
		[ $g = main ] && fn=main_wait
		got=$(jq -r --arg fn "$fn" '[.groups[] | select([.frames[].function] | index($fn))] |
			map("\(.status) \(.before) \(.after) \(.delta) \(.born) \(.died)") | join(";")' "$d")
		want="$st $b $a $((a - b)) $born $died"
		[ $st = same ] && want=
		[ "$got" = "$want" ] ||
			error "$label: group $g ($fn): diff shows [$got], the program says [${want:-not shown}]"
		n=$((n + 1))
	done
	[ "$(jq .grown "$d")" = "$grew" ] ||
		error "$label: grown $(jq .grown "$d"), the program's groups that grew: $grew"
	at_least "$n" 7 "$label: groups compared"
}

start_target "$TESTDATA/groups"
G1_PID=$TARGET_PID G1_OUT=$TARGET_OUT
((${#G1_OUT} > 0)) && [ "$(members "$G1_OUT" 1 | wc -l)" = 15 ] ||
	fail "groups printed $(members "$G1_OUT" 1 | wc -l) members in phase 1, expected 15"
snap "$G1_PID" "$TL_TMP/g1.snap"
check_members "groups phase 1" "$TL_TMP/g1.snap" "$G1_OUT" 1 "$G1_PID"
signal_child USR1 "$G1_PID" || fail "cannot signal groups ($G1_PID)"
wait_phase "$G1_OUT" 2
snap "$G1_PID" "$TL_TMP/g2.snap"
check_members "groups phase 2" "$TL_TMP/g2.snap" "$G1_OUT" 2 "$G1_PID"

tl_diff "groups 1 -> 2" "$TL_TMP/g1.snap" "$TL_TMP/g2.snap"
expect_program "groups 1 -> 2" "$DIFF_JSON" "$G1_OUT" 1 "$G1_OUT" 2 0
expect_shown "groups 1 -> 2" "grew condvar 2 5 3 3 0
shrank read 4 1 -3 0 3
churn sleep 3 3 0 3 3
vanished futex 2 0 -2 0 2
appeared mutex 0 4 4 4 0"
tl_diff "groups 1 -> 2, --min-delta 4" "$TL_TMP/g1.snap" "$TL_TMP/g2.snap" --min-delta 4
expect_shown "groups 1 -> 2, --min-delta 4" "appeared mutex 0 4 4 4 0"
tl_diff "groups 2 -> 1" "$TL_TMP/g2.snap" "$TL_TMP/g1.snap"
expect_program "groups 2 -> 1" "$DIFF_JSON" "$G1_OUT" 2 "$G1_OUT" 1 0

# a live pid as the after side: the program's counts now are phase 2's
run_tl "$TL_TMP/glive.json" diff --json "$TL_TMP/g1.snap" "$G1_PID"
((TL_RC == 1)) || error "diff FILE PID: $(describe_rc $TL_RC), expected 1: $(first_line "$TL_TMP/glive.json.err")"
expect_program "diff FILE PID" "$TL_TMP/glive.json" "$G1_OUT" 1 "$G1_OUT" 2 0

# two processes: phase 1 of this one, phase 2 of another: same counts,
# and every thread of the other is new
start_target "$TESTDATA/groups"
G2_PID=$TARGET_PID G2_OUT=$TARGET_OUT
signal_child USR1 "$G2_PID" || fail "cannot signal groups ($G2_PID)"
wait_phase "$G2_OUT" 2
snap "$G2_PID" "$TL_TMP/h2.snap"
check_members "second groups, phase 2" "$TL_TMP/h2.snap" "$G2_OUT" 2 "$G2_PID"
tl_diff "two processes" "$TL_TMP/g1.snap" "$TL_TMP/h2.snap"
expect_program "two processes" "$DIFF_JSON" "$G1_OUT" 1 "$G2_OUT" 2 1
kill_target "$G2_PID"
kill_target "$G1_PID"

# ---- leakyserver: N requests leak N threads ----

start_server()
{
	start_target "$TESTDATA/leakyserver"
	PORT=$(awk '/^port /{print $2}' "$TARGET_OUT")
	[ -n "$PORT" ] || fail "leakyserver printed no port"
}

# check_leak LABEL JSON: the leaking group appeared with N threads, all
# new; it is the only group that grew
check_leak()
{
	local label=$1 json=$2 got
	got=$(jq -r '[.groups[] | select([.frames[].function] | index("wait_for_reply"))] |
		map("\(.delta) \(.born) \(.kind) \(.status)") | join(",")' "$json")
	[ "$got" = "$N $N condvar appeared" ] ||
		error "$label: leaking group: '$got', expected '$N $N condvar appeared'"
	[ "$(jq .grown "$json")" = 1 ] || error "$label: grown is $(jq .grown "$json"), expected 1"
}

start_server
snap "$TARGET_PID" "$TL_TMP/before.snap"
"$TESTDATA/client" "$PORT" "$N" >/dev/null || fail "client failed"
snap "$TARGET_PID" "$TL_TMP/after.snap"
tl_diff "leakyserver" "$TL_TMP/before.snap" "$TL_TMP/after.snap"
check_leak "leakyserver" "$DIFF_JSON"
expect_shown "leakyserver" "appeared condvar 0 $N $N $N 0"
grep -q "wait_for_reply" "$DIFF_JSON.txt" || error "text diff does not show the stack"
tl_diff "leakyserver, --min-delta $((N + 1))" "$TL_TMP/before.snap" "$TL_TMP/after.snap" --min-delta $((N + 1))
expect_shown "leakyserver, --min-delta $((N + 1))" ""
tl_diff "leakyserver, --min-delta $N" "$TL_TMP/before.snap" "$TL_TMP/after.snap" --min-delta "$N"
expect_shown "leakyserver, --min-delta $N" "appeared condvar 0 $N $N $N 0"
tl_diff "leakyserver, --ignore handle_request" "$TL_TMP/before.snap" "$TL_TMP/after.snap" --ignore handle_request
expect_shown "leakyserver, --ignore handle_request" ""
tl_diff "leakyserver, --ignore-top wait_for_reply" "$TL_TMP/before.snap" "$TL_TMP/after.snap" --ignore-top wait_for_reply
expect_shown "leakyserver, --ignore-top wait_for_reply" ""
tl_diff "leakyserver, itself" "$TL_TMP/after.snap" "$TL_TMP/after.snap"
expect_shown "leakyserver, itself" ""

# a live pid as the after side
run_tl "$TL_TMP/live.json" diff --json "$TL_TMP/before.snap" "$TARGET_PID"
((TL_RC == 1)) || error "diff FILE PID: $(describe_rc $TL_RC), expected 1"
check_leak "live pid" "$TL_TMP/live.json"
kill_target "$TARGET_PID"

# across a restart: a fresh server, the same requests; every group of the
# fresh one is matched by stack, all its threads new
start_server
"$TESTDATA/client" "$PORT" "$N" >/dev/null || fail "client failed after the restart"
snap "$TARGET_PID" "$TL_TMP/restart.snap"
tl_diff "across a restart" "$TL_TMP/before.snap" "$TL_TMP/restart.snap"
check_leak "across a restart" "$DIFF_JSON"
expect_shown "across a restart" "appeared condvar 0 $N $N $N 0
churn signal 1 1 0 1 1
churn accept 1 1 0 1 1
churn condvar 4 4 0 4 4
churn sleep 1 1 0 1 1"
kill_target "$TARGET_PID"

# ---- frozen snapshots: their recorded output, its numbers the oracle's ----
(cd "$TESTDATA" && "$THREADLEAK" diff --color never diff-before.snap diff-after.snap) >"$TL_TMP/frozen.txt" 2>&1
diff -u "$TESTDATA/diff-expected.txt" "$TL_TMP/frozen.txt" >"$TL_TMP/frozen.diff" ||
	error "frozen diff output changed: $(head -c 600 "$TL_TMP/frozen.diff")"
(cd "$TESTDATA" && "$THREADLEAK" diff --json diff-before.snap diff-after.snap) >"$TL_TMP/frozen.json" 2>&1
diff -u "$TESTDATA/diff-expected.json" "$TL_TMP/frozen.json" >"$TL_TMP/frozen.diff" ||
	error "frozen diff JSON changed: $(head -c 600 "$TL_TMP/frozen.diff")"
tl_diff "frozen" "$TESTDATA/diff-before.snap" "$TESTDATA/diff-after.snap"
expect_shown "frozen" "appeared condvar 0 5 5 5 0"
# the recorded document itself agrees with the oracle
jq -r -n --slurpfile a "$TESTDATA/diff-before.snap" --slurpfile b "$TESTDATA/diff-after.snap" \
	--slurpfile d "$TESTDATA/diff-expected.json" --argjson m 1 --argjson ign '[]' \
	--argjson igntop '[]' "$DIFF_ORACLE" >"$TL_TMP/frozen.oracle" ||
	error "frozen: the oracle failed on diff-expected.json"
grep -q '^grown	1$' "$TL_TMP/frozen.oracle" && ! grep -q '^error' "$TL_TMP/frozen.oracle" ||
	error "frozen: diff-expected.json disagrees with the oracle: $(grep -m1 '^error' "$TL_TMP/frozen.oracle" | cut -c 1-300)"

# ---- bad files: one line naming the file, exit 2 ----
good=$TESTDATA/diff-before.snap
: >"$TL_TMP/empty.snap"
head -c 3000 "$good" >"$TL_TMP/truncated.snap"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$TL_TMP/foreign.snap"
jq '.version = 99' "$good" >"$TL_TMP/newer.snap"
printf '{"format":"threadleak-snapshot","version":1,"pid":1,"threads":[{"tid":1,"frames":[{"pc":7}]}]}' >"$TL_TMP/corrupt.snap"
for bad in empty truncated foreign newer corrupt missing; do
	f=$TL_TMP/$bad.snap
	for order in first second; do
		if [ $order = first ]; then
			run_tl "$TL_TMP/bad" diff "$f" "$good"
		else
			run_tl "$TL_TMP/bad" diff "$good" "$f"
		fi
		((TL_RC == 2)) || error "$bad file $order: $(describe_rc $TL_RC), expected 2"
		lines=$(wc -l <"$TL_TMP/bad.err")
		((lines == 1)) && grep -q "^threadleak: $f: " "$TL_TMP/bad.err" ||
			error "$bad file $order: expected one line 'threadleak: $f: ...', got: $(head -c 300 "$TL_TMP/bad.err")"
		[ ! -s "$TL_TMP/bad" ] || error "$bad file $order: something on standard output: $(head -c 200 "$TL_TMP/bad")"
	done
done
run_tl "$TL_TMP/bad" diff "$TL_TMP/newer.snap" "$good"
grep -q "newer" "$TL_TMP/bad.err" || error "a newer version is not called newer: $(first_line "$TL_TMP/bad.err")"
run_tl "$TL_TMP/bad" diff "$good"
((TL_RC == 64)) || error "diff with one argument: $(describe_rc $TL_RC), expected 64"
finish
