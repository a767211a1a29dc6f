#!/bin/bash
# export-options: what the man page promises for `threadleak export`, each
# held against a source other than threadleak (the target's /proc, the
# executable's symbol table, the file system, a folded-stacks reader):
#   - -t/--threads (text): one entry per thread of /proc/PID/task, each
#     once, named as /proc/PID/task/TID/comm, its wait kind the one of its
#     system call in /proc/PID/task/TID/syscall, its stack with its own
#     function (nm); without -t, groups (the 4 pool threads as one);
#   - -f json: the snapshot document, its pid, comm, exe, tids, names and
#     syscall numbers /proc's; the same document as the file read (and for
#     the frozen snapshots of testdata/, made before modules were listed,
#     the same with the new fields empty);
#   - -o for text, folded and json: the file is what standard output gets,
#     nothing is printed; folded as speedscope and flamegraph.pl read it
#     (every line "root;...;leaf COUNT"), the counts adding up to /proc's
#     threads, per wait kind;
#   - the file written whole or not at all: a directory that cannot be
#     written (as nobody), one that does not exist, a directory given as
#     FILE, /dev/full, a write that fails half-way (RLIMIT_FSIZE): exit 2,
#     one line, no file and no temporary file left, an existing file as it
#     was; killed half-way (SIGXFSZ), the existing file as it was.
. "$(dirname "$0")/../lib.sh"

need_cmd python3 nm setpriv
need_threadleak
need_testdata leakyserver

start_target "$TESTDATA/leakyserver"
LS=$TARGET_PID
wait_blocked "$LS" "$LS" 60 || fail "leakyserver's main thread never blocked"

# proc_facts PID: "TID<tab>SYSCALL-NR<tab>COMM" per thread, sorted
proc_facts()
{
	local tid sc comm
	for tid in $(task_tids "$1"); do
		{ read -r sc _ <"/proc/$1/task/$tid/syscall"; } 2>/dev/null || sc=?
		{ IFS= read -r comm <"/proc/$1/task/$tid/comm"; } 2>/dev/null || comm=?
		printf '%s\t%s\t%s\n' "$tid" "$sc" "$comm"
	done
}

proc_facts "$LS" >"$TL_TMP/facts0"
snap=$TL_TMP/ls.snap
run_tl "$TL_TMP/snap.out" snapshot -q -o "$snap" "$LS"
((TL_RC == 0)) || fail "snapshot -o: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/snap.out.err")"
proc_facts "$LS" >"$TL_TMP/facts"
cmp -s "$TL_TMP/facts0" "$TL_TMP/facts" ||
	fail "leakyserver's threads moved during the snapshot (it must be idle): $(diff "$TL_TMP/facts0" "$TL_TMP/facts" | tr '\n' '|')"
nthreads=$(wc -l <"$TL_TMP/facts")
((nthreads == 7)) || fail "leakyserver has $nthreads threads in /proc, not its 7"
assert_not_stopped "$LS"
nm --defined-only "$TESTDATA/leakyserver" | awk '$2 ~ /^[tT]$/ {print $3}' >"$TL_TMP/syms"
[ "$(uname -m)" = x86_64 ] || partial "the wait kinds from /proc's system call numbers: x86_64's numbers only"

# the checks below are python's: one script, one mode per format
cat >"$TL_TMP/check.py" <<'EOF'
import json, re, sys

mode, path, facts_path, syms_path, arch = sys.argv[1:6]
facts = {}
for line in open(facts_path):
    tid, nr, comm = line.rstrip("\n").split("\t")
    facts[int(tid)] = (nr, comm)
syms = set(open(syms_path).read().split())
# the wait kind of each system call leakyserver's threads block in
# (x86_64 numbers): futex only in pthread_cond_wait there
KIND = {"202": "condvar", "43": "accept", "288": "accept", "230": "sleep", "35": "sleep", "34": "signal"}
# each thread's own innermost function, from leakyserver.c
OWN = {"pool": "pool_wait", "acceptor": "accept_loop", "ticker": "ticker_loop", "leakyserver": "main_wait"}
errors = []

