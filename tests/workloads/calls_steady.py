# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A steady stream of calls to f for budget windows: prints "ready" at once, then calls f for
# the given seconds and prints how many calls it made and in how long.
import sys
import time


def f(x):
    return x + 1


def main():
    seconds = float(sys.argv[1])
    print("ready", flush=True)
    t0 = time.perf_counter()
    end = t0 + seconds
    n = 0
    while time.perf_counter() < end:
        for i in range(1000):
            f(i)
        n += 1000
    print("calls", n, "seconds", round(time.perf_counter() - t0, 3), flush=True)
    time.sleep(0.3)


main()
