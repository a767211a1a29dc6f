"""More kinds of Python waits, for threadleak's Python tests
(tests/integration/python.sh): a socket read, an accept, a select, an
RLock, a Semaphore, a join and a Condition, each in a named thread two
calls deep, and a thread waiting for the GIL.  Once each is blocked it
prints, as waits.py does, every one's Python frames as the interpreter
sees them (sys._current_frames()), innermost first, and the wait
threadleak must name in Python's words:

    thread <native_id> <name>
    expect <words>
    frame <function> <line> <file>
    ...
    end

then a thread takes the GIL for ever (a call through ctypes.PyDLL keeps
it: libc's pause), so that gil-waiter, which sleeps in a loop, waits
for it at its next wake-up, in the same frames.  Runs on Python 3.8 and
later.
"""
import ctypes
import select
import socket
import sys
import threading
import time

a, b = socket.socketpair()
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
rlock = threading.RLock()
sem = threading.Semaphore(0)
cond = threading.Condition()
never = threading.Event()


def recv_leaf():
    a.recv(1)


def accept_leaf():
    listener.accept()


def select_leaf():
    select.select([b], [], [])


def rlock_leaf():
    rlock.acquire()


def sem_leaf():
    sem.acquire()


def join_leaf():
    forever.join()


def cond_leaf():
    with cond:
        cond.wait()


def gil_leaf():
    while True:
        time.sleep(0.05)


def hold_gil():
    ctypes.PyDLL(None).pause()


def outer(leaf):
    def run():
        leaf()
    return run


forever = threading.Thread(target=never.wait, name="forever", daemon=True)

# name -> (leaf, the function it is blocked in, the wait in Python's words)
WAITS = {
    "recv": (recv_leaf, "recv_leaf", "socket.recv"),
    "accept": (accept_leaf, "accept", "socket.accept"),
    "select": (select_leaf, "select_leaf", "select"),
    "rlock": (rlock_leaf, "rlock_leaf", "RLock.acquire"),
    "semaphore": (sem_leaf, "wait", "Semaphore.acquire"),
    # (3.13 joins in C: Thread.join is the innermost Python frame)
    "join": (join_leaf, ("_wait_for_tstate_lock", "join"), "Thread.join"),
    "condition": (cond_leaf, "wait", "Condition.wait"),
    "gil-waiter": (gil_leaf, "gil_leaf", "GIL"),
}


def blocked(threads):
    frames = sys._current_frames()
    for t in threads:
        f = frames.get(t.ident)
        want = WAITS[t.name][1]
        if f is None or f.f_code.co_name not in (want if isinstance(want, tuple) else (want,)):
            return False
    return True


def main():
    rlock.acquire()
    forever.start()
    threads = [threading.Thread(target=outer(leaf), name=name, daemon=True)
               for name, (leaf, _, _) in WAITS.items()]
    for t in threads:
        t.start()
    while not blocked(threads):
        time.sleep(0.01)
    # in the kernel's wait too, not only in the last Python frame
    time.sleep(0.2)
    frames = sys._current_frames()
    out = []
    for t in threads:
        out.append("thread %d %s" % (t.native_id, t.name))
        out.append("expect %s" % WAITS[t.name][2])
        f = frames[t.ident]
        while f is not None:
            name = getattr(f.f_code, "co_qualname", f.f_code.co_name)
            out.append("frame %s %d %s" % (name, f.f_lineno, f.f_code.co_filename))
            f = f.f_back
    out.append("end")
    sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8"))
    sys.stdout.flush()
    threading.Thread(target=hold_gil, name="gil-holder", daemon=True).start()
    never.wait()


main()