def expect_kind(tid):
    return KIND.get(facts[tid][0]) if arch == "x86_64" else None

def check_own(what, comm, funcs):
    own = OWN.get(comm)
    if own is None:
        errors.append("%s: a thread named %r: leakyserver has none" % (what, comm))
    elif own not in syms:
        errors.append("%s: %s is not in leakyserver's symbol table (the test's oracle is wrong)" % (what, own))
    elif own not in funcs:
        errors.append("%s: no frame %s in %s" % (what, own, funcs))

if mode == "threads":
    # "thread TID "NAME" state S  KIND ...", then its frames, indented
    entries, cur = [], None
    for line in open(path, encoding="utf-8"):
        m = re.match(r'^thread (\d+) "(.*)" state (\S)  (\S+)', line)
        if m:
            cur = [int(m.group(1)), m.group(2), m.group(4), []]
            entries.append(cur)
        elif cur and line.startswith("    ") and line.strip():
            cur[3].append(line.split()[0])
        elif not line.strip():
            cur = None
    tids = [e[0] for e in entries]
    if sorted(tids) != sorted(facts):
        errors.append("tids %s, /proc has %s" % (sorted(tids), sorted(facts)))
    for tid, name, kind, funcs in entries:
        if tid not in facts:
            continue
        if name != facts[tid][1]:
            errors.append("thread %d named %r, /proc says %r" % (tid, name, facts[tid][1]))
        want = expect_kind(tid)
        if want and kind != want:
            errors.append("thread %d waits in %s, /proc's syscall %s is %s" % (tid, kind, facts[tid][0], want))
        if len(funcs) < 3:
            errors.append("thread %d: %d frames" % (tid, len(funcs)))
        check_own("thread %d" % tid, name, funcs)
elif mode == "json":
    d = json.load(open(path, encoding="utf-8"))
    pid, comm, exe = int(sys.argv[6]), sys.argv[7], sys.argv[8]
    if (d.get("format"), d.get("version")) != ("threadleak-snapshot", 1):
        errors.append("format %r version %r" % (d.get("format"), d.get("version")))
    if (d.get("pid"), d.get("comm"), d.get("exe")) != (pid, comm, exe):
        errors.append("pid, comm, exe %r, /proc says %r" % ((d.get("pid"), d.get("comm"), d.get("exe")), (pid, comm, exe)))
    threads = d.get("threads", [])
    if sorted(t["tid"] for t in threads) != sorted(facts):
        errors.append("tids %s, /proc has %s" % (sorted(t["tid"] for t in threads), sorted(facts)))
    for t in threads:
        tid = t["tid"]
        if tid not in facts:
            continue
        nr, name = facts[tid]
        if t.get("name") != name:
            errors.append("thread %d named %r, /proc says %r" % (tid, t.get("name"), name))
        if str((t.get("wait") or {}).get("syscall_nr")) != nr:
            errors.append("thread %d: syscall_nr %r, /proc says %s" % (tid, (t.get("wait") or {}).get("syscall_nr"), nr))
        want = expect_kind(tid)
        if want and (t.get("wait") or {}).get("kind") != want:
            errors.append("thread %d: kind %r, /proc's syscall says %s" % (tid, (t.get("wait") or {}).get("kind"), want))
        if t.get("partial") is not False:
            errors.append("thread %d: partial %r" % (tid, t.get("partial")))
        check_own("thread %d" % tid, name, [f.get("function") for f in t.get("frames", [])])
