"""A Python service that leaks a thread at each request, for
tests/integration/python.sh: each line read from the FIFO named by its
first argument is a request, handled by
a new thread that waits for a reply that never comes (queue.get in
handle_request, started by serve_one); it prints "handled N" once that
thread waits.  Prints "ready" first."""
import queue
import sys
import threading

replies = queue.Queue()


def handle_request(started):
    started.set()
    replies.get()


def serve_one(n):
    started = threading.Event()
    threading.Thread(target=handle_request, args=(started,), name="request-%d" % n,
                     daemon=True).start()
    started.wait()


print("ready", flush=True)
for n, _ in enumerate(open(sys.argv[1]), 1):
    serve_one(n)
    print("handled %d" % n, flush=True)
