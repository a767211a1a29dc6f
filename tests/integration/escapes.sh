#!/bin/bash
# escapes: what a target names itself, its threads, its functions and
# files, and what a snapshot file says, never reaches the terminal raw.
# testdata/escapes names its process "m<ESC>]0;PWN<BEL>x" (would set the
# terminal's title), a thread "t<ESC>[2J<CR><LF>FAKE" (would clear the
# screen and forge a line), others with every control byte, a function
# and its file with all 32 of them (patched into its debug info), and it
# waits on a fifo and a unix socket whose paths hold escapes.  In the text
# of snapshot, snapshot --threads, top -b, diff, check and the error
# messages: no control byte but the newline, no C1 control, no
# bidirectional override, each shown escaped instead; the JSON keeps the
# true bytes.
. "$(dirname "$0")/../lib.sh"

need_cmd jq
need_threadleak
need_testdata escapes

dir=$TL_TMP/d
mkdir -p "$dir"
start_target "$TESTDATA/escapes" "$dir"
pid=$TARGET_PID

# raw FILE: print the lines of FILE with a raw control byte (newline
# aside), a C1 control (U+0080-U+009F) or a bidirectional override; exit
# 0 when there is one, 1 when none, 2 on an error (as grep)
raw()
{
	LC_ALL=C grep -naP '[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]' "$1"
}

# clean LABEL FILE: FILE is not empty and raw finds nothing in it (a
# grep that fails is an error, not a pass)
clean()
{
	local bad rc
	[ -s "$2" ] || { error "$1: no output to check"; return; }
	bad=$(raw "$2")
	rc=$?
	case $rc in
	0) error "$1: raw control bytes reach the output: $(head -3 <<<"$bad" | cat -v)" ;;
	1) ;;
	*) error "$1: grep failed (status $rc) on the output" ;;
	esac
}

# the oracle first: raw finds each kind of byte it looks for
for sample in '\x1b[2J' '\x07' '\x7f' '\x00' '\xc2\x9b' '\xe2\x80\xae' '\xe2\x81\xa6'; do
	printf "a${sample}b\n" >"$TL_TMP/sample"
	raw "$TL_TMP/sample" >/dev/null || fail "the check itself is broken: it does not see $sample"
done
printf 'a\\x1b[2Jb \\u202e\n' >"$TL_TMP/sample"
raw "$TL_TMP/sample" >/dev/null && fail "the check itself is broken: it flags an escaped sequence"

# quiet LABEL OUT: OUT.err is empty (no message, no sanitizer report)
quiet()
{
	[ ! -s "$2.err" ] || error "$1: unexpected standard error: $(head -c 300 "$2.err" | cat -v)"
}

must()	# must LABEL FILE FIXED-STRING
{
	grep -qF -- "$3" "$2" || error "$1: no '$3' in: $(head -c 300 "$2" | cat -v)"
}

ctrl='\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f'

OUT=$TL_TMP/snap.txt
run_tl "$OUT" snapshot --color never "$pid"
((TL_RC == 0)) || error "snapshot: $(describe_rc "$TL_RC"): $(first_line "$OUT.err")"
quiet snapshot "$OUT"
clean snapshot "$OUT"
must snapshot "$OUT" 'm\x1b]0;PWN\x07x (pid'
must snapshot "$OUT" 't\x1b[2J\x0d\x0aFAKE'
must snapshot "$OUT" "esc_${ctrl}_fn"
must snapshot "$OUT" "${ctrl}.c:"
must snapshot "$OUT" '/f\x1b[2J\x0aFAKE'
must snapshot "$OUT" '/s\x1b]0;PWN\x07'
for name in '\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f' \
	'\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e' '\x1f\x7f'; do
	must snapshot "$OUT" "$name"
done

run_tl "$TL_TMP/threads.txt" snapshot --threads --color always "$pid"
((TL_RC == 0)) || error "snapshot --threads: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/threads.txt.err")"
quiet "snapshot --threads" "$TL_TMP/threads.txt"
# (our colour is there to strip)
grep -q $'\e\[[0-9;]*m' "$TL_TMP/threads.txt" || error "snapshot --threads --color always: no colour in the output"
# colour is ours: strip the SGR sequences we print, then nothing may be left
sed 's/\x1b\[[0-9;]*m//g' "$TL_TMP/threads.txt" >"$TL_TMP/threads.plain"
clean "snapshot --threads --color always" "$TL_TMP/threads.plain"
must "snapshot --threads" "$TL_TMP/threads.plain" 'thread '"$pid"' "m\x1b]0;PWN\x07x"'

run_tl "$TL_TMP/top.txt" top -b -n 2 -d 0.2 "$pid"
((TL_RC == 0)) || error "top -b: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/top.txt.err")"
quiet "top -b" "$TL_TMP/top.txt"
clean "top -b" "$TL_TMP/top.txt"
must "top -b" "$TL_TMP/top.txt" '(m\x1b]0;PWN\x07x)'

# the JSON keeps the true bytes
json=$TL_TMP/snap.json
snapshot_json "$pid" "$json"
[ "$(jq -r .comm "$json")" = $'m\e]0;PWN\ax' ] || error "json: comm is not the true bytes: $(jq .comm "$json")"
jq -e --arg n $'t\e[2J\r\nFAKE' '[.threads[].name] | index($n)' "$json" >/dev/null ||
	error "json: the thread name is not kept: $(jq -c '[.threads[].name]' "$json")"