elif mode == "folded":
    # as speedscope reads it (import/bg-flamegraph.ts: /^(.*) (\d+)$/, the
    # stack split at ';') and flamegraph.pl (the count after the last space)
    total, kinds = 0, {}
    lines = open(path, encoding="utf-8").read().split("\n")
    if lines[-1] != "":
        errors.append("the last line has no newline")
    for line in lines[:-1]:
        m = re.match(r"^(.*) (\d+)$", line)
        if not m:
            errors.append("not 'STACK COUNT': %r" % line)
            continue
        frames, n = m.group(1).split(";"), int(m.group(2))
        if n < 1 or not all(frames):
            errors.append("an empty frame or a count of 0: %r" % line)
        leaf = frames[-1]
        if not (leaf.startswith("[") and leaf.endswith("]")):
            errors.append("the leaf is not the wait in brackets: %r" % line)
        kinds[leaf.strip("[]")] = kinds.get(leaf.strip("[]"), 0) + n
        total += n
        # root first: the thread's entry (_start, or clone) before its own code
        if frames[0] not in ("_start", "__clone3", "__clone", "clone3", "clone"):
            errors.append("the root is not a thread's entry: %r" % line)
        own = [f for f in frames if f in OWN.values()]
        if len(own) != 1 or own[0] not in syms:
            errors.append("not one of leakyserver's own functions in %r" % line)
    if total != len(facts):
        errors.append("counts add up to %d, /proc has %d threads" % (total, len(facts)))
    if arch == "x86_64":
        want = {}
        for tid in facts:
            k = expect_kind(tid)
            want[k] = want.get(k, 0) + 1
        if kinds != want:
            errors.append("per wait kind %s, /proc's system calls say %s" % (sorted(kinds.items()), sorted(want.items(), key=str)))
for e in errors[:8]:
    print(e)
sys.exit(1 if errors else 0)
EOF
arch=$(uname -m)
# check MODE FILE [ARG...]: the mismatches, on one line; false when any
check()
{
	local out rc
	out=$(python3 "$TL_TMP/check.py" "$1" "$2" "$TL_TMP/facts" "$TL_TMP/syms" "$arch" "${@:3}" 2>&1)
	rc=$?
	printf '%s' "$out" | head -8 | tr '\n' '|'
	return $rc
}

# ---- -t / --threads ----
run_tl "$TL_TMP/t.txt" export -f text -t "$snap"
((TL_RC == 0)) || error "export -f text -t: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/t.txt.err")"
[ -s "$TL_TMP/t.txt" ] || error "export -f text -t printed nothing"
msg=$(check threads "$TL_TMP/t.txt") || error "export -f text -t: $msg"
grep -Eq '^[0-9]+ threads? ' "$TL_TMP/t.txt" && error "export -f text -t has group headers: $(grep -E '^[0-9]+ threads? ' "$TL_TMP/t.txt" | head -1)"
run_tl "$TL_TMP/t2.txt" export --threads -f text "$snap"
((TL_RC == 0)) && cmp -s "$TL_TMP/t.txt" "$TL_TMP/t2.txt" || error "export --threads differs from -t ($(describe_rc "$TL_RC"))"
# without -t: groups, the 4 pool threads in one
run_tl "$TL_TMP/g.txt" export -f text "$snap"
((TL_RC == 0)) || error "export -f text: $(describe_rc "$TL_RC")"
pool=$(awk -F'\t' '$3 == "pool" {print $1}' "$TL_TMP/facts" | tr '\n' ' ')
grep -q "^4 threads  condvar " "$TL_TMP/g.txt" && grep -q "threads: pool ×4  \[${pool% }\]" "$TL_TMP/g.txt" ||
	error "export -f text: no group of the 4 pool threads [${pool% }]: $(grep -m2 -E '^[0-9]+ thread|pool' "$TL_TMP/g.txt" | tr '\n' '|')"
[ "$(grep -c '^thread [0-9]' "$TL_TMP/g.txt")" = 0 ] || error "export -f text without -t has per-thread entries"

# ---- -f json ----
run_tl "$TL_TMP/j.json" export -f json "$snap"
((TL_RC == 0)) || error "export -f json: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/j.json.err")"
msg=$(check json "$TL_TMP/j.json" "$LS" "$(cat "/proc/$LS/comm")" "$(readlink "/proc/$LS/exe")") ||
	error "export -f json: $msg"
