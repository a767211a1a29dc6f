"""N threads (its first argument, default 100) blocked in queue.get three
calls deep, for tests that need many Python threads
(tests/integration/python-dying.sh) and for bench/.  Prints "ready" once
every one waits."""
import queue
import sys
import threading

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
q = queue.Queue()
waiting = threading.Semaphore(0)


def leaf():
    waiting.release()
    q.get()


def middle():
    leaf()


def outer():
    middle()


for i in range(n):
    threading.Thread(target=outer, name="worker-%d" % i, daemon=True).start()
for i in range(n):
    waiting.acquire()
print("ready", flush=True)
threading.Event().wait()
