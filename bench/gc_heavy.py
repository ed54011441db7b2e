# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""GC-heavy workload for bench/gc_bench.sh: builds and drops reference cycles over a live heap,
so the interpreter collects thousands of times (mostly generation 0). Prints its own wall time
and CPU time (user + system: where uprobe costs land) in seconds, then the collections per
generation it triggered."""
import gc
import os
import sys
import time


class Node:
    __slots__ = ("other", "payload", "__weakref__")

    def __init__(self):
        self.other = None
        self.payload = [0]


def main():
    # optional "wait" first: print "ready <pid>" and wait for a line on stdin (so a tracer can
    # attach to the PID); then "collect N": N explicit gc.collect(0) on a small heap, so the
    # probe cost per collection dominates; otherwise N cycles made with automatic collection
    args = sys.argv[1:]
    if args[:1] == ["wait"]:
        print("ready", os.getpid(), flush=True)
        sys.stdin.readline()
        args = args[1:]
    explicit = args[:1] == ["collect"]
    n = int(args[-1]) if args else 1500000
    live = [] if explicit else [[i] for i in range(100000)]
    before = [s["collections"] for s in gc.get_stats()]
    t = time.perf_counter()
    c = time.process_time()
    if explicit:
        gc.disable()
        for _ in range(n):
            gc.collect(0)
    else:
        for _ in range(n):
            a, b = Node(), Node()
            a.other, b.other = b, a
    elapsed = time.perf_counter() - t
    cpu = time.process_time() - c
    after = [s["collections"] for s in gc.get_stats()]
    print("%.4f %.4f" % (elapsed, cpu), *[y - x for x, y in zip(before, after)])
    del live


main()
