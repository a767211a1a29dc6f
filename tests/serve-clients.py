#!/usr/bin/env python3
"""serve-clients.py HOST PORT SOURCE IDLE [trickle]: clients of serve that
hold connections, for tests/integration/serve-clients.sh.

Opens IDLE connections from address SOURCE that send nothing and, with
"trickle", one more that sends a request it never finishes ("GET /metrics
HTTP/1.1", a header, then one byte of a header's value every second).
Prints "ready" once all are connected, then one line per event, flushed:
"NAME closed" when serve closes connection NAME ("idle 0", ..., the last
"idle" one counted from 0, "trickler": "trickler closed after N bytes"),
"NAME got N" when serve sends something.  Exits when all are closed; the
trickler goes on sending until then.
"""
import select
import socket
import sys
import time

host, port, source, idle = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
trickle = len(sys.argv) > 5 and sys.argv[5] == "trickle"


def connect():
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.bind((source, 0))
    s.connect((host, port))
    return s


names = {}
for i in range(idle):
    names[connect()] = "idle %d" % i
trickler, sent = None, 0
if trickle:
    trickler = connect()
    trickler.sendall(b"GET /metrics HTTP/1.1\r\nHost: threadleak\r\nX-Slow: ")
    names[trickler] = "trickler"
print("ready", flush=True)

due = time.monotonic() + 1
while names:
    wait = max(0.0, due - time.monotonic()) if trickler in names else None
    readable, _, _ = select.select(list(names), [], [], wait)
    for s in readable:
        try:
            got = s.recv(4096)
        except OSError:
            got = b""
        if got:
            print(names[s], "got", len(got), flush=True)
            continue
        print(names[s] + " closed" + (" after %d bytes" % sent if s is trickler else ""), flush=True)
        del names[s]
        s.close()
    if trickler in names and time.monotonic() >= due:
        try:
            trickler.send(b"a")
            sent += 1
        except OSError as e:
            print("trickler closed after %d bytes (%s)" % (sent, e.strerror), flush=True)
            del names[trickler]
        due += 1
