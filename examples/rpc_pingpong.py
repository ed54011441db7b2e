# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Demo workload: a request/response loop over a socketpair, one small send and recv per field.
import os
import socket
import threading
import time

a, b = socket.socketpair()


def server():
    while True:
        data = b.recv(64)
        if not data:
            return
        b.sendall(b"+OK\r\n")


threading.Thread(target=server, daemon=True).start()
deadline = time.monotonic() + float(os.environ.get("DEMO_SECONDS", "8"))
while time.monotonic() < deadline:
    for field in (b"GET ", b"user:", b"42", b"\r\n"):
        a.sendall(field)
        a.recv(64)
    time.sleep(0.0005)
a.close()
