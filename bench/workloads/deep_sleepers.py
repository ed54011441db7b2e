# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""bench/wall.sh part C: THREADS threads, each DEPTH Python frames deep, sleeping 20 ms at a time
(the wall sampler walks every frame of every thread at each tick). Prints "ready" once every
thread is at its depth; runs until stdin closes.
Usage: python3 deep_sleepers.py THREADS DEPTH
"""
import sys
import threading
import time

threads, depth = int(sys.argv[1]), int(sys.argv[2])
done = threading.Event()
at_depth = threading.Barrier(threads + 1)


def down(n):
    if n > 1:
        return down(n - 1)
    at_depth.wait()
    while not done.is_set():
        time.sleep(0.02)


# each thread's own frames (Thread._bootstrap, _bootstrap_inner, run) count towards DEPTH
ts = [threading.Thread(target=down, args=(max(1, depth - 3),), daemon=True)
      for _ in range(threads)]
for t in ts:
    t.start()
at_depth.wait()
print("ready", flush=True)
sys.stdin.read()
done.set()