# a process without goroutines: the file (version 2) is the document
# (version 1) but for its version and its empty tables
python3 - "$snap" "$TL_TMP/j.json" <<'EOF' || error "export -f json is not the document it read"
import json, sys
a, b = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
assert a.pop("version") == 2 and b.pop("version") == 1
assert all(a.pop(k) == [] for k in ("stacks", "templates", "goroutines"))
sys.exit(0 if a == b and len(a["threads"]) == 7 else 1)
EOF
# frozen snapshots, made before snapshots listed their modules: every
# field kept, the ones added since null or empty
for s in before after; do
	run_tl "$TL_TMP/frozen-$s.json" export -f json "$TESTDATA/diff-$s.snap"
	((TL_RC == 0)) || { error "export -f json of testdata/diff-$s.snap: $(describe_rc "$TL_RC")"; continue; }
	python3 - "$TESTDATA/diff-$s.snap" "$TL_TMP/frozen-$s.json" <<'EOF' || error "export -f json of testdata/diff-$s.snap"
import json, sys
a, b = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
assert "modules" not in a and len(a["threads"]) >= 5, "not a frozen snapshot"
lost = [k for k in a if a[k] != b.get(k)]
added = {k: b[k] for k in b if k not in a and b[k] not in (None, [])}
if lost or added:
    sys.exit("changed %s, added %s" % (lost, added))
EOF
done

# ---- -o: text, folded, json ----
for f in text folded json; do
	run_tl "$TL_TMP/o-$f.out" export -f "$f" -o "$TL_TMP/o.$f" "$snap"
	((TL_RC == 0)) || { error "export -f $f -o: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/o-$f.out.err")"; continue; }
	[ -s "$TL_TMP/o.$f" ] || error "export -f $f -o: an empty file"
	[ ! -s "$TL_TMP/o-$f.out" ] || error "export -f $f -o printed: $(first_line "$TL_TMP/o-$f.out")"
	run_tl "$TL_TMP/stdout.$f" export -f "$f" --color never "$snap"
	if [ $f = json ]; then
		# standard output's is indented, the file's not: the same document
		python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
			"$TL_TMP/o.$f" "$TL_TMP/stdout.$f" || error "export -f json -o: not the document standard output gets"
	else
		cmp -s "$TL_TMP/o.$f" "$TL_TMP/stdout.$f" || error "export -f $f -o: the file is not what standard output gets"
	fi
	ls -A "$TL_TMP" | grep -q "^\.o\.$f\." && error "export -f $f -o left a temporary file"
done
msg=$(check folded "$TL_TMP/o.folded") || error "export -f folded -o: $msg"
grep -q "^4 threads  condvar " "$TL_TMP/o.text" || error "export -f text -o: no group of 4 condvar"
run_tl "$TL_TMP/ot.out" export -f text -t -o "$TL_TMP/ot.text" "$snap"
((TL_RC == 0)) && cmp -s "$TL_TMP/ot.text" "$TL_TMP/t.txt" || error "export -f text -t -o: not what -t prints ($(describe_rc "$TL_RC"))"
msg=$(check json "$TL_TMP/o.json" "$LS" "$(cat "/proc/$LS/comm")" "$(readlink "/proc/$LS/exe")") ||
	error "export -f json -o: $msg"
kill_target "$LS"

