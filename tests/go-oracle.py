#!/usr/bin/env python3
"""go-oracle: a Go program's own goroutine dump, in a canonical form.

    tests/go-oracle.py debug1 FILE     pprof goroutine profile, debug=1
    tests/go-oracle.py debug2 FILE     pprof goroutine profile, debug=2
                                       (runtime.Stack(buf, true), the same)
    tests/go-oracle.py threadleak FILE threadleak snapshot --json of the same
                                       program, in the debug2 form below
    tests/go-oracle.py pprof FILE      `go tool pprof -raw` of a profile
                                       (the program's debug=0 one, or
                                       threadleak's --format pprof), in
                                       the debug1 form without labels

FILE "-" is stdin.  Reads the formats of Go 1.19 through 1.26 and prints a
sorted, tab-separated form that a test can compare with what threadleak
reads of the same process from outside.  Exits 0, or 1 with a message on
stderr when the input is not such a dump (so a changed format fails a test
instead of comparing nothing), 64 on a usage error.  Standard library only.

debug1: one line per group of goroutines with the same stack and labels,
sorted by the stack, then the labels:

    COUNT <TAB> FRAMES <TAB> LABELS

debug2: one line per goroutine, sorted by goroutine id:

    ID <TAB> STATUS <TAB> WAITREASON <TAB> MINUTES <TAB> FRAMES
       <TAB> created by F FILE:LINE <TAB> in goroutine N
       <TAB> FLAGS <TAB> LABELS

  (`cut -f1-7` is the form without the two last columns).

FRAMES is `function file:line;function file:line;...`, innermost first,
file reduced to its base name, one frame per logical frame: inlined calls
are frames of their own in both formats.  Function names are as the
runtime names them (`sync.(*Mutex).Lock`, `main.F[...]`, `main.f.func1`),
without debug=2's argument lists `(0xc000012345, ...)` or `+0x1d` offsets;
a frame without a name is `? ?:0`; an elision line of a very deep stack
(`...N frames elided...`, `...additional frames elided...`) is the frame
`...`.

Runtime frames.  The two formats hide different runtime frames: debug=1
hides the LEADING frames in package runtime (and, from 1.22,
internal/runtime/...) and keeps later ones (runtime.main under main.main);
debug=2 hides every unexported runtime.* function wherever it is (but
shows runtime.gopanic, as "panic", when it is not the innermost frame, and
in 1.26 runtime.runFinalizers/runCleanups) and keeps leading ones in other
packages.  Both forms here DROP them, the same way for both formats, so a
debug=1 group and the debug=2 goroutines in it have the same FRAMES, and
threadleak's full stacks (which start in runtime.gopark) can be reduced by
the same rule (canonical_frames below):
  1. runtime.goexit is dropped wherever it is;
  2. when every remaining frame is in runtime or internal/runtime/, they
     are all kept (both formats then print them all);
  3. otherwise the leading frames in runtime.* or internal/runtime/* are
     dropped, then every other unexported runtime.* frame but
     runtime.gopanic, runtime.runFinalizers and runtime.runCleanups.

LABELS (debug1): the `# labels:` line's text as pprof prints it,
`{"k":"v", "k2":"v2"}` (keys sorted); empty without labels.  In debug2 the
labels are only printed by Go 1.26 with GODEBUG=tracebacklabels=1 (as
` labels:{"k": "v"}`): they are rewritten to the debug1 form.

STATUS, WAITREASON (debug2): the header `[chan receive, 5 minutes]` shows
the wait reason instead of the status when the goroutine waits with one,
so STATUS is `waiting` and WAITREASON `chan receive`; a status name shown
as such (`running`, `runnable`, `syscall`, `waiting`, `idle`, `dead`,
`copystack`, `preempted`, `leaked`, `waiting for cgo callback`) is the
STATUS with an empty WAITREASON.  1.26's ` (leaked)` after a reason makes
STATUS `leaked`.  A `(durable)` suffix (1.25+ synctest) stays part of the
reason.  MINUTES: the number in `, N minutes` (N >= 1), else empty.
FLAGS: what else the header says, comma-separated in this order:
`scan`, `locked to thread`, `synctest bubble N`; else empty.
`created by F FILE:LINE` is empty for goroutine 1 (and when the creator is
hidden); `in goroutine N` is printed by Go 1.21 and later only.  A
goroutine running on another thread has no stack in the dump: its FRAMES
are empty.
"""

import re
import json
import sys

# -- frames -------------------------------------------------------------

KEEP_RUNTIME = {"runtime.gopanic", "runtime.runFinalizers", "runtime.runCleanups"}


def is_runtime(name):
    """In package runtime or internal/runtime/...: what pprof's debug=1
    hides at the start of a stack."""
    return name.startswith("runtime.") or name.startswith("internal/runtime/")


