# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Heap census while the collector runs: holds 10,000 Keep instances while a thread makes
cyclic garbage as fast as it can (collections many times a second), counting the collections
with gc.callbacks. Prints "ready"; at a line on stdin (or EOF) stops, checks its Keep objects
are intact and prints "collections N"."""
import gc
import sys
import threading


class Keep:
    def __init__(self, i):
        self.i = i


class Cyc:
    pass


keep = [Keep(i) for i in range(10000)]
ncoll = 0


def counted(phase, info):
    global ncoll
    if phase == "stop":
        ncoll += 1


def churn():
    while not stop.is_set():
        for _ in range(1000):
            a, b = Cyc(), Cyc()
            a.other, b.other = b, a


gc.callbacks.append(counted)
stop = threading.Event()
t = threading.Thread(target=churn)
t.start()
print("ready", flush=True)
sys.stdin.readline()
stop.set()
t.join()
assert all(k.i == i for i, k in enumerate(keep))
print("collections %d" % ncoll, flush=True)
