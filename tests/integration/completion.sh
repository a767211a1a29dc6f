#!/bin/bash
# completion: the bash completion (share/bash-completion/completions/
# threadleak) offers, for the binary under test, in plain bash and with
# bash-completion's helpers loaded:
#   - every command `threadleak --help` lists, after `threadleak `;
#   - every option, long and short, `threadleak CMD --help` lists, after
#     `threadleak CMD -`, for every command;
#   - the values of --format (text json pprof folded snapshot), --unwinder
#     (libdw libunwind), --color (auto always never) and top's --sort
#     (growth count cpu), after the option, after `--opt=` and `--opt=p`
#     (the man page's lists: an oracle apart from the binary's messages
#     the completion reads them from);
#   - a running target's pid where a command takes PIDs (snapshot, top,
#     serve, diff), shown with its command name when several match and as
#     the bare number when it alone matches;
#   - files for -o/--output and check's --suppressions, snapshot files
#     (and PIDs) for diff, snapshot files for export, directories for top's
#     --save-dir, a command after check's --.
# A target named with control bytes is shown with them replaced.
. "$(dirname "$0")/../lib.sh"

need_threadleak
need_testdata groups
COMP=$TL_ROOT/share/bash-completion/completions/threadleak
BC=/usr/share/bash-completion/bash_completion
[ -r "$COMP" ] || fail "no $COMP"
[ -r "$BC" ] || fail "no $BC (bash-completion: scripts/deps.sh test installs it)"

