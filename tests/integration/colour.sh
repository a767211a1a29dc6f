#!/bin/bash
# colour: --color WHEN and its spelling --colour, every value, for
# snapshot, top -b, diff and export -f text (man page: "auto (the default:
# colour when standard output is a terminal and NO_COLOR is not set),
# always or never"; ENVIRONMENT: NO_COLOR "when set and not empty, no
# colour").  Colour is any ANSI escape (ESC [) in the output; a terminal
# is a pty made by script(1).
#   - output to a file: always has colour; never, auto and no option none;
#   - output to a terminal: always, auto and no option have colour, never
#     none; auto and no option with NO_COLOR=1 none, with NO_COLOR empty
#     colour;
#   - every run exits 0 and prints its report (not just nothing);
#   - a bad value (--color=sometimes, --colour=sometimes) is a usage error
#     (64) naming the value.
. "$(dirname "$0")/../lib.sh"

need_cmd script
need_threadleak
need_testdata otherwait

fifo=$TL_TMP/fifo
mkfifo "$fifo" || fail "cannot make a FIFO in $TL_TMP"
start_target "$TESTDATA/otherwait" "$fifo"
pid=$TARGET_PID
snapfile=$TL_TMP/snap.json
run_tl "$TL_TMP/mk" snapshot -q -o "$snapfile" "$pid"
((TL_RC == 0)) || fail "snapshot -o: $(describe_rc $TL_RC): $(first_line "$TL_TMP/mk.err")"

# cmd_args NAME: the arguments of command NAME, before its colour option
declare -A cmds=(
	[snapshot]="snapshot"
	[top]="top -b -n 1"
	[diff]="diff"
	[export]="export -f text"
)
# and after it
declare -A tails=(
	[snapshot]="$pid"
	[top]="$pid"
	[diff]="$snapfile $snapfile"
	[export]="$snapfile"
)
# what its report starts with
declare -A starts=(
	[snapshot]="otherwait (pid $pid)"
	[top]="threadleak top: pid $pid"
	[diff]="before: $snapfile"
	[export]="otherwait (pid $pid)"
)

# has_colour FILE: an ANSI escape in FILE
has_colour() { grep -q $'\e\\[' "$1"; }

# check LABEL FILE RC WANT CMD: exit 0, the report there, colour as WANT (yes|no)
check()
{
	local label=$1 f=$2 rc=$3 want=$4 cmd=$5 plain
	((rc == 0)) || { error "$label: $(describe_rc "$rc"), expected 0: $(head -c 200 "$f.err" 2>/dev/null)"; return; }
	plain=$(sed $'s/\e\\[[0-9;]*m//g; s/\r$//' "$f" | head -n 1)
	[[ $plain == "${starts[$cmd]}"* ]] || error "$label: first line '$plain', expected '${starts[$cmd]}...'"
	if has_colour "$f"; then
		[ "$want" = yes ] || error "$label: colour, expected none: $(grep -m1 $'\e\\[' "$f" | cat -v | cut -c 1-80)"
	else
		[ "$want" = no ] || error "$label: no colour, expected some"
	fi
	checks=$((checks + 1))
}

checks=0
for cmd in snapshot top diff export; do
	for spelling in color colour; do
		for when in always never auto none; do
			opt=(--$spelling=$when)
			[ $when = none ] && opt=()
			[ $when = always ] && want=yes || want=no
			label="$cmd ${opt[*]:-(no option)} to a file"
			# shellcheck disable=SC2086
			run_tl "$TL_TMP/o" ${cmds[$cmd]} "${opt[@]}" ${tails[$cmd]}
			check "$label" "$TL_TMP/o" "$TL_RC" "$want" "$cmd"

			# on a terminal, with NO_COLOR unset, set and empty
			for nc in unset 1 empty; do
				case $when:$nc in
				always:unset | never:unset | auto:* | none:*) ;;
				*) continue ;;
				esac
				want=yes
				[ $when = never ] && want=no
				[ $when != always ] && [ $nc = 1 ] && want=no
				env=(env -u NO_COLOR)
				[ $nc = 1 ] && env=(env NO_COLOR=1)
				[ $nc = empty ] && env=(env NO_COLOR=)
				line=$(printf '%q ' "$THREADLEAK" ${cmds[$cmd]} "${opt[@]}" ${tails[$cmd]})
				"${env[@]}" timeout -k 5 "$TL_SNAP_TIMEOUT" script -qec "$line" /dev/null \
					>"$TL_TMP/t" 2>"$TL_TMP/t.err" </dev/null
				check "$cmd ${opt[*]:-(no option)} on a terminal, NO_COLOR $nc" "$TL_TMP/t" $? "$want" "$cmd"
			done
		done
		run_tl "$TL_TMP/bad" ${cmds[$cmd]} --$spelling=sometimes ${tails[$cmd]}
		((TL_RC == 64)) || error "$cmd --$spelling=sometimes: $(describe_rc $TL_RC), expected 64"
		grep -q "sometimes" "$TL_TMP/bad.err" || error "$cmd --$spelling=sometimes: the message does not name the value: $(first_line "$TL_TMP/bad.err")"
	done
done
at_least "$checks" 80 "runs checked for colour"
assert_not_stopped "$pid" "after the runs"
finish
