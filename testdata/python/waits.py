"""Named threads waiting in known nested functions, for threadleak's
Python reader (tests/unit/test_python.c, tests/integration/python.sh).

Starts one thread per kind of wait (queue.get, Lock.acquire, Event.wait,
time.sleep; one more in functions named beyond ASCII), waits until each
is blocked, then prints as the oracle each one's threading name and its
Python frames as the interpreter sees them (sys._current_frames()),
innermost first, then the main thread's name; then waits for ever:

    thread <native_id> <name>
    frame <function> <line> <file>
    ...
    main <native_id> <name>
    end

Keep q_leaf's body at line 30: tests/integration/python.sh expects it.
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


class Waiter(threading.Thread):
    """A Thread of a class of its own, with an attribute set before
    Thread.__init__ sets its own: another type, its instance attributes
    in another order; and its __dict__ asked for, which makes the
    interpreter give it a dict object of its own (3.11+) or keep the one
    it has, sharing its class's keys."""

    def __init__(self, **kwargs):
        self.kind = "event"
        super().__init__(**kwargs)
        vars(self)


# Each thread: its class, the name it is given (None: threading's
# default, "Thread-N" or, 3.10+, "Thread-N (sleep_outer)"), the function
# it is blocked in once it waits (its innermost Python frame), and its
# target.
THREADS = [
    (threading.Thread, "q-waiter", "wait", q_outer),
    (threading.Thread, "lock-waiter", "lock_leaf", lock_outer),
    (Waiter, "event-waiter", "wait", event_outer),
    (threading.Thread, None, "sleep_leaf", sleep_outer),
    (threading.Thread, "unicode-wärter-待つ", "wait", wärte),
]


# co_qualname where the release has it (3.11+), else co_name, as
# threadleak's reader names functions.
def name_of(code):
    return getattr(code, "co_qualname", code.co_name)


def blocked(threads):
    frames = sys._current_frames()
    for t, (_, _, leaf, _) in zip(threads, THREADS):
        f = frames.get(t.ident)
        if f is None or f.f_code.co_name != leaf:
            return False
    return True


def main():
    threads = [cls(target=fn, name=name, daemon=True)
               for cls, name, _, fn in THREADS]
    # One thread's attributes in a dict of no class's keys: a dict that
    # shares nothing, the values before (3.11), tagged (3.12) or after
    # (3.13) the object left unused.
    threads[1].__dict__ = dict(threads[1].__dict__)
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
    main_thread = threading.main_thread()
    out.append("main %d %s" % (main_thread.native_id, main_thread.name))
    out.append("end")
    sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8"))
    sys.stdout.flush()
    never.wait()


main()