# the driver: reads queries (words separated by tabs, the last the one
# being completed) and prints each answer as "= QUERY" and a line per reply
cat >"$TL_TMP/drive.sh" <<'EOF'
[ "$1" = helpers ] && . "$BC"
. "$COMP"
while IFS= read -r line; do
	# split at tabs, keeping empty words (read -a drops a last one)
	COMP_WORDS=()
	while [[ $line == *$'\t'* ]]; do
		COMP_WORDS+=("${line%%$'\t'*}")
		line=${line#*$'\t'}
	done
	COMP_WORDS+=("$line")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}" COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	# (the key first: bash-completion's _command_offset shifts COMP_WORDS)
	printf '= %s\n' "${COMP_WORDS[*]:1}"
	_threadleak "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
	((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}"
done
EOF

# ---- what the binary says: commands and options ----
"$THREADLEAK" --help >"$TL_TMP/help" 2>&1 || fail "threadleak --help failed"
mapfile -t commands < <(sed -n '/^commands:/,/^$/p' "$TL_TMP/help" | sed -nE 's/^ +([a-z][a-z0-9-]*) .*/\1/p')
at_least "${#commands[@]}" 6 "commands in threadleak --help"

dir=$TL_TMP/files
mkdir -p "$dir/sub" || fail "cannot make $dir"
: >"$dir/before.snap"
: >"$dir/ignores.supp"

start_target "$TESTDATA/groups"
pid=$TARGET_PID
comm=$(cat "/proc/$pid/comm")

# the queries
q=$TL_TMP/queries
{
	printf '%s\t\n' "$THREADLEAK"
	for c in "${commands[@]}"; do
		printf '%s\t%s\t-\n' "$THREADLEAK" "$c"
	done
	for c in snapshot export; do
		printf '%s\t%s\t--format\t\n' "$THREADLEAK" $c
		printf '%s\t%s\t-f\t\n' "$THREADLEAK" $c
	done
	printf '%s\tsnapshot\t--format=\n' "$THREADLEAK"
	printf '%s\tsnapshot\t--format\t=\t\n' "$THREADLEAK"
	printf '%s\tsnapshot\t--format\t=\tp\n' "$THREADLEAK"
	for c in snapshot top serve; do
		printf '%s\t%s\t--unwinder\t\n' "$THREADLEAK" $c
	done
	for c in snapshot diff top check export; do
		printf '%s\t%s\t--color\t\n' "$THREADLEAK" $c
	done
	printf '%s\ttop\t--sort\t\n' "$THREADLEAK"
	printf '%s\ttop\t-s\t\n' "$THREADLEAK"
	for c in snapshot top serve diff; do
		printf '%s\t%s\t\n' "$THREADLEAK" $c
		printf '%s\t%s\t%s\n' "$THREADLEAK" $c "$pid"
	done
	printf '%s\tserve\t--listen\t:9465\t%s\n' "$THREADLEAK" "$pid"
	printf '%s\tsnapshot\t-o\t%s\n' "$THREADLEAK" "$dir/b"
	printf '%s\tsnapshot\t--output\t%s\n' "$THREADLEAK" "$dir/b"
	printf '%s\tcheck\t--suppressions\t%s\n' "$THREADLEAK" "$dir/i"
	printf '%s\tdiff\t%s\n' "$THREADLEAK" "$dir/b"
	printf '%s\tdiff\t%s\t%s\n' "$THREADLEAK" "$dir/before.snap" "$dir/b"
	printf '%s\texport\t%s\n' "$THREADLEAK" "$dir/b"
	printf '%s\ttop\t--save-dir\t%s\n' "$THREADLEAK" "$dir/"
	printf '%s\tcheck\t--\ttru\n' "$THREADLEAK"
} >"$q"

# answer MODE QUERY: the replies to QUERY (its words after the binary, a
# blank between) in MODE's answers
answer()
{
	awk -v q="= $2" '/^= / { on = ($0 == q); next } on' "$TL_TMP/answers.$1"
}

# offers MODE QUERY WORD...: an error for each WORD not offered
offers()
{
	local mode=$1 query=$2 w
	shift 2
	answer "$mode" "$query" >"$TL_TMP/a"
	for w in "$@"; do
		grep -qxF -- "$w" "$TL_TMP/a" ||
			error "$mode: '$query' does not offer '$w': [$(tr '\n' ' ' <"$TL_TMP/a")]"
	done
}

for mode in plain helpers; do
	BC=$BC COMP=$COMP bash --norc --noprofile "$TL_TMP/drive.sh" $mode <"$q" >"$TL_TMP/answers.$mode" 2>"$TL_TMP/drive.err.$mode" ||
		fail "$mode: the driver failed: $(head -c 300 "$TL_TMP/drive.err.$mode")"

	offers $mode "" "${commands[@]}" --help --version
	nopts=0
	for c in "${commands[@]}"; do
		"$THREADLEAK" "$c" --help >"$TL_TMP/help.$c" 2>&1 || error "threadleak $c --help failed"
		mapfile -t opts < <(grep -E '^ +-' "$TL_TMP/help.$c" | sed -E 's/^ +//; s/  .*//' |
			grep -oE -- '--?[a-zA-Z][a-zA-Z-]*' | sort -u)
		((${#opts[@]} >= 2)) || error "threadleak $c --help lists ${#opts[@]} options"
		nopts=$((nopts + ${#opts[@]}))
		offers $mode "$c -" "${opts[@]}"
	done
	at_least $nopts 50 "$mode: options checked"

	for c in snapshot export; do
		offers $mode "$c --format " text json pprof folded snapshot
		offers $mode "$c -f " text json pprof folded snapshot
	done
	offers $mode "snapshot --format=" text json pprof folded snapshot
	offers $mode "snapshot --format = " text json pprof folded snapshot
	offers $mode "snapshot --format = p" pprof
	for c in snapshot top serve; do
		offers $mode "$c --unwinder " libdw libunwind
	done
	for c in snapshot diff top check export; do
		offers $mode "$c --color " auto always never
	done
	offers $mode "top --sort " growth count cpu
	offers $mode "top -s " growth count cpu

	# PIDs: with the command name among all, the number alone when it is
	# the only one that starts so (a pid with more digits may start so too)
	for c in snapshot top serve diff; do
		offers $mode "$c " "$pid $comm"
		answer $mode "$c $pid" >"$TL_TMP/a"
		grep -qxE -- "$pid( $comm)?" "$TL_TMP/a" ||
			error "$mode: '$c $pid' does not offer $pid: [$(tr '\n' ' ' <"$TL_TMP/a")]"
	done
	offers $mode "serve --listen :9465 $pid" "$pid"
	offers $mode "snapshot -o $dir/b" "$dir/before.snap"
	offers $mode "snapshot --output $dir/b" "$dir/before.snap"
	offers $mode "check --suppressions $dir/i" "$dir/ignores.supp"
	offers $mode "diff $dir/b" "$dir/before.snap"
	offers $mode "diff $dir/before.snap $dir/b" "$dir/before.snap"
	offers $mode "export $dir/b" "$dir/before.snap"
	answer $mode "top --save-dir $dir/" >"$TL_TMP/a"
	grep -qxE -- "$dir/sub/?" "$TL_TMP/a" || error "$mode: top --save-dir offers [$(tr '\n' ' ' <"$TL_TMP/a")], not $dir/sub"
	grep -q before.snap "$TL_TMP/a" && error "$mode: top --save-dir offers a file"
	offers $mode "check -- tru" true
done

# a process named with control bytes: shown with them replaced, on one line
# (a bash that renames itself and waits on a FIFO nobody writes: no child)
printf 'x\033[31my' >"$TL_TMP/evil-name"
mkfifo "$TL_TMP/evil-fifo" || fail "cannot make a FIFO"
start_target bash -c 'IFS= read -r n <"$1"; printf %s "$n" >/proc/self/comm; echo ready; exec 3<>"$2"; read -r -t 600 -u 3 _' \
	evil "$TL_TMP/evil-name" "$TL_TMP/evil-fifo"
evil=$TARGET_PID
printf '%s\tsnapshot\t\n' "$THREADLEAK" | BC=$BC COMP=$COMP bash --norc --noprofile "$TL_TMP/drive.sh" plain >"$TL_TMP/evil.out" 2>&1
line=$(grep -E "^$evil " "$TL_TMP/evil.out")
[ "$line" = "$evil x?[31my" ] || error "a name with an escape byte is offered as [$(printf '%q' "$line")], expected [$evil x?[31my]"

finish
