# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Recurses to argv[1] frames, then spins for argv[2] seconds: a stack of known depth for
# bench/walk_cost.sh.
import sys
import time


def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def down(n, seconds):
    if n > 1:
        return down(n - 1, seconds)
    spin(seconds)


down(int(sys.argv[1]), float(sys.argv[2]))
