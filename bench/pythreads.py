"""bench/pythreads.py N: N Python threads blocked in known waits, for
bench/python.sh.

Thread i waits, two calls deep (outer_KIND -> leaf_KIND), in one of
queue.get, Lock.acquire, Event.wait and time.sleep, in turn.  Once every
thread is in its wait (its innermost Python frame is the wait's, as
sys._current_frames() shows it), it prints "ready N" and the main thread
waits for ever in Event.wait; the bench kills the process.  So the process
has N + 1 threads, all blocked, and nothing runs Python while it is
measured.  Runs on Python 3.8 and later.
"""
import queue
import sys
import threading
import time

n = int(sys.argv[1])
q = queue.Queue()
lock = threading.Lock()
lock.acquire()
never = threading.Event()


def leaf_queue():
    q.get()


def outer_queue():
    leaf_queue()


def leaf_lock():
    lock.acquire()


def outer_lock():
    leaf_lock()


def leaf_event():
    never.wait()


def outer_event():
    leaf_event()


def leaf_sleep():
    while True:
        time.sleep(100000)


def outer_sleep():
    leaf_sleep()


KINDS = [outer_queue, outer_lock, outer_event, outer_sleep]

threading.stack_size(256 * 1024)
threads = []
for i in range(n):
    fn = KINDS[i % len(KINDS)]
    t = threading.Thread(target=fn, name="%s-%d" % (fn.__name__[6:], i),
                         daemon=True)
    t.start()
    threads.append(t)

# every thread in its wait: its innermost frame is the wait's function
# (queue.get and Event.wait block in Condition.wait: "wait")
deadline = time.monotonic() + 120
while True:
    frames = sys._current_frames()
    waiting = 0
    for t in threads:
        f = frames.get(t.ident)
        if f is not None and f.f_code.co_name in ("wait", "leaf_lock", "leaf_sleep"):
            waiting += 1
    if waiting == n:
        break
    if time.monotonic() > deadline:
        print("not ready: %d of %d threads waiting" % (waiting, n), flush=True)
        sys.exit(1)
    time.sleep(0.05)
print("ready %d" % n, flush=True)
never.wait()
