#!/usr/bin/env python3
"""gdb-compare: threadleak's stacks against gdb's, thread by thread, frame
by frame, library frames included.

    tests/gdb-compare.py SNAPSHOT.json GDB.txt [--min-threads N]
                         [--tasks BEFORE AFTER --max-transient N]
                         [--named-share PERCENT]

SNAPSHOT.json is `threadleak snapshot --json PID`; GDB.txt is
`gdb -p PID -batch -ex 'thread apply all bt'` on the same process, taken
while no thread moved (a server idle on loopback).

Threads, both ways: every thread gdb lists must be in the snapshot, and
every thread of the snapshot in gdb's list.  Without --tasks the two sets
must be equal.  A process may start or end a thread between the two looks
(MariaDB's thread pool does, now and then): BEFORE and AFTER are its
/proc/PID/task listings (one tid a line) made before the snapshot and
after gdb.  A thread in both listings lived through both looks and must
be on both sides; one on one side only is accepted when it is missing
from a listing (it came or went in between), at most --max-transient of
them (default 0), each reported.

Frames, for every thread on both sides: threadleak's stack must be whole
(not partial) and at least as long as gdb's (gdb stops at main;
threadleak goes on to _start), and its frames must line up with gdb's one
for one, inlined frames included, up to where gdb stops:
  - a frame gdb names must have the same name in the snapshot (a frame
    threadleak leaves unnamed where gdb names it is a mismatch);
    gdb's "<signal handler called>" is the sigreturn trampoline
    (glibc's __restore_rt);
  - where gdb prints the frame's address ("#3  0x... in"), the snapshot's
    pc must be that address, named frame or "??";
  - where gdb prints "at FILE:LINE", the snapshot's file and line must be
    those;
  - a frame only threadleak names (gdb "??") is counted, not compared.
Names are compared without what the two print differently of the same
function: a symbol version (@GLIBC_2.3.2), a C++ parameter list, a
"[clone .isra.0]" or ".isra.0" suffix, leading underscores (gdb names an
alias of the same address, ___pthread_cond_wait for pthread_cond_wait) and
glibc's internal "__GI_" prefix.

Minimums, so that a snapshot naming nothing cannot pass: every compared
thread has a frame named (and named alike) on both sides, and across the
process more than half of gdb's frames are named alike on both sides
(more than PERCENT per cent with --named-share: where gdb itself names
fewer, as in a C library without debug information whose internal
functions are "??" to it).

Prints one line of figures as JSON on stdout:
    {"threads": N, "whole": N, "frames": N, "named_both": N, "equal": N,
     "pc_equal": N, "lines_equal": N, "named_ours_only": N,
     "gdb_threads": N, "snapshot_threads": N, "transient": N,
     "mismatches": N}
(threads: compared, on both sides; frames: gdb's frames of those;
named_both: named on both sides; equal: of those, named alike; mismatches:
threads with at least one frame that differs) and each problem on stderr.
Exits 0 when nothing differs and the minimums hold (and at least
--min-threads threads were compared), 1 otherwise, 64 on a usage error.
Standard library only.
"""
import json
import re
import sys

THREAD = re.compile(r'^Thread \d+ \((?:.*?LWP (\d+)\)|process (\d+)\))')
FRAME = re.compile(r'^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(.*)$')
AT = re.compile(r'\) at (\S+):(\d+)$')
SIGNAL = '<signal handler called>'
# the sigreturn trampolines, as norm() leaves their names (gdb's SIGNAL)
TRAMPOLINES = {'restore_rt', 'restore', 'kernel_rt_sigreturn', 'rt_sigreturn',
               'sigreturn'}


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
    if rest.startswith(SIGNAL):
        return SIGNAL
    if rest.startswith('?? '):
        return None
    # "f (args) at file:line", "f () from /lib/..", "f<T>(int) () from .."
    m = re.match(r'(.*?) \(', rest)
    name = m.group(1) if m else rest.split(' ')[0]
    return norm(name)


