#!/usr/bin/env python3
"""Compares threadleak's snapshot of testdata/python/waits.py with the
program's own view of its threads (tests/integration/python.sh).

usage: python-compare.py ORACLE SNAPSHOT.json [--raw]

ORACLE is what waits.py (or sockets.py) printed: per thread "thread
<native_id> <name>", maybe "expect <words>" (the wait in Python's words;
else waits.py's, by the thread's target), then "frame <function> <line>
<file>" innermost first; waits.py then the main thread's "main
<native_id> <name>" (its name compared); then "end".  Each
of those threads must be in the snapshot with its threading name
(py_name) and exactly those Python
frames (function, line, file, in order), with the wait waits.py's
thread with that target is in, in Python's words (py_wait), native frames
above the innermost Python frame, and no eval-loop frame left where a
Python frame stands.  With --raw (a --no-python snapshot): no Python
frame at all, and the eval loop's frames there instead.  Prints one line
per difference and exits 1 if there is any.
"""
import json
import sys

# By each thread's target, its 4th Python frame from the outermost
# (after Thread._bootstrap, _bootstrap_inner and run): one thread keeps
# threading's default name, which differs by release.
EXPECTED_WAIT = {
    "q_outer": "queue.get",
    "lock_outer": "Lock.acquire",
    "event_outer": "Event.wait",
    "sleep_outer": "time.sleep",
    "wärte": "Event.wait",
}


def expected_wait(frames):
    return EXPECTED_WAIT.get(frames[-4][0]) if len(frames) >= 4 else None


def oracle(path):
    threads, cur = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("thread "):
                _, tid, name = line.split(" ", 2)
                cur = {"tid": int(tid), "name": name, "frames": []}
                threads.append(cur)
            elif line.startswith("main "):
                _, tid, name = line.split(" ", 2)
                threads.append({"tid": int(tid), "name": name, "frames": None})
            elif line.startswith("expect "):
                cur["expect"] = line[len("expect "):]
            elif line.startswith("frame "):
                _, func, lineno, file = line.split(" ", 3)
                cur["frames"].append((func, int(lineno), file))
    return threads


def short(frames):
    return " ".join("%s:%s" % (f[0], f[1]) for f in frames) or "none"


def main():
    raw = "--raw" in sys.argv[3:]
    want = oracle(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        snap = json.load(f)
    by_tid = {t["tid"]: t for t in snap["threads"]}
    bad = []
    if not want:
        bad.append("the oracle lists no thread")
    for w in want:
        t = by_tid.get(w["tid"])
        if t is None:
            bad.append("thread %d (%s) not in the snapshot" % (w["tid"], w["name"]))
            continue
        if not raw and t.get("py_name") != w["name"]:
            bad.append("thread %d: named %r, its own name is %r" % (w["tid"], t.get("py_name"),
                                                                    w["name"]))
        if w["frames"] is None:		# the main thread: its name only
            continue
        frames = t["frames"]
        py = [(f["function"], f["line"] or -1, f["file"]) for f in frames if f.get("python")]
        evals = [i for i, f in enumerate(frames) if f["function"] == "_PyEval_EvalFrameDefault"]
        if raw:
            if py:
                bad.append("%s: Python frames with --no-python" % w["name"])
            if not evals:
                bad.append("%s: no _PyEval_EvalFrameDefault with --no-python" % w["name"])
            continue
        if py != w["frames"]:
            bad.append("%s: frames %s, its own dump says %s" % (
                w["name"], short(py), short(w["frames"])))
        if evals:
            bad.append("%s: _PyEval_EvalFrameDefault left at frame %d" % (w["name"], evals[0]))
        first = next((i for i, f in enumerate(frames) if f.get("python")), None)
        if not first:
            bad.append("%s: no native frame above its Python frames" % w["name"])
        expect = w.get("expect", expected_wait(w["frames"]))
        if t.get("py_wait") != expect:
            bad.append("%s: waits in %r, expected %r" % (w["name"], t.get("py_wait"), expect))
    for line in bad:
        print(line)
    return 1 if bad else 0


sys.exit(main())
