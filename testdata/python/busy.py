"""A Python thread that never waits, for tests/integration/python.sh:
"spinner" alternates between sorting a list in C (list.sort, in
sort_in_c) and counting in Python (count_in_python), so that its
innermost Python frame moves all the time, and a native stack that shows
the C sort must have sort_in_c as its innermost Python frame.  Prints
"ready" once it spins."""
import threading
import time

data = [i * 7919 % 5003 for i in range(5000)]	# shuffled: a real sort
started = threading.Event()


def sort_in_c():
    sorted(data)


def count_in_python():
    n = 0
    for _ in range(3000):
        n += 1


def spin():
    started.set()
    while True:
        sort_in_c()
        count_in_python()


threading.Thread(target=spin, name="spinner", daemon=True).start()
started.wait()
print("ready", flush=True)
while True:
    time.sleep(1000)
