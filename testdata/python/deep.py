"""Threads deep in recursion, for tests/integration/python.sh: N threads
(first argument, default 200), each D calls deep (second, default 400)
in recurse() before it waits.  Prints "ready" once all wait."""
import sys
import threading

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
depth = int(sys.argv[2]) if len(sys.argv) > 2 else 400
sys.setrecursionlimit(depth + 100)
threading.stack_size(64 << 20)
never = threading.Event()
waiting = threading.Semaphore(0)


def recurse(d):
    if d == 0:
        waiting.release()
        never.wait()
    recurse(d - 1)


for i in range(n):
    threading.Thread(target=recurse, args=(depth,), daemon=True).start()
for i in range(n):
    waiting.acquire()
print("ready", flush=True)
never.wait()
