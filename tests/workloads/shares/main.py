# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# CPU shares workload: a() 60%, b() 30%, c() 10% of this process's CPU time, each function in
# its own file. Prints "ready" once imports are done; runs for argv[1] seconds (default: forever).
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wl_a import a  # noqa: E402
from wl_b import b  # noqa: E402
from wl_c import c  # noqa: E402

duration = float(sys.argv[1]) if len(sys.argv) > 1 else float("inf")
print("ready", flush=True)
start = time.monotonic()
# Start at a random point of the 100 ms cycle: a profiler attaching at "ready" would otherwise
# always see whole a() periods first, favouring a() by about half a point.
phase = random.random() * 0.100
if phase < 0.060:
    a(0.060 - phase)
if phase < 0.090:
    b(min(0.030, 0.090 - phase))
c(min(0.010, 0.100 - phase))
while time.monotonic() - start < duration:
    a(0.060)
    b(0.030)
    c(0.010)
