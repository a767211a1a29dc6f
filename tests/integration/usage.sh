#!/bin/bash
# usage: --help and --version, held against the man page.
#   - `threadleak --help` (and -h) exits 0 and lists, on standard output,
#     exactly the commands of the man page's SYNOPSIS, and says that
#     snapshot, diff, top and check work on goroutines too (a Go
#     program's), not on threads only;
#   - `threadleak --version` prints "threadleak VERSION", the version in
#     the man page's .TH line, and exits 0;
#   - `threadleak COMMAND --help` (and -h) exits 0 with "usage: threadleak
#     COMMAND" on standard output and nothing on standard error, and lists
#     the same options, long and short, as the man page's section for that
#     command (OPTIONS for snapshot, "COMMAND options" for the others;
#     -h/--help is documented once, under snapshot);
#   - each command's option list is laid out as a table (cmd/options.c
#     prints it from the commands' option tables): every help text and its
#     continued lines begin at one column, or two spaces after an option
#     too long for it; no line ends in a blank;
#   - no command, an unknown command or an unknown option: exit 64 (usage
#     error), one line on standard error, nothing on standard output.
. "$(dirname "$0")/../lib.sh"

need_threadleak

MAN=$TL_ROOT/man/threadleak.1
[ -r "$MAN" ] || fail "no man page at $MAN"

# man_commands: the commands of the SYNOPSIS, one a line
man_commands()
{
	awk '/^\.SH SYNOPSIS/ { on = 1; next } /^\.SH / { on = 0 }
		on && /^\.B threadleak [a-z]/ { print $3 }' "$MAN" | sort -u
}

