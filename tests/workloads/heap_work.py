# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Heap census workload: holds N_PLAIN instances of a class without __slots__, N_SLOTTED of one
with __slots__ and a dict of N_LISTS lists (200,000, 50,000 and 100,000 unless given as
arguments: heap_work.py N_PLAIN N_SLOTTED N_LISTS; test_heap draws them per run), then measures its own heap (gc.get_objects() and
sys.getsizeof, tracemalloc for the instances' attribute storage, which getsizeof cannot see on
3.11+ without creating a __dict__), prints one line of truth and waits for a line on stdin.

With "grow" as argument it instead holds a list of 20,000 lists and, after a line on stdin,
appends 20,000 more every 0.1 s, with automatic collection off."""
import gc
import sys
import time
import tracemalloc

N_PLAIN, N_SLOTTED, N_LISTS = 200000, 50000, 100000


class Plain:
    def __init__(self, i):
        self.a = i
        self.b = None
        self.c = 'x'


class Slotted:
    __slots__ = ('a', 'b', 'c')

    def __init__(self, i):
        self.a = i
        self.b = None
        self.c = 'x'


def census():
    tracemalloc.start()
    plain = [None] * N_PLAIN
    slotted = [None] * N_SLOTTED
    t0 = tracemalloc.get_traced_memory()[0]
    for i in range(N_PLAIN):
        plain[i] = Plain(1)
    t1 = tracemalloc.get_traced_memory()[0]
    for i in range(N_SLOTTED):
        slotted[i] = Slotted(1)
    t2 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    lists = {i: [i] for i in range(N_LISTS)}
    gc.collect()
    objs = gc.get_objects()
    n_plain = s_plain = n_slotted = s_slotted = n_list = s_list = n_dict = s_dict = 0
    for o in objs:
        t = type(o)
        if t is Plain:
            n_plain += 1
            s_plain += sys.getsizeof(o)
        elif t is Slotted:
            n_slotted += 1
            s_slotted += sys.getsizeof(o)
        elif t is list:
            n_list += 1
            s_list += sys.getsizeof(o)
        elif t is dict:
            n_dict += 1
            s_dict += sys.getsizeof(o)
    del objs, o, t
    sys.stdout.write("truth %d %d %d %d %d %d %d %d %d %d %d\n" % (
        n_plain, s_plain, t1 - t0, n_slotted, s_slotted, t2 - t1, n_list, s_list, n_dict,
        s_dict, sys.getsizeof(slotted[0])))
    sys.stdout.flush()
    sys.stdin.readline()
    return plain, slotted, lists


def grow():
    gc.disable()  # growth only: test_heap's regrtest tests census a collecting process
    held = [[i] for i in range(20000)]  # the largest container from the first census on
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    while True:
        held.extend([i] for i in range(20000))
        time.sleep(0.1)


if __name__ == '__main__':
    if sys.argv[1:] == ['grow']:
        grow()
    else:
        if len(sys.argv) == 4:
            N_PLAIN, N_SLOTTED, N_LISTS = (int(x) for x in sys.argv[1:])
        census()
