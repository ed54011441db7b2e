# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Demo workload: the same records as chatty_logger.py, through a buffered file object.
import os
import time

deadline = time.monotonic() + float(os.environ.get("DEMO_SECONDS", "8"))
n = 0
with open("/tmp/pyhound-demo-buffered.log", "wb") as f:
    while time.monotonic() < deadline:
        f.write(b"req %06d ok\n" % (n % 1000000))
        n += 1
        if n % 2000 == 0:
            time.sleep(0.01)
