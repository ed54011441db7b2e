# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""bench/wall.sh: one process of 8 threads. Thread 0 runs ITERATIONS of an integer loop and
times it (perf_counter); 7 others sleep 20 ms at a time until it is done. Prints
"loop_s=<seconds>" once the loop ends. Waits for a line on stdin before starting the loop.
Usage: python3 threads8.py ITERATIONS
"""
import sys
import threading
import time

n = int(sys.argv[1])
done = threading.Event()


def sleeper():
    while not done.is_set():
        time.sleep(0.02)


threads = [threading.Thread(target=sleeper) for _ in range(7)]
for t in threads:
    t.start()
print("ready", flush=True)
sys.stdin.readline()
x, acc = 12345, 0
t0 = time.perf_counter()
for i in range(n):
    x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    acc ^= x >> (i & 7)
t1 = time.perf_counter()
done.set()
for t in threads:
    t.join()
print("loop_s=%.4f" % (t1 - t0), flush=True)
