# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Known I/O for pyhound's syscall tests: after "go" on stdin (or at once with --now),
# exactly 20,000 os.write calls of 16 bytes to a regular file and 5,000 sendall of 1 KiB
# on a socketpair (each received in full by recv).
import os
import socket
import sys
import tempfile

if "--now" not in sys.argv:
    sys.stdin.readline()
# dir given: tempfile.gettempdir() would probe the directory with a 4-byte write
fd, path = tempfile.mkstemp(prefix="pyhound-io-", dir="/tmp")
a, b = socket.socketpair()
try:
    piece = b"0123456789abcdef"
    for _ in range(20000):
        os.write(fd, piece)
    buf = b"x" * 1024
    got = 0
    for _ in range(5000):
        a.sendall(buf)
        got += len(b.recv(1024))
    assert got == 5000 * 1024, got
finally:
    os.close(fd)
    os.unlink(path)
    # closed here: left to exit, sid's -dbg builds print a ResourceWarning per socket (two
    # writes the counts do not expect)
    a.close()
    b.close()
print("done", os.getpid(), flush=True)
