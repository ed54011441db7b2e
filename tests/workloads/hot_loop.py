# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# CPU-bound workload for the profiling CLI tests: spins in hot_leaf() called from
# hot_outer() for argv[1] seconds (default 5).
import sys
import time


def hot_leaf(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def hot_outer(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        hot_leaf(20000)


hot_outer(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
