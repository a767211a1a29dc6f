#!/usr/bin/env python3
"""gdb-compare: threadleak's stacks against gdb's, thread by thread, frame
by frame, library frames included.

    tests/gdb-compare.py SNAPSHOT.json GDB.txt [--min-threads N]

SNAPSHOT.json is `threadleak snapshot --json PID`; GDB.txt is
`gdb -p PID -batch -ex 'thread apply all bt'` on the same process, taken
while no thread moved (a server idle on loopback).

For every thread in both: threadleak's stack must be whole (not partial),
and its frames must line up with gdb's one for one, inlined frames
included, up to where gdb stops (gdb stops at main; threadleak goes on to
_start).  A frame is compared where both name it: gdb's "??" and
threadleak's unnamed module+offset frames are counted, not compared.
Names are compared without what the two print differently of the same
function: a symbol version (@GLIBC_2.3.2), a C++ parameter list, a
"[clone .isra.0]" or ".isra.0" suffix, leading underscores (gdb names an
alias of the same address, ___pthread_cond_wait for pthread_cond_wait) and
glibc's internal "__GI_" prefix.

Prints one line of figures as JSON on stdout:
    {"threads": N, "whole": N, "frames": N, "named_both": N,
     "equal": N, "mismatches": N}
and each mismatch on stderr.  Exits 0 when every thread is whole and every
compared frame is equal (and at least --min-threads threads were compared),
1 otherwise, 64 on a usage error.  Standard library only.
"""
import json
import re
import sys

THREAD = re.compile(r'^Thread \d+ \(.*?LWP (\d+)\)')
FRAME = re.compile(r'^#(\d+)\s+(?:0x[0-9a-f]+ in )?(.*)$')


def norm(name):
    """A function name with what gdb and threadleak print differently of
    the same function removed; None for no name."""
    if not name or name == '??' or name.startswith('<'):
        return None
    name = name.split('@')[0]
    name = re.sub(r' \[clone [^\]]*\]', '', name)
    name = re.sub(r'\.(isra|constprop|part|cold|lto_priv)\.\d+.*$', '', name)
    # a C++ parameter list, and a trailing const: keep the qualified name
    depth = 0
    for i, c in enumerate(name):
        if c == '<':
            depth += 1
        elif c == '>':
            depth -= 1
        elif c == '(' and depth == 0 and i > 0 and not name[:i].endswith('operator'):
            name = name[:i]
            break
    name = name.strip()
    if name.startswith('__GI_'):    # glibc's internal alias of the same code
        name = name[5:]
    return name.lstrip('_') or None


def gdb_function(rest):
    """The function of one gdb frame line after '#N  [0x.. in ]'."""
    if rest.startswith('?? '):
        return None
    # "f (args) at file:line", "f () from /lib/..", "f<T>(int) () from .."
    m = re.match(r'(.*?) \(', rest)
    name = m.group(1) if m else rest.split(' ')[0]
    return norm(name)


def read_gdb(path):
    threads = {}
    tid = None
    with open(path, errors='replace') as f:
        for line in f:
            m = THREAD.match(line)
            if m:
                tid = int(m.group(1))
                threads[tid] = []
                continue
            m = FRAME.match(line)
            if m and tid is not None:
                if int(m.group(1)) != len(threads[tid]):
                    continue    # a frame line continued, or out of order
                threads[tid].append(gdb_function(m.group(2)))
    return threads


def main(argv):
    if len(argv) < 3:
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 64
    min_threads = 1
    if len(argv) == 5 and argv[3] == '--min-threads':
        min_threads = int(argv[4])
    try:
        with open(argv[1]) as f:
            snap = json.load(f)
        theirs = read_gdb(argv[2])
    except (OSError, ValueError) as e:
        print('gdb-compare: %s' % e, file=sys.stderr)
        return 1
    if not theirs:
        print('gdb-compare: no threads in gdb\'s output', file=sys.stderr)
        return 1
    fig = dict(threads=0, whole=0, frames=0, named_both=0, equal=0,
               mismatches=0)
    bad = []
    for t in snap.get('threads', []):
        tid = t.get('tid')
        if tid not in theirs:
            continue
        fig['threads'] += 1
        name = t.get('name', '')
        if not t.get('partial'):
            fig['whole'] += 1
        else:
            bad.append('thread %d (%s): partial: %s' % (tid, name, t.get('error')))
        ours = [norm(fr.get('function')) for fr in t.get('frames', [])]
        g = theirs[tid]
        n = len(g)
        if len(ours) < n:
            bad.append('thread %d (%s): %d frames, gdb %d' % (tid, name, len(ours), n))
            n = len(ours)
        first = None
        for i in range(n):
            fig['frames'] += 1
            if ours[i] is None or g[i] is None:
                continue
            fig['named_both'] += 1
            if ours[i] == g[i]:
                fig['equal'] += 1
            elif first is None:
                first = i
        if first is not None:
            fig['mismatches'] += 1
            bad.append('thread %d (%s): frame #%d: threadleak %s, gdb %s\n'
                       '  threadleak: %s\n  gdb:        %s'
                       % (tid, name, first, ours[first], g[first],
                          ' | '.join(str(x) for x in ours[:len(g) + 1]),
                          ' | '.join(str(x) for x in g)))
    for b in bad:
        print(b, file=sys.stderr)
    print(json.dumps(fig))
    if fig['threads'] < min_threads:
        print('gdb-compare: only %d threads in both' % fig['threads'], file=sys.stderr)
        return 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
