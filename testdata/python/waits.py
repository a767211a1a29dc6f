"""Named threads waiting in known nested functions, for threadleak's
Python reader (tests/unit/test_python.c).

Starts one thread per kind of wait (queue.get, Lock.acquire, Event.wait,
time.sleep; one more in functions named beyond ASCII), waits until each is blocked in its wait, then prints, as the
oracle, every one of those threads' Python frames as the interpreter
itself sees them (sys._current_frames()), innermost first:

    thread <native_id> <name>
    frame <function> <line> <file>
    ...
    end

co_qualname is the function where the release has it (3.11+), else
co_name, as threadleak's reader names them.  The main thread then waits
for ever; the test kills the process.  Runs on Python 3.8 and later.
"""
import queue
import sys
import threading
import time

q = queue.Queue()
lock = threading.Lock()
lock.acquire()
never = threading.Event()


def q_leaf():
    return q.get()


def q_outer():
    q_leaf()


def lock_leaf():
    lock.acquire()


def lock_outer():
    lock_leaf()


def event_leaf():
    never.wait()


def event_outer():
    event_leaf()


# Names beyond ASCII: a Latin-1 one (str kind 1, not compact ASCII) and
# one of two-byte characters (kind 2).
def 待つ():
    never.wait()


def wärte():
    待つ()


def sleep_leaf():
    while True:
        time.sleep(1000)


def sleep_outer():
    sleep_leaf()


# The function each thread is blocked in once it waits (its innermost
# Python frame), by thread name.
BLOCKED_IN = {
    "q-waiter": ("wait", q_outer),
    "lock-waiter": ("lock_leaf", lock_outer),
    "event-waiter": ("wait", event_outer),
    "sleeper": ("sleep_leaf", sleep_outer),
    "unicode-waiter": ("wait", wärte),
}


def name_of(code):
    return getattr(code, "co_qualname", code.co_name)


def blocked(threads):
    frames = sys._current_frames()
    for t in threads:
        f = frames.get(t.ident)
        if f is None or f.f_code.co_name != BLOCKED_IN[t.name][0]:
            return False
    return True


def main():
    threads = [threading.Thread(target=fn, name=name, daemon=True)
               for name, (_, fn) in BLOCKED_IN.items()]
    for t in threads:
        t.start()
    while not blocked(threads):
        time.sleep(0.01)
    frames = sys._current_frames()
    out = []
    for t in threads:
        out.append("thread %d %s" % (t.native_id, t.name))
        f = frames[t.ident]
        while f is not None:
            out.append("frame %s %d %s" % (name_of(f.f_code), f.f_lineno,
                                           f.f_code.co_filename))
            f = f.f_back
    out.append("end")
    sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8"))
    sys.stdout.flush()
    never.wait()


main()
