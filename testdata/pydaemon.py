# pydaemon: a Python program for `threadleak check`.  It prints "done" and
# returns; with "daemon" it first starts a daemon thread ("py-sleeper")
# that sleeps for ever: left behind at exit, and reported by check.
import sys
import threading
import time

if len(sys.argv) > 1 and sys.argv[1] == "daemon":
    threading.Thread(target=lambda: time.sleep(1000000), name="py-sleeper",
                     daemon=True).start()
print("done")
