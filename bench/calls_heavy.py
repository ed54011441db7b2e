# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Call-heavy workload for bench/calls.sh: N calls of a trivial Python function from a Python
loop. Prints its own wall time and CPU time (user + system: where uprobe costs land) in seconds,
then N. usage: calls_heavy.py [wait] [N]  ("wait": print "ready <pid>", wait for a stdin line)"""
import os
import sys
import time


def f(x):
    return x + 1


def main():
    args = sys.argv[1:]
    if args[:1] == ["wait"]:
        print("ready", os.getpid(), flush=True)
        sys.stdin.readline()
        args = args[1:]
    n = int(args[0]) if args else 2000000
    t0, c0 = time.perf_counter(), time.process_time()
    x = 0
    for _ in range(n):
        x = f(x)
    t1, c1 = time.perf_counter(), time.process_time()
    print("%.4f %.4f %d" % (t1 - t0, c1 - c0, x), flush=True)


main()
