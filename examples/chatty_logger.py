# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Demo workload: a "logger" that writes every record with its own os.write call (unbatched).
import os
import time

fd = os.open("/tmp/pyhound-demo-chatty.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
deadline = time.monotonic() + float(os.environ.get("DEMO_SECONDS", "8"))
n = 0
while time.monotonic() < deadline:
    os.write(fd, b"req %06d ok\n" % (n % 1000000))
    n += 1
    if n % 2000 == 0:
        time.sleep(0.01)
os.close(fd)
