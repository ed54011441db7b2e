# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Allocation-heavy loop for bench/memory.sh, the worst case for the memory collector: every
iteration makes ~6 MiB of small objects (lists) and a 4 MiB buffer resident and frees both, so
pymalloc's arenas and glibc's mmapped chunk go back to the system and every page is faulted in
again on the next iteration (about 850 page faults per iteration on 3.11).
With "pages" each iteration only makes a 16 MiB buffer resident and frees it (4,096 page
faults and one munmap, nearly nothing else; run it with MALLOC_MMAP_THRESHOLD_=131072, else
glibc keeps the freed buffer and reuses it): the collector's cost per page fault, undiluted.
usage: mem_alloc.py [wait] N [mixed|pages]
Prints "ready <pid>", waits for a line on stdin (wait mode), then "<wall_s> <cpu_s> <n>
<minor_faults>" (the loop's own page faults, from getrusage)."""
import os
import resource
import sys
import time

args = sys.argv[1:]
wait = args and args[0] == "wait"
if wait:
    args = args[1:]
n = int(args[0]) if args else 200
pages = len(args) > 1 and args[1] == "pages"
print("ready", os.getpid(), flush=True)
if wait:
    sys.stdin.readline()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
t0, c0 = time.perf_counter(), time.process_time()
if pages:
    for i in range(n):
        b = bytearray(16 << 20)
        del b
else:
    for i in range(n):
        x = [list(range(30)) for _ in range(20000)]
        b = bytearray(4 << 20)
        del x, b
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
print("%.4f %.4f %d %d" % (wall, cpu, n, faults), flush=True)