def read_gdb(path):
    """{tid: [(function or None, pc or None, (file, line) or None)]}"""
    threads = {}
    tid = None
    with open(path, errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            m = THREAD.match(line)
            if m:
                tid = int(m.group(1) or m.group(2))
                threads[tid] = []
                continue
            m = FRAME.match(line)
            if m and tid is not None:
                if int(m.group(1)) != len(threads[tid]):
                    continue    # a frame line continued, or out of order
                at = AT.search(m.group(3))
                threads[tid].append((gdb_function(m.group(3)),
                                     int(m.group(2), 16) if m.group(2) else None,
                                     (at.group(1), int(at.group(2))) if at else None))
    return threads


def read_tids(path):
    with open(path) as f:
        return {int(x) for x in f.read().split()}


def pc_of(frame):
    try:
        return int(frame.get('pc'), 16)
    except (TypeError, ValueError):
        return None


def show(x):
    return '-' if x is None else x


def compare_thread(t, g, fig, bad):
    """Compare one thread's frames (snapshot t, gdb's list g)."""
    tid, name = t.get('tid'), t.get('name', '')
    if not t.get('partial'):
        fig['whole'] += 1
    else:
        bad.append('thread %d (%s): partial: %s' % (tid, name, t.get('error')))
    frames = t.get('frames') or []
    ours = [norm(fr.get('function')) for fr in frames]
    n = len(g)
    if len(frames) < n:
        bad.append('thread %d (%s): %d frames, gdb %d' % (tid, name, len(frames), n))
        n = len(frames)
    first = None
    alike = 0
    for i in range(n):
        gname, gpc, gline = g[i]
        fig['frames'] += 1
        fr = frames[i]
        why = None
        if gname is not None:
            if ours[i] is None:
                why = 'unnamed, gdb names it %s' % gname
            else:
                fig['named_both'] += 1
                if gname == SIGNAL:
                    same = ours[i] in TRAMPOLINES
                else:
                    same = ours[i] == gname
                if same:
                    fig['equal'] += 1
                    alike += 1
                else:
                    why = '%s, gdb %s' % (ours[i], gname)
        elif ours[i] is not None:
            fig['named_ours_only'] += 1
        if why is None and gpc is not None:
            if pc_of(fr) == gpc:
                fig['pc_equal'] += 1
            else:
                why = 'pc %s, gdb %#x' % (fr.get('pc'), gpc)
        if why is None and gline is not None:
            if (fr.get('file'), fr.get('line')) == gline:
                fig['lines_equal'] += 1
            else:
                why = 'at %s:%s, gdb %s:%d' % (fr.get('file'), fr.get('line'),
                                               gline[0], gline[1])
        if why is not None and first is None:
            first = (i, why)
    if first is not None:
        fig['mismatches'] += 1
        i, why = first
        bad.append('thread %d (%s): frame #%d: threadleak %s\n'
                   '  threadleak: %s\n  gdb:        %s'
                   % (tid, name, i, why,
                      ' | '.join(show(x) for x in ours[:len(g) + 1]),
                      ' | '.join(show(x[0]) for x in g)))
    elif alike == 0:
        bad.append('thread %d (%s): no frame named alike on both sides '
                   '(threadleak %s; gdb %s)'
                   % (tid, name, ' | '.join(show(x) for x in ours[:len(g) + 1]),
                      ' | '.join(show(x[0]) for x in g)))


def main(argv):
    args = argv[1:]
    min_threads = 1
    before = after = None
    max_transient = 0
    share = 50
    pos = []
    try:
        while args:
            a = args.pop(0)
            if a == '--min-threads':
                min_threads = int(args.pop(0))
            elif a == '--tasks':
                before, after = args.pop(0), args.pop(0)
            elif a == '--max-transient':
                max_transient = int(args.pop(0))
            elif a == '--named-share':
                share = int(args.pop(0))
            elif a.startswith('-'):
                raise ValueError(a)
            else:
                pos.append(a)
        if len(pos) != 2:
            raise ValueError('two files')
    except (IndexError, ValueError):
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 64
    try:
        with open(pos[0]) as f:
            snap = json.load(f)
        theirs = read_gdb(pos[1])
        stable = None
        if before is not None:
            b, a = read_tids(before), read_tids(after)
            if not b or not a:
                raise ValueError('empty task listing (%s: %d, %s: %d)'
                                 % (before, len(b), after, len(a)))
            stable = b & a
    except (OSError, ValueError) as e:
        print('gdb-compare: %s' % e, file=sys.stderr)
        return 1
    if not theirs:
        print('gdb-compare: no threads in gdb\'s output', file=sys.stderr)
        return 1
    ours = {}
    for t in snap.get('threads') or []:
        ours[t.get('tid')] = t
    fig = dict(threads=0, whole=0, frames=0, named_both=0, equal=0,
               pc_equal=0, lines_equal=0, named_ours_only=0,
               gdb_threads=len(theirs), snapshot_threads=len(ours),
               transient=0, mismatches=0)
    bad = []

    # threads, both ways
    for tid in sorted(set(ours) | set(theirs)):
        if tid in ours and tid in theirs:
            continue
        side, other = ('gdb', 'the snapshot') if tid in theirs else ('the snapshot', 'gdb')
        if stable is None or tid in stable:
            bad.append('thread %s: in %s, not in %s%s'
                       % (tid, side, other,
                          '' if stable is None else
                          ' (it was in the process before and after both)'))
        else:
            fig['transient'] += 1
            print('gdb-compare: thread %s in %s only: it came or went between '
                  'the looks' % (tid, side), file=sys.stderr)
    if stable is not None:
        for tid in sorted(stable - set(ours) - set(theirs)):
            bad.append('thread %d: in the process before and after, '
                       'in neither gdb nor the snapshot' % tid)
    if fig['transient'] > max_transient:
        bad.append('%d threads came or went between the looks, at most %d allowed'
                   % (fig['transient'], max_transient))

    for tid in sorted(set(ours) & set(theirs)):
        fig['threads'] += 1
        compare_thread(ours[tid], theirs[tid], fig, bad)

    if fig['frames'] and fig['equal'] * 100 <= fig['frames'] * share:
        bad.append('only %d of gdb\'s %d frames named alike on both sides '
                   '(more than %d%% needed)' % (fig['equal'], fig['frames'], share))
    for b in bad:
        print(b, file=sys.stderr)
    print(json.dumps(fig))
    if fig['threads'] < min_threads:
        print('gdb-compare: only %d threads in both, at least %d needed'
              % (fig['threads'], min_threads), file=sys.stderr)
        return 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
