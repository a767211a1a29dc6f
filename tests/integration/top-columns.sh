#!/bin/bash
# top-columns: top's rows keep their columns in line and its header keeps
# its fields whole at 80 columns, on a Go program (testdata/go/leaky, built
# with the newest Go here), whose wait reasons ("GC scavenge wait",
# "force gc (idle)") are longer than a thread's kind:
#   - top -b (COLUMNS=80): in every frame, the header line has each of its
#     fields; every row's KIND starts under "KIND", its CPU% ends under
#     "CPU%", its OLDEST under "OLDEST", its WHERE starts under "WHERE";
#     each kind shown (of a group not emptied) is a whole wait reason of
#     the goroutines:/threads: lines, or one cut with "..."; "force gc
#     (idle)" is shown;
#   - the interactive view in an 80-column tmux pane: its first two rows
#     show the pid and name, the goroutines, the threads, the CPU, "every
#     0.2s" and how long it has been "watched", each whole; every row of the table has its columns in line
#     with the column header (a kind wider than the column is cut with an
#     ellipsis), "GC scavenge wait" included.
# The view is read once it shows its second sample (the CPU is known).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd python3
need_cmd tmux
need_threadleak

go=$(go_toolchains | tail -1)
[ -n "$go" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
bin=$TL_TMP/leaky
build_leaky "$go" plain "$bin" || fail "$LEAKY_ERROR"
start_leaky "$bin"
pid=$LEAKY_PID

# ---- top -b ----
out=$TL_TMP/top.txt
COLUMNS=80 run_tl "$out" top -b -n 2 -d 0.2 "$pid"
((TL_RC == 0)) || error "top -b: $(describe_rc "$TL_RC"): $(first_line "$out.err")"
[ -s "$out.err" ] && error "top -b: standard error: $(head -c 300 "$out.err")"
python3 - "$out" "$pid" <<'EOF' || error "top -b: $(tail -n 1 "$out.check")"
import re, sys
path, pid = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
frames = [f for f in text.split("\n\n") if f.strip()]
def bad(msg):
    open(path + ".check", "w").write(msg + "\n")
    sys.exit(1)
if len(frames) != 2:
    bad("%d frames, expected 2" % len(frames))
shown = set()
for n, f in enumerate(frames, 1):
    lines = f.split("\n")
    head = lines[0]
    pat = (r"^threadleak top: pid %s \(leaky\), go[0-9.a-z]+, [0-9]+ goroutines? \([+-][0-9]+\), "
           r"[0-9]+ threads?, cpu [0-9.]+%%, [0-9:]+, sample [0-9]+( after [0-9.]+s)?, "
           r"captured in [0-9.]+ ms \([0-9]+ recaptured(, [0-9]+ stopped briefly)?\), "
           r"top's own CPU [0-9.]+ ms$" % pid)
    if not re.match(pat, head):
        bad("frame %d: header line lacks a field: %s" % (n, head))
    reasons = set()
    for l in lines[1:]:
        m = re.match(r"^(goroutines|threads): (.*)$", l)
        if m:
            reasons |= {re.sub(r"^[0-9]+ ", "", r) for r in m.group(2).split(", ")}
    ch = [i for i, l in enumerate(lines) if l.startswith("   COUNT")]
    if len(ch) != 1:
        bad("frame %d: no column header" % n)
    ch = lines[ch[0]]
    kind = ch.index("KIND")
    cpu = ch.index("CPU%") + 4
    old = ch.index("OLDEST") + 6
    where = ch.index("WHERE")
    rows = lines[lines.index(ch) + 1:]
    if len(rows) < 10:
        bad("frame %d: %d rows" % (n, len(rows)))
    for r in rows:
        if (r[kind - 2:kind] != "  " or r[kind] == " " or r[cpu - 6] != " " or
                not re.match(r"^ *[0-9]+\.[0-9]$", r[cpu - 5:cpu]) or r[cpu] != " " or r[old] != " " or r[old - 1] == " " or
                r[where - 2:where] != "  " or r[where] == " "):
            bad("frame %d: row out of line with the column header:\n%s\n%s" % (n, ch, r))
        k = r[kind:cpu - 6].rstrip()
        # (a group emptied since the last frame is no longer counted)
        if r.split()[0] != "0" and k not in reasons and not (k.endswith("...") and
                                     any(x.startswith(k[:-3]) for x in reasons)):
            bad("frame %d: kind '%s' is no wait reason of the header (%s): %s" %
                (n, k, ", ".join(sorted(reasons)), r))
        shown.add(k)
if "force gc (idle)" not in shown:
    bad("no 'force gc (idle)' row: kinds shown: %s" % ", ".join(sorted(shown)))
EOF

# ---- the interactive view, 80 columns ----
SOCK=$TL_TMP/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
at_exit 'tmux -S "$SOCK" kill-server >/dev/null 2>&1'
cat >"$TL_TMP/run-top.sh" <<'EOF'
#!/bin/bash
# run-top.sh DIR THREADLEAK ARG...: top; its status into DIR/top.rc
dir=$1
shift
"$@" 2>"$dir/top.err"
echo $? >"$dir/top.rc"
read -r _
EOF
chmod +x "$TL_TMP/run-top.sh"
tm new-session -d -s view -x 80 -y 45 "$TL_TMP/run-top.sh" "$TL_TMP" "$THREADLEAK" top -d 0.2 "$pid" ||
	fail "tmux cannot start a session"
screen=$TL_TMP/screen
# ready: the second sample is drawn (row 1 says samples N >= 2, or row 0
# has its CPU) and the runtime's scavenger's row is on the screen
ready()
{
	tm capture-pane -p -t view >"$screen" 2>/dev/null || return 1
	[ -e "$TL_TMP/top.rc" ] && return 0
	grep -Eq 'samples ([2-9]|[1-9][0-9])|cpu [0-9.]+%' "$screen" && grep -q 'GC scavenge' "$screen"
}
wait_for 60 ready || error "view: no second sample with a 'GC scavenge wait' row in 60 s: $(grep -v '^ *$' "$screen" | head -5 | tr '\n' '|')"
[ -e "$TL_TMP/top.rc" ] && error "view: top ended ($(cat "$TL_TMP/top.rc")): $(head -c 300 "$TL_TMP/top.err")"
python3 - "$screen" "$pid" <<'EOF' || error "view: $(tail -n 1 "$screen.check")"
import re, sys
path, pid = sys.argv[1], sys.argv[2]
lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
def bad(msg):
    open(path + ".check", "w").write(msg.replace("\n", " | ") + "\n")
    sys.exit(1)
head = lines[0].rstrip() + "\n" + lines[1].rstrip()
for name, pat in [("pid and name", r"^pid %s leaky  " % pid),
                  ("goroutines", r"(^|  )goroutines [0-9]+ "),
                  ("threads", r"(^|  )threads [0-9]+(  |$)"),
                  ("cpu", r"(^|  )cpu ([0-9.]+%|-)(  |$)"),
                  ("interval", r"(^|  )every 0\.2s$"),
                  ("watched", r"(^|  )watched [0-9.hms]+(  |$)")]:
    if not re.search(pat, head, re.M):
        bad("rows 0-1 lack %s: '%s'" % (name, head))
ch = [l for l in lines if l.startswith("  COUNT")]
if len(ch) != 1:
    bad("no column header: %s" % "|".join(lines[:6]))
ch = ch[0]
kind, cpu, old, where = ch.index("KIND"), ch.index("CPU%") + 4, ch.index("OLDEST") + 6, ch.index("WHERE")
rows = [l for l in lines[lines.index(ch) + 1:] if re.match(r"^ +[0-9]+ ", l)]
if len(rows) < 10:
    bad("%d rows" % len(rows))
for r in rows:
    if (len(r) < where + 1 or r[kind - 1] != " " or r[kind] == " " or
            not re.match(r"^ *[0-9]+\.[0-9]$", r[cpu - 6:cpu]) or r[cpu] != " " or
            r[old] != " " or r[old - 1] == " " or r[where - 1] != " " or r[where] == " "):
        bad("row out of line with the column header:\n%s\n%s" % (ch, r))
if not any("GC scavenge wait" in r for r in rows):
    bad("no whole 'GC scavenge wait' row")
EOF
finish