# man_options COMMAND: the options the man page's section for COMMAND
# defines (the tag lines after .TP), one a line, without -h/--help
man_options()
{
	awk -v want="$1" '
		/^\.SH OPTIONS/ { sec = "snapshot"; next }
		/^\.SS [a-z]+ options/ { sec = $2; next }
		/^\.S[HS] / { sec = ""; next }
		sec == want && prev == ".TP" {
			line = $0
			gsub(/\\f[RPBI]/, "", line); gsub(/\\-/, "-", line); gsub(/"/, " ", line)
			n = split(line, w, /[ ,=]+/)
			for (i = 1; i <= n; i++)
				if (w[i] ~ /^--?[a-zA-Z][a-zA-Z-]*$/) print w[i]
		}
		{ prev = $0 }' "$MAN" | grep -vxE -- '-h|--help' | sort -u
}

# help_options FILE: the options a --help output lists (at the start of
# its lines), without -h/--help
help_options()
{
	grep -E '^ +-' "$1" | sed -E 's/^ +//; s/  .*//' | grep -oE -- '--?[a-zA-Z][a-zA-Z-]*' |
		grep -vxE -- '-h|--help' | sort -u
}

# ---- threadleak --help / -h ----
man_commands >"$TL_TMP/man.commands"
at_least "$(wc -l <"$TL_TMP/man.commands")" 6 "commands in the man page's SYNOPSIS"
for h in --help -h; do
	run_tl "$TL_TMP/help" "$h"
	((TL_RC == 0)) || error "threadleak $h: $(describe_rc $TL_RC), expected 0"
	[ -s "$TL_TMP/help.err" ] && error "threadleak $h: wrote to standard error: $(first_line "$TL_TMP/help.err")"
	awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' "$TL_TMP/help" |
		sort -u >"$TL_TMP/help.commands"
	cmp -s "$TL_TMP/man.commands" "$TL_TMP/help.commands" ||
		error "threadleak $h: commands differ from the man page's SYNOPSIS: $(diff "$TL_TMP/man.commands" "$TL_TMP/help.commands" | grep '^[<>]' | tr '\n' ' ')"
	for cmd in snapshot diff top check; do
		grep -qE "^  $cmd +.*goroutine" "$TL_TMP/help" ||
			error "threadleak $h: $cmd described in threads only: $(grep -E "^  $cmd " "$TL_TMP/help")"
	done
done

# ---- --version ----
man_version=$(sed -n 's/^\.TH .*"threadleak \([^"]*\)".*/\1/p' "$MAN")
[ -n "$man_version" ] || fail "no version in the man page's .TH line: $(grep '^\.TH' "$MAN")"
run_tl "$TL_TMP/version" --version
((TL_RC == 0)) || error "--version: $(describe_rc $TL_RC), expected 0"
[ "$(cat "$TL_TMP/version")" = "threadleak $man_version" ] ||
	error "--version printed '$(first_line "$TL_TMP/version")', the man page says threadleak $man_version"
[ -s "$TL_TMP/version.err" ] && error "--version: wrote to standard error: $(first_line "$TL_TMP/version.err")"

# help_layout FILE: what is wrong with the layout of a --help's option
# list (from its first option line to the blank line after), one a line
help_layout()
{
	awk '
		/^$/ { if (seen) exit; next }
		/^ +-/ { seen = 1 }
		!seen { next }
		/[ \t]$/ { print "line " NR " ends in a blank" }
		/^ +-/ {
			match($0, /^ +(-[a-zA-Z], )?--[a-z-]+( [A-Z]+)?/)
			rest = substr($0, RLENGTH + 1)
			if (rest == "")
				next	# its help on the next lines
			n++; left[n] = RLENGTH; col[n] = RLENGTH + match(rest, /[^ ]/); line[n] = NR
			next
		}
		{
			c = match($0, /[^ ]/)
			if (!C) C = c
			if (c != C) print "line " NR " continues at column " c ", not " C
		}
		END {
			for (i = 1; i <= n; i++) {
				want = left[i] + 2 < C ? C : left[i] + 3
				if (C && col[i] != want)
					print "line " line[i] ": help at column " col[i] ", not " want
			}
		}' "$1"
}

# ---- each command's --help against its man page section ----
checked=0
while read -r cmd; do
	for h in --help -h; do
		run_tl "$TL_TMP/$cmd.help" "$cmd" "$h"
		((TL_RC == 0)) || error "$cmd $h: $(describe_rc $TL_RC), expected 0: $(first_line "$TL_TMP/$cmd.help.err")"
		[ -s "$TL_TMP/$cmd.help.err" ] && error "$cmd $h: wrote to standard error: $(first_line "$TL_TMP/$cmd.help.err")"
		[[ $(first_line "$TL_TMP/$cmd.help") == "usage: threadleak $cmd "* ]] ||
			error "$cmd $h: first line '$(first_line "$TL_TMP/$cmd.help")', expected 'usage: threadleak $cmd ...'"
	done
	help_layout "$TL_TMP/$cmd.help" >"$TL_TMP/$cmd.layout"
	[ -s "$TL_TMP/$cmd.layout" ] &&
		error "$cmd --help: not laid out as a table: $(head -3 "$TL_TMP/$cmd.layout" | tr '\n' ' ')"
	man_options "$cmd" >"$TL_TMP/$cmd.man"
	help_options "$TL_TMP/$cmd.help" >"$TL_TMP/$cmd.opts"
	if ! [ -s "$TL_TMP/$cmd.man" ]; then
		error "$cmd: the man page defines no option for it"
	elif ! [ -s "$TL_TMP/$cmd.opts" ]; then
		error "$cmd --help lists no option"
	else
		cmp -s "$TL_TMP/$cmd.man" "$TL_TMP/$cmd.opts" ||
			error "$cmd: options in the man page (<) and in --help (>) differ: $(diff "$TL_TMP/$cmd.man" "$TL_TMP/$cmd.opts" | grep '^[<>]' | tr '\n' ' ')"
		checked=$((checked + 1))
	fi
done <"$TL_TMP/man.commands"
at_least "$checked" 6 "commands whose options were compared"

# ---- usage errors: 64, one line on stderr, nothing on stdout ----
usage_error()	# usage_error WHAT ARG...
{
	local what=$1
	shift
	run_tl "$TL_TMP/usage" "$@"
	((TL_RC == 64)) || error "$what: $(describe_rc $TL_RC), expected 64 (usage error)"
	[ -s "$TL_TMP/usage" ] && error "$what: wrote to standard output: $(first_line "$TL_TMP/usage")"
	[ "$(grep -c '^threadleak: ' "$TL_TMP/usage.err")" = 1 ] ||
		[ "$what" = "no command" ] ||
		error "$what: expected one 'threadleak: ' line on standard error, got: $(head -3 "$TL_TMP/usage.err" | tr '\n' '|')"
	[ -s "$TL_TMP/usage.err" ] || error "$what: nothing on standard error"
}
usage_error "no command"
usage_error "an unknown command" frobnicate
usage_error "snapshot with an unknown option" snapshot --frobnicate 1
usage_error "top with an unknown option" top --frobnicate 1
finish
