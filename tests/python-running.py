#!/usr/bin/env python3
"""Checks threadleak's snapshots of testdata/python/busy.py's spinner
(tests/integration/python.sh): in each, the running thread's Python
frames must be those of its native stack.  A native stack in the C sort
(builtin_sorted, list_sort) must have sort_in_c as its innermost Python
frame; under it (or innermost, between two calls) spin, then
Thread.run.

usage: python-running.py SNAPSHOT.json...
Prints one line per difference, then "sorts N" (the snapshots that caught
the sort), and exits 1 on any difference.
"""
import json
import sys

SORT = ("builtin_sorted", "list_sort", "list_sort_impl")
bad, sorts = [], 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        snap = json.load(f)
    spinner = [t for t in snap["threads"] if t.get("py_name") == "spinner"]
    if len(spinner) != 1:
        bad.append("%s: %d threads named spinner" % (path, len(spinner)))
        continue
    frames = spinner[0]["frames"]
    first = next((i for i, f in enumerate(frames) if f.get("python")), None)
    if first is None:
        bad.append("%s: spinner has no Python frame" % path)
        continue
    py = [f["function"] for f in frames if f.get("python")]
    native = [f["function"] for f in frames[:first]]
    in_sort = any(n in SORT for n in native)
    sorts += in_sort
    if in_sort and py[0] != "sort_in_c":
        bad.append("%s: innermost Python frame %s over native %s" % (path, py[0], native[:4]))
    # between two calls the loop itself is innermost
    rest = py[1:] if py[0] in ("sort_in_c", "count_in_python") else py
    if rest[:2] not in (["spin", "Thread.run"], ["spin", "run"]):	# co_name before 3.11
        bad.append("%s: Python frames %s" % (path, py[:4]))
for line in bad:
    print(line)
print("sorts %d" % sorts)
sys.exit(1 if bad else 0)