def is_exported_runtime(name):
    """runtime's isExportedRuntime (Go 1.26 version: an exported method
    must also have an exported receiver type)."""
    if not name.startswith("runtime."):
        return False
    rest = name[len("runtime."):]
    rcvr = ""
    i = rest.rfind(".")
    if i >= 0:
        rcvr, rest = rest[:i], rest[i + 1:]
        if rcvr.startswith("(*") and rcvr.endswith(")"):
            rcvr = rcvr[2:-1]
    return rest[:1].isupper() and (rcvr == "" or rcvr[:1].isupper())


def hidden_by_traceback(name):
    return (name.startswith("runtime.") and not is_exported_runtime(name)
            and name not in KEEP_RUNTIME)


def canonical_frames(frames):
    """frames: [(function, file, line)], innermost first, function "?"
    when unknown.  Returns the list with the runtime frames dropped as the
    module comment says."""
    frames = [f for f in frames if f[0] != "runtime.goexit"]
    if all(is_runtime(f[0]) or f[0] in ("...", "?") for f in frames):
        return frames
    i = 0
    while i < len(frames) and is_runtime(frames[i][0]):
        i += 1
    return [f for f in frames[i:] if not hidden_by_traceback(f[0])]


def basename(path):
    return path.rsplit("/", 1)[-1]


def split_location(loc):
    """"/a/b/file.go:123" -> ("file.go", "123")."""
    file, sep, line = loc.rpartition(":")
    if not sep or not line.isdigit():
        raise ValueError("not a file:line: %r" % loc)
    return basename(file), line


def format_frames(frames):
    out = []
    for func, file, line in frames:
        if func == "...":
            out.append("...")
        else:
            out.append("%s %s:%s" % (func, file, line))
    return ";".join(out)


class FormatError(Exception):
    pass


# -- debug=1 ------------------------------------------------------------

D1_HEADER = re.compile(r"^goroutine profile: total (\d+)$")
D1_GROUP = re.compile(r"^(\d+) @( 0x[0-9a-f]+)*$")
D1_LABELS = re.compile(r"^# labels: (\{.*\})$")
D1_OFFSET = re.compile(r"\+0x[0-9a-f]+$")


def parse_debug1(lines):
    """Returns {(frames_text, labels): count}."""
    it = iter(enumerate(lines, 1))
    groups = {}
    total = None
    count = None
    labels = ""
    frames = []

    def close(lineno):
        nonlocal count, labels, frames
        if count is None:
            return
        if not frames:
            raise FormatError("line %d: a group without frames" % lineno)
        key = (format_frames(canonical_frames(frames)), labels)
        groups[key] = groups.get(key, 0) + count
        count, labels, frames = None, "", []

    for lineno, line in it:
        if total is None:
            m = D1_HEADER.match(line)
            if not m:
                raise FormatError("line %d: not 'goroutine profile: total N': %r" % (lineno, line[:80]))
            total = int(m.group(1))
            continue
        if line == "":
            close(lineno)
            continue
        m = D1_GROUP.match(line)
        if m:
            close(lineno)
            count = int(line.split(" ", 1)[0])
            continue
        if count is None:
            raise FormatError("line %d: outside a group: %r" % (lineno, line[:80]))
        m = D1_LABELS.match(line)
        if m:
            if frames:
                raise FormatError("line %d: labels after frames" % lineno)
            labels = m.group(1)
            continue
        if not line.startswith("#"):
            raise FormatError("line %d: not a frame: %r" % (lineno, line[:80]))
        # tabwriter pads the columns with more tabs: drop the empty cells
        cells = [c for c in line.split("\t") if c != ""]
        if cells[0] != "#" or len(cells) not in (2, 4) or not cells[1].startswith("0x"):
            raise FormatError("line %d: not a frame: %r" % (lineno, line[:80]))
        if len(cells) == 2:
            frames.append(("?", "?", "0"))
            continue
        func = D1_OFFSET.sub("", cells[2])
        file, ln = split_location(cells[3])
        frames.append((func, file, ln))
    close(len(lines) + 1)
    if total is None:
        raise FormatError("empty input")
    got = sum(groups.values())
    if got != total:
        raise FormatError("the groups count %d goroutines, the header says total %d" % (got, total))
    return groups


def print_debug1(groups, out):
    for (frames, labels) in sorted(groups):
        out.write("%d\t%s\t%s\n" % (groups[(frames, labels)], frames, labels))


# -- debug=2 ------------------------------------------------------------

