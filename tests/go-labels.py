#!/usr/bin/env python3
"""go-labels: the pprof label sets of a Go program's goroutines, as its own
dumps and as threadleak's outputs say them, in one form to compare.

    tests/go-labels.py debug1 FILE FUNC...   pprof goroutine profile, debug=1
    tests/go-labels.py text FILE FUNC...     threadleak snapshot's text
    tests/go-labels.py json FILE FUNC...     threadleak snapshot --json
    tests/go-labels.py pprof FILE FUNC...    a goroutine profile.proto
                                             (gzipped): the program's
                                             debug=0 one or threadleak's
                                             -f pprof
    tests/go-labels.py metrics FILE FUNC...  serve's /metrics: the
                                             threadleak_group_count series
    tests/go-labels.py expect-metrics DEBUG1 FUNC...   what serve's
                                             series should say of the
                                             debug=1 groups: the lines of
                                             mode metrics

Each mode prints, sorted, one line per group of goroutines in a frame of
one of the FUNCs with the same label set:

    FUNC <TAB> COUNT <TAB> LABELS

LABELS: in modes debug1, text and metrics, the text as pprof prints it
(`{"k":"v", "k2":"v2"}`), compared byte for byte; `-` for goroutines with
no label set.  Modes json and pprof give the labels as data: there LABELS
is the set as JSON (keys sorted, ASCII); `debug1 --data` and `text --data`
decode the text to the same form (Go's quoting, for what the test
programs use, is Python's: \\t \\n \\" \\xNN \\uNNNN).  pprof drops the
samples' own labels of threadleak's (wait, go_wait, object, thread,
blocked), and cannot tell no set from an empty one, nor an empty value
from a missing one: there `{}` and `-` are the same, `-`, and "" values
are left out.  metrics: the pprof_labels value (`other` stays `other`).

expect-metrics: the sets serve names by the rule metrics.h documents
(the 8 sets with the most goroutines of the process, here those of
labelWorker and requestWorker, then in text order) as they are, the
others' groups summed per FUNC as `other`.

Exits 1 with a message when the input is not what the mode reads.
Standard library only.
"""

import ast
import gzip
import json
import re
import sys

THREADLEAK_KEYS = {"wait", "go_wait", "object", "thread", "blocked"}
PAIR = re.compile(r'"((?:[^"\\]|\\.)*)":"((?:[^"\\]|\\.)*)"(?:, |$)')


class FormatError(Exception):
    pass


def decode_text(text):
    """pprof's {"k":"v", ...} -> JSON of the dict; '-' stays '-'."""
    if text == "-":
        return "-"
    if not (text.startswith("{") and text.endswith("}")):
        raise FormatError("not a label set: %r" % text[:80])
    inner = text[1:-1]
    d = {}
    pos = 0
    while pos < len(inner):
        m = PAIR.match(inner, pos)
        if not m:
            raise FormatError("not a label set: %r" % text[:80])
        d[ast.literal_eval('"%s"' % m.group(1))] = ast.literal_eval('"%s"' % m.group(2))
        pos = m.end()
    return as_json(d)


def as_json(d):
    return json.dumps(d, sort_keys=True, ensure_ascii=True)


def in_funcs(frames, funcs):
    for f in frames:
        if f in funcs:
            return f
    return None


def add(groups, func, labels, count):
    groups[(func, labels)] = groups.get((func, labels), 0) + count


# -- debug=1 -----------------------------------------------------------

def read_debug1(lines, funcs):
    groups = {}
    count, labels, frames = None, "-", []

    def close():
        f = in_funcs(frames, funcs)
        if count is not None and f:
            add(groups, f, labels, count)

    if not lines or not lines[0].startswith("goroutine profile: total "):
        raise FormatError("not a debug=1 goroutine profile")
    for line in lines[1:]:
        m = re.match(r"^(\d+) @( 0x[0-9a-f]+)*$", line)
        if m:
            close()
            count, labels, frames = int(m.group(1)), "-", []
        elif line.startswith("# labels: "):
            labels = line[len("# labels: "):]
        elif line.startswith("#\t"):
            cells = [c for c in line.split("\t") if c]
            if len(cells) >= 3:
                frames.append(re.sub(r"\+0x[0-9a-f]+$", "", cells[2]))
    close()
    return groups


# -- threadleak's text -------------------------------------------------

def read_text(lines, funcs):
    """The goroutine groups: "N goroutine(s)  REASON", then indented lines:
    ids, "labels: {...}", frames ("    FUNCTION  file:line ..."), created
    by (frames of the creator, not the group's: they end the stack)."""
    groups = {}
    count, labels, frames, in_stack = None, "-", [], False

    def close():
        f = in_funcs(frames, funcs)
        if count is not None and f:
            add(groups, f, labels, count)

    for line in lines:
        m = re.match(r"^(\d+) goroutines?  ", line)
        if m:
            close()
            count, labels, frames, in_stack = int(m.group(1)), "-", [], True
            continue
        if count is None:
            continue
        if line == "" or not line.startswith(" "):
            close()
            count = None
            continue
        if line.startswith("  labels: "):
            labels = line[len("  labels: "):]
        elif line.startswith("  created by"):
            in_stack = False
        elif line.startswith("    ") and in_stack:
            frames.append(line.split()[0])
    close()
    return groups


# -- threadleak's JSON -------------------------------------------------