# ---- whole or not at all ----
# cannot_write WHAT FILE [RUNNER...]: export -f folded -o FILE under RUNNER
# must exit 2 with one line naming FILE, print nothing and leave no file
cannot_write()
{
	local what=$1 file=$2 dir out=$TL_TMP/cw
	shift 2
	dir=$(dirname "$file")
	timeout -k 5 "$TL_SNAP_TIMEOUT" "$@" "$THREADLEAK" export -f folded -o "$file" "$snap" >"$out" 2>"$out.err" </dev/null
	local rc=$?
	((rc == 2)) || error "$what: $(describe_rc "$rc"), expected 2: $(first_line "$out.err")"
	[ "$(wc -l <"$out.err")" = 1 ] && grep -q "^threadleak: cannot write $file: " "$out.err" ||
		error "$what: not one line naming $file: $(head -c 300 "$out.err" | tr '\n' '|')"
	[ ! -s "$out" ] || error "$what: printed $(first_line "$out")"
	# no file, no temporary file beside it (in our own directories)
	case $file in
	"$TL_TMP"/*)
		if [ -d "$dir" ] && [ ! -d "$file" ]; then
			ls -A "$dir" | grep -q "^\.\?$(basename "$file")" && error "$what: left $(ls -A "$dir" | tr '\n' ' ')"
		fi ;;
	esac
	return 0
}
# a directory nobody may write to (the snapshot readable by nobody)
chmod 755 "$TL_TMP" && chmod 644 "$snap" || fail "chmod of the temporary directory"
mkdir "$TL_TMP/ro" && chmod 755 "$TL_TMP/ro"
if [ "$(id -u)" = 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups true ||
		fail "setpriv cannot run a command as nobody"
	cannot_write "a directory nobody may write to" "$TL_TMP/ro/x.folded" setpriv --reuid=65534 --regid=65534 --clear-groups
	[ -z "$(ls -A "$TL_TMP/ro")" ] || error "the directory nobody may write to has $(ls -A "$TL_TMP/ro")"
	# the same as root writes there: the refusal was the directory's
	run_tl "$TL_TMP/root-ro" export -f folded -o "$TL_TMP/ro/x.folded" "$snap"
	((TL_RC == 0)) && [ -s "$TL_TMP/ro/x.folded" ] || error "export as root into the same directory: $(describe_rc "$TL_RC")"
else
	partial "needs root: an unwritable directory (setpriv to nobody)"
fi
cannot_write "a directory that does not exist" "$TL_TMP/none/x.folded"
[ ! -e "$TL_TMP/none" ] || error "export made the missing directory"
cannot_write "a directory as FILE" "$TL_TMP/ro"
cannot_write "/dev/full" /dev/full
grep -q "No space left on device" "$TL_TMP/cw.err" || error "/dev/full: $(first_line "$TL_TMP/cw.err")"

# a write that fails half-way: RLIMIT_FSIZE under the file's size, SIGXFSZ
# ignored (write(2) fails with EFBIG), then SIGXFSZ as it comes (killed)
# (python ignores SIGXFSZ itself: set it either way, exec keeps it)
limit='import os, sys, signal, resource
signal.signal(signal.SIGXFSZ, signal.SIG_IGN if sys.argv[1] == "ignore" else signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
os.execvp(sys.argv[3], sys.argv[3:])'
mkdir "$TL_TMP/half"
for f in text folded json; do
	size=$(wc -c <"$TL_TMP/o.$f")
	lim=$((size / 3))
	((lim > 0)) || { error "$f: the exported file is empty"; continue; }
	for how in ignore kill; do
		out=$TL_TMP/half/out.$f
		printf 'the file as it was\n' >"$out"
		cp "$out" "$TL_TMP/as-it-was"
		# (the group's 2>: bash's own "File size limit exceeded" line)
		{
			timeout -k 5 "$TL_SNAP_TIMEOUT" python3 -c "$limit" "$how" "$lim" \
				"$THREADLEAK" export -f "$f" -o "$out" "$snap" >"$TL_TMP/half.out" 2>"$TL_TMP/half.err" </dev/null
			rc=$?
		} 2>/dev/null
		cmp -s "$out" "$TL_TMP/as-it-was" || error "$f, a write failing at $lim of $size bytes ($how): the file is not as it was ($(describe_rc "$rc"), $(wc -c <"$out") bytes)"
		if [ $how = ignore ]; then
			((rc == 2)) || error "$f, a write failing at $lim of $size bytes: $(describe_rc "$rc"), expected 2"
			[ "$(wc -l <"$TL_TMP/half.err")" = 1 ] && grep -q "^threadleak: cannot write $out: File too large" "$TL_TMP/half.err" ||
				error "$f, a write failing half-way says: $(head -c 300 "$TL_TMP/half.err" | tr '\n' '|')"
			[ "$(ls -A "$TL_TMP/half")" = "out.$f" ] || error "$f, a write failing half-way left: $(ls -A "$TL_TMP/half" | tr '\n' ' ')"
		else
			((rc == 128 + 25)) || error "$f, killed by SIGXFSZ half-way: $(describe_rc "$rc"), expected the kernel's SIGXFSZ"
		fi
		rm -f "$TL_TMP/half/".out.* "$out"
	done
done
finish