D2_HEADER = re.compile(r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[(.*)\]:$")
D2_LABELS = re.compile(r" labels:\{(.*)\}$")
D2_LABEL_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)": "((?:[^"\\]|\\.)*)"(?:, |$)')
D2_CREATED = re.compile(r"^created by (.+?)(?: in goroutine (\d+))?$")
D2_LOCATION = re.compile(r"^\t(.*:\d+)(?: \+0x[0-9a-f]+)?(?: fp=\S+ sp=\S+ pc=\S+)?$")
D2_ELIDED = re.compile(r"^\.\.\.(\d+ frames elided|additional frames elided)\.\.\.$")
STATUSES = {"idle", "runnable", "running", "syscall", "waiting", "dead",
            "copystack", "preempted", "leaked", "waiting for cgo callback", "???"}


def strip_args(text):
    """"sync.(*Mutex).Lock(...)" -> "sync.(*Mutex).Lock": drops the last
    balanced (...) group, the argument list."""
    if not text.endswith(")"):
        return text
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        c = text[i]
        if c == ")":
            depth += 1
        elif c == "(":
            depth -= 1
            if depth == 0:
                return text[:i]
    raise FormatError("unbalanced parentheses in %r" % text[:80])


def go_func_name(name):
    # the runtime prints runtime.gopanic as "panic"
    return "runtime.gopanic" if name == "panic" else name


def parse_header(lineno, line):
    m = D2_HEADER.match(line)
    if not m:
        raise FormatError("line %d: not a goroutine header: %r" % (lineno, line[:80]))
    goid, inside = int(m.group(1)), m.group(2)
    labels = ""
    lm = D2_LABELS.search(inside)
    if lm:
        inside = inside[:lm.start()]
        pairs = D2_LABEL_PAIR.findall(lm.group(1))
        labels = "{" + ", ".join(sorted('"%s":"%s"' % p for p in pairs)) + "}"
    parts = inside.split(", ")
    shown = parts[0]
    flags = []
    leaked = False
    # goroutineheader appends to the status " (leaked)" (1.26), " (scan)",
    # then " (durable)" (1.25+) unless the reason already ends with it
    durable = shown.endswith(" (durable)")
    if durable:
        shown = shown[: -len(" (durable)")]
    if shown.endswith(" (scan)"):
        shown = shown[: -len(" (scan)")]
        flags.append("scan")
    if shown.endswith(" (leaked)"):
        shown = shown[: -len(" (leaked)")]
        leaked = True
    if durable:
        shown += " (durable)"
    minutes = ""
    for p in parts[1:]:
        if p.endswith(" minutes") and p.split(" ")[0].isdigit():
            minutes = p.split(" ")[0]
        elif p == "locked to thread" or p.startswith("synctest bubble "):
            flags.append(p)
        else:
            raise FormatError("line %d: unknown header item %r" % (lineno, p))
    if shown in STATUSES:
        status, reason = shown, ""
    else:
        status, reason = ("leaked" if leaked else "waiting"), shown
    return goid, status, reason, minutes, ",".join(flags), labels


def parse_debug2(lines):
    """Returns a list of rows (tuples of the columns)."""
    rows = []
    i = 0
    n = len(lines)
    while i < n:
        if lines[i] == "":
            i += 1
            continue
        goid, status, reason, minutes, flags, labels = parse_header(i + 1, lines[i])
        i += 1
        frames = []
        created = ""
        parent = ""
        while i < n and lines[i] != "":
            line = lines[i]
            if line.startswith("[originating from goroutine "):
                # GODEBUG=tracebackancestors: the ancestors' stacks follow
                while i < n and lines[i] != "":
                    i += 1
                break
            if line == "\tgoroutine running on other thread; stack unavailable":
                i += 1
                continue
            if D2_ELIDED.match(line):
                frames.append(("...", "", ""))
                i += 1
                continue
            m = D2_CREATED.match(line)
            if m:
                if i + 1 >= n:
                    raise FormatError("line %d: 'created by' without a location" % (i + 1))
                loc = D2_LOCATION.match(lines[i + 1])
                if not loc:
                    raise FormatError("line %d: not a location: %r" % (i + 2, lines[i + 1][:80]))
                file, ln = split_location(loc.group(1))
                created = "created by %s %s:%s" % (go_func_name(m.group(1)), file, ln)
                parent = "in goroutine %s" % m.group(2) if m.group(2) else ""
                i += 2
                continue
            if line.startswith("\t"):
                raise FormatError("line %d: a location without a function: %r" % (i + 1, line[:80]))
            if i + 1 >= n:
                raise FormatError("line %d: a function without a location" % (i + 1))
            loc = D2_LOCATION.match(lines[i + 1])
            if not loc:
                raise FormatError("line %d: not a location: %r" % (i + 2, lines[i + 1][:80]))
            file, ln = split_location(loc.group(1))
            frames.append((go_func_name(strip_args(line)), file, ln))
            i += 2
        rows.append((goid, status, reason, minutes,
                     format_frames(canonical_frames(frames)),
                     created, parent, flags, labels))
    if not rows:
        raise FormatError("no goroutine in the input")
    ids = [r[0] for r in rows]
    if len(set(ids)) != len(ids):
        raise FormatError("a goroutine id appears twice")
    return rows


def print_debug2(rows, out):
    for row in sorted(rows):
        out.write("\t".join(str(c) for c in row) + "\n")


# -- main ---------------------------------------------------------------

STATUSES = ("idle", "runnable", "running", "syscall", "waiting", "dead",
            "copystack", "preempted", "leaked")


def print_threadleak(text, out):
    """threadleak's JSON snapshot: its goroutines (not the runtime's own,
    which pprof does not show either) in the debug2 form, columns 1-7:
    ID, STATUS, WAITREASON, MINUTES, FRAMES, created by, in goroutine."""
    doc = json.loads(text)
    if doc.get("format") != "threadleak-snapshot" or not doc.get("runtime"):
        raise FormatError("not a threadleak snapshot of a Go program")
    rows = []
    for t in doc["threads"]:
        if not t.get("goid") or t.get("go_system"):
            continue
        wait = t.get("go_wait") or "?"
        status, reason = (wait, "") if wait in STATUSES else ("waiting", wait)
        minutes = t.get("go_minutes")
        minutes = str(int(minutes)) if minutes is not None and minutes >= 1 else ""
        frames = canonical_frames([(f.get("function") or "?",
                                    basename(f.get("file") or "?"),
                                    str(f.get("line") or 0))
                                   for f in t.get("frames") or []])
        created = t.get("created") or []
        by = ""
        if created:
            inner, outer = created[0], created[-1]
            by = "created by %s %s:%s" % (outer.get("function") or "?",
                                          basename(inner.get("file") or "?"),
                                          inner.get("line") or 0)
        parent = t.get("go_parent") or 0
        rows.append((t["goid"], [str(t["goid"]), status, reason, minutes,
                                 format_frames(frames), by,
                                 "in goroutine %d" % parent if parent else ""]))
    for _, row in sorted(rows):
        out.write("\t".join(row) + "\n")


# -- go tool pprof -raw ------------------------------------------------

RAW_SAMPLE = re.compile(r"^\s+(\d+)((?:\s+\d+)*):((?: \d+)*) ?$")
RAW_LOCATION = re.compile(r"^\s+(\d+): 0x[0-9a-f]+ (?:M=\d+ )?(.*)$")
RAW_LINE = re.compile(r"^(\S+) (\S+):(\d+):\d+ s=\d+$")


def parse_raw_line(text):
    m = RAW_LINE.match(text.strip())
    if not m:
        raise FormatError("not a pprof -raw location line: %r" % text)
    return (m.group(1), basename(m.group(2)), m.group(3))


def parse_pprof_raw(lines):
    """`go tool pprof -raw`: {frames_text: count} of the samples whose
    first value is not 0, frames canonical as for debug1."""
    samples, locations, section, last = [], {}, None, None
    for line in lines:
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section == "Samples:":
            m = RAW_SAMPLE.match(line)
            if m:
                samples.append((int(m.group(1)), m.group(3).split()))
        elif section == "Locations":
            m = RAW_LOCATION.match(line)
            if m:
                last = m.group(1)
                locations[last] = [parse_raw_line(m.group(2))]
            elif line.strip() and last:
                locations[last].append(parse_raw_line(line))
    if section is None:
        raise FormatError("not the output of go tool pprof -raw")
    groups = {}
    for count, ids in samples:
        if count == 0:
            continue
        frames = []
        for i in ids:
            if i not in locations:
                raise FormatError("sample names location %s, not listed" % i)
            frames.extend(locations[i])
        text = format_frames(canonical_frames(frames))
        groups[text] = groups.get(text, 0) + count
    return groups


def main(argv):
    if len(argv) != 3 or argv[1] not in ("debug1", "debug2", "threadleak", "pprof"):
        sys.stderr.write("usage: go-oracle.py debug1|debug2|threadleak|pprof FILE\n")
        return 64
    mode, path = argv[1], argv[2]
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
    except OSError as e:
        sys.stderr.write("go-oracle: %s: %s\n" % (path, e.strerror))
        return 1
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    try:
        if mode == "threadleak":
            print_threadleak(text, sys.stdout)
        elif mode == "pprof":
            for text, count in sorted(parse_pprof_raw(lines).items()):
                sys.stdout.write("%d\t%s\t\n" % (count, text))
        elif mode == "debug1":
            print_debug1(parse_debug1(lines), sys.stdout)
        else:
            print_debug2(parse_debug2(lines), sys.stdout)
    except (FormatError, ValueError) as e:
        sys.stderr.write("go-oracle: %s: %s\n" % (path, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
