# pydaemon: a Python program for `threadleak check`.  It prints "done" and
# returns; with "daemon" it first starts a daemon thread ("py-sleeper")
# that sleeps for ever: left behind at exit, and reported by check.  It
# returns once that thread is in the kernel's sleep (its wchan, or on
# x86-64 and arm64 its system call, says so; 20 s at most), however loaded
# the machine.
import sys
import threading
import time


def sleeping(tid):
    try:
        with open("/proc/self/task/%d/wchan" % tid) as f:
            if "nanosleep" in f.read():
                return True
        with open("/proc/self/task/%d/syscall" % tid) as f:
            nr = f.read().split()[0]
        # clock_nanosleep, nanosleep: x86-64 230, 35; arm64 115, 101
        return nr in {"x86_64": ("230", "35"), "aarch64": ("115", "101")}.get(
            __import__("os").uname().machine, ())
    except (OSError, IndexError):
        return False


if len(sys.argv) > 1 and sys.argv[1] == "daemon":
    t = threading.Thread(target=lambda: time.sleep(1000000), name="py-sleeper",
                         daemon=True)
    t.start()
    end = time.monotonic() + 20
    while not sleeping(t.native_id) and time.monotonic() < end:
        time.sleep(0.001)
print("done")