want_fn=$(printf "esc_$ctrl"_fn)
jq -e --arg f "$want_fn" '[.threads[].frames[].function] | index($f)' "$json" >/dev/null ||
	error "json: the function name is not kept"

# diff, live and from files; a file's strings are as untrusted: C1 and
# bidirectional overrides, from JSON escapes
jq '.threads = []' "$json" >"$TL_TMP/empty.json"
jq '.comm = "c\u009b2Jx" | .threads[0].name = "r\u202eevil" |
	.threads[0].frames[0].function = "f\u0085\u009b31m" |
	.threads[0].frames[0].module = "/lib/m\u001b[5m.so"' "$json" >"$TL_TMP/hostile.json"
run_tl "$TL_TMP/diff.txt" diff --color never "$TL_TMP/empty.json" "$TL_TMP/hostile.json"
((TL_RC == 1)) || error "diff: $(describe_rc "$TL_RC"), expected 1: $(first_line "$TL_TMP/diff.txt.err")"
quiet diff "$TL_TMP/diff.txt"
clean diff "$TL_TMP/diff.txt"
must diff "$TL_TMP/diff.txt" 'c\u009b2Jx'
must diff "$TL_TMP/diff.txt" 'r\u202eevil'
must diff "$TL_TMP/diff.txt" 'f\u0085\u009b31m'
must diff "$TL_TMP/diff.txt" 'm\x1b[5m.so'
# against the live process: every group appeared (exit 1), each name
# there escaped, nothing raw, nothing on stderr
live=$TL_TMP/diff-live.txt
run_tl "$live" diff "$TL_TMP/empty.json" "$pid"
((TL_RC == 1)) || error "diff against the live process: $(describe_rc "$TL_RC"), expected 1: $(first_line "$live.err")"
quiet "diff against the live process" "$live"
clean "diff against the live process" "$live"
must "diff against the live process" "$live" "after:  pid $pid (live) (m\x1b]0;PWN\x07x, pid $pid,"
must "diff against the live process" "$live" 't\x1b[2J\x0d\x0aFAKE'
must "diff against the live process" "$live" "esc_${ctrl}_fn"
must "diff against the live process" "$live" "${ctrl}.c:"

# an error message naming a hostile file name
bad=$TL_TMP/$'x\e[2J\nFAKE'
printf 'nope' >"$bad"
run_tl "$TL_TMP/err.txt" diff "$bad" "$pid"
((TL_RC == 2)) || error "diff of a bad file: $(describe_rc "$TL_RC")"
clean "error message" "$TL_TMP/err.txt.err"
must "error message" "$TL_TMP/err.txt.err" 'x\x1b[2J\x0aFAKE'
[ "$(wc -l <"$TL_TMP/err.txt.err")" = 1 ] || error "error message: not one line: $(cat -v "$TL_TMP/err.txt.err")"

# folded stacks (snapshot -f folded, export -f folded): escaped as the
# text is, and still one "root;...;leaf COUNT" line per group: a name
# holds no ';' (written ':'), no raw line break, a count at the end
folded_ok()	# folded_ok LABEL FILE
{
	clean "$1" "$2"
	quiet "$1" "$2"
	LC_ALL=C grep -navE '^[^;]+(;[^;]+)* [0-9]+$' "$2" | head -3 >"$2.bad"
	[ ! -s "$2.bad" ] || error "$1: not folded lines: $(cat -v "$2.bad")"
}
run_tl "$TL_TMP/live.folded" snapshot -f folded "$pid"
((TL_RC == 0)) || error "snapshot -f folded: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/live.folded.err")"
folded_ok "snapshot -f folded" "$TL_TMP/live.folded"
must "snapshot -f folded" "$TL_TMP/live.folded" "esc_${ctrl}_fn"
jq '.threads[0].frames[0].function = "f\u202eevil;x\u2066y\u0085z" |
	.threads[0].frames[1].function = "g\u001b[2J\nFAKE 1"' "$json" >"$TL_TMP/bidi.json"
run_tl "$TL_TMP/bidi.folded" export -f folded "$TL_TMP/bidi.json"
((TL_RC == 0)) || error "export -f folded: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/bidi.folded.err")"
folded_ok "export -f folded" "$TL_TMP/bidi.folded"
must "export -f folded" "$TL_TMP/bidi.folded" 'f\u202eevil:x\u2066y\u0085z'
must "export -f folded" "$TL_TMP/bidi.folded" 'g\x1b[2J\x0aFAKE 1'

# check's report
mkdir -p "$TL_TMP/d2"
run_tl "$TL_TMP/check.txt" check -- "$TESTDATA/escapes" "$TL_TMP/d2" exit
((TL_RC == 1)) || error "check: $(describe_rc "$TL_RC"), expected 1: $(first_line "$TL_TMP/check.txt.err")"
clean check "$TL_TMP/check.txt.err"
must check "$TL_TMP/check.txt.err" 'threadleak: m\x1b]0;PWN\x07x (pid'

finish
