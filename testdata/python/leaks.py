"""A Python program that leaks one thread blocked in queue.get, for
`threadleak check` (tests/integration/python-check.sh).  The mode, its
first argument, says how it ends:

    daemon  the thread is a daemon; the program returns from its script
            (the interpreter deletes the daemon's thread state as it
            finalizes: its Python frames are gone at the exit)
    exit    the thread is not a daemon; the program leaves by os._exit,
            without finalizing (the interpreter still lists the thread)
    hang    the thread is not a daemon; the program returns from its
            script and the interpreter waits for the thread for ever

It prints "started" once the thread waits in its queue.
"""
import os
import queue
import sys
import threading

mode = sys.argv[1]
q = queue.Queue()
waiting = threading.Event()


def leaky_worker():
    waiting.set()
    q.get()


def start_worker():
    t = threading.Thread(target=leaky_worker, name="leaky", daemon=(mode == "daemon"))
    t.start()


start_worker()
waiting.wait()
print("started", flush=True)
if mode == "exit":
    os._exit(0)