def read_json(text, funcs):
    doc = json.loads(text)
    if doc.get("format") != "threadleak-snapshot":
        raise FormatError("not a threadleak snapshot")
    groups = {}
    for t in doc["threads"]:
        if not t.get("goid"):
            continue
        f = in_funcs([fr.get("function") for fr in t.get("frames") or []], funcs)
        if f:
            labels = t.get("labels")
            add(groups, f, "-" if labels is None else as_json(labels), 1)
    return groups


# -- profile.proto -----------------------------------------------------

def varint(b, i):
    v = shift = 0
    while True:
        if i >= len(b):
            raise FormatError("truncated varint")
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i


def fields(b):
    """(field number, wire type, value) of a message: ints for varints,
    bytes for length-delimited."""
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise FormatError("wire type %d" % wt)
        yield num, wt, v


def ints(wt, v):
    """A repeated int field: packed (bytes) or one varint."""
    if wt == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(x)
    return out


def read_pprof(data, funcs):
    msg = gzip.decompress(data)
    strings, samples, locs, fns = [], [], {}, {}
    for num, wt, v in fields(msg):
        if num == 6:
            strings.append(v.decode("utf-8", "replace"))
        elif num == 2:
            s = {"locs": [], "values": [], "labels": []}
            for n2, w2, v2 in fields(v):
                if n2 == 1:
                    s["locs"] += ints(w2, v2)
                elif n2 == 2:
                    s["values"] += ints(w2, v2)
                elif n2 == 3:
                    lab = {1: 0, 2: 0, 3: 0}
                    for n3, _, v3 in fields(v2):
                        lab[n3] = v3
                    s["labels"].append((lab[1], lab[2], lab[3]))
            samples.append(s)
        elif num == 4:
            lid, lines = 0, []
            for n2, w2, v2 in fields(v):
                if n2 == 1:
                    lid = v2
                elif n2 == 4:
                    fid = dict((n3, v3) for n3, _, v3 in fields(v2)).get(1, 0)
                    lines.append(fid)
            locs[lid] = lines
        elif num == 5:
            d = dict((n2, v2) for n2, _, v2 in fields(v))
            fns[d.get(1, 0)] = d.get(2, 0)
    if not strings or strings[0] != "":
        raise FormatError("not a profile.proto (string_table[0] is not \"\")")
    groups = {}
    for s in samples:
        if not s["values"] or s["values"][0] == 0:
            continue
        frames = [strings[fns[fid]] for lid in s["locs"] for fid in locs.get(lid, [])]
        f = in_funcs(frames, funcs)
        if not f:
            continue
        labels = {}
        for k, sv, _ in s["labels"]:
            key = strings[k]
            if key in THREADLEAK_KEYS or sv == 0:
                continue
            labels[key] = strings[sv]
        add(groups, f, as_json(labels) if labels else "-", s["values"][0])
    return groups


# -- serve's exposition ------------------------------------------------

SERIES = re.compile(r'^threadleak_group_count\{(.*)\} (\d+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"(?:,|$)')


def unescape_prom(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def read_metrics(lines, funcs):
    groups = {}
    for line in lines:
        m = SERIES.match(line)
        if not m:
            continue
        labels = {k: unescape_prom(v) for k, v in LABEL.findall(m.group(1))}
        if labels.get("function") in funcs:
            add(groups, labels["function"], labels.get("pprof_labels", "-"), int(m.group(2)))
    return groups


METRICS_LABEL_SETS = 8


def expect_metrics(everything, funcs):
    """The groups as serve names them: the METRICS_LABEL_SETS sets with
    the most goroutines (then in byte order) kept, the others summed as
    "other" per function."""
    per = {}
    for (_, labels), c in everything.items():
        if labels != "-":
            per[labels] = per.get(labels, 0) + c
    kept = {t for t, _ in sorted(per.items(), key=lambda x: (-x[1], x[0].encode()))[:METRICS_LABEL_SETS]}
    groups = {}
    for (func, labels), c in everything.items():
        if func in funcs:
            add(groups, func, labels if labels == "-" or labels in kept else "other", c)
    return groups


def main(argv):
    args = argv[1:]
    data_form = "--data" in args
    args = [a for a in args if a != "--data"]
    if len(args) < 3 or args[0] not in ("debug1", "text", "json", "pprof", "metrics", "expect-metrics"):
        sys.stderr.write(__doc__)
        return 64
    mode, path, funcs = args[0], args[1], set(args[2:])
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if mode == "pprof":
            groups = read_pprof(raw, funcs)
        else:
            text = raw.decode("utf-8", "replace")
            lines = text.split("\n")
            if mode == "json":
                groups = read_json(text, funcs)
            elif mode == "text":
                groups = read_text(lines, funcs)
            elif mode == "metrics":
                groups = read_metrics(lines, funcs)
            elif mode == "expect-metrics":
                groups = expect_metrics(read_debug1(lines, {"main.labelWorker", "main.requestWorker"}),
                                        funcs)
            else:
                groups = read_debug1(lines, funcs)
        out = []
        for (func, labels), count in groups.items():
            if data_form and mode in ("debug1", "text"):
                labels = decode_text(labels)
            out.append("%s\t%d\t%s" % (func, count, labels))
        for line in sorted(out):
            sys.stdout.write(line + "\n")
    except (OSError, FormatError, ValueError, SyntaxError, KeyError, IndexError) as e:
        sys.stderr.write("go-labels: %s: %s\n" % (path, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
