# pyhang: a Python program that never ends, for `threadleak check
# --timeout`.  A non-daemon thread ("py-waiter") waits in wait_here() on an
# Event nobody sets, so the interpreter's exit waits for it for ever
# (threading._shutdown, which CPython calls from wait_for_thread_shutdown).
# With "tree" it first starts two children that hang too: one sleeping,
# one that ignores SIGTERM (only SIGKILL ends it).
#
# Once the waiter is blocked in the kernel (its system call is futex: on
# x86-64 202, on arm64 98; 20 s at most), it writes to the file named by
# its first argument "waiter TID" (the thread's native id: threadleak's
# tid), "main PID", "child PID" for each child, then "ready", and main
# returns.
import os
import signal
import subprocess
import sys
import threading
import time

FUTEX = {"x86_64": "202", "aarch64": "98"}.get(os.uname().machine)


def wait_here(ev, ids):
    ids.append(threading.get_native_id())
    ev.wait()


def blocked(tid):
    try:
        with open("/proc/self/task/%d/syscall" % tid) as f:
            return f.read().split()[0] == FUTEX
    except (OSError, IndexError):
        return False


def main():
    out = sys.argv[1]
    children = []
    if len(sys.argv) > 2 and sys.argv[2] == "tree":
        children.append(subprocess.Popen(
            [sys.executable, "-c", "import time\nwhile True: time.sleep(1000)"]))
        children.append(subprocess.Popen(
            [sys.executable, "-c",
             "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
             "print('ignoring', flush=True)\nwhile True: time.sleep(1000)"],
            stdout=subprocess.PIPE))
        children[-1].stdout.readline()	# SIGTERM is ignored from now on
    ids = []
    t = threading.Thread(target=wait_here, args=(threading.Event(), ids),
                         name="py-waiter")
    t.start()
    end = time.monotonic() + 20
    while (not ids or not blocked(ids[0])) and time.monotonic() < end:
        time.sleep(0.01)
    with open(out + ".tmp", "w") as f:
        f.write("waiter %d\nmain %d\n" % (ids[0], os.getpid()))
        for c in children:
            f.write("child %d\n" % c.pid)
        f.write("ready\n")
    os.rename(out + ".tmp", out)


main()
