# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# CPU-bound-on-one-core workload, one Python thread:
#   spin: a pure-Python loop, CPU-bound all the time
#   duty: the near miss: 4.5 ms of that loop, then 5.5 ms asleep (under half a CPU)
# Prints "ready", then when stdin closes "cpu_share S" (its thread_time / perf_counter).
import sys
import threading
import time

mode = sys.argv[1]
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
print("ready", flush=True)
w0, c0 = time.perf_counter(), time.thread_time()
x = 0
while not done.is_set():
    t = time.perf_counter()
    while time.perf_counter() - t < (0.0045 if mode == "duty" else 0.01):
        for i in range(200):
            x += i
    if mode == "duty":
        time.sleep(0.0055)
print("cpu_share %.3f" % ((time.thread_time() - c0) / (time.perf_counter() - w0)), flush=True)
