# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""RSS growth per function, measured by the workload itself with memory_profiler's method (the
resident set from /proc/self/statm just before and just after each call).

Prints "ready" and waits for a line on stdin; then runs ROUNDS rounds of five functions:
  keep_big     keeps ~3 MiB of small objects (lists of ints) per call
  keep_small   keeps ~1.5 MiB of small objects per call
  buffer       keeps one 2.5 MiB bytes object per call (a large mapping of its own)
  churn        builds ~3 MiB of small objects and drops them on return
  reuse        frees every other list keep_big kept in an earlier round (the allocator keeps the
               memory) and makes as many new ones (the allocator reuses it: no growth)
then prints one line "truth NAME=BYTES ..." (the sum of each function's RSS deltas) and waits
for a line on stdin again. Where /proc is not mounted (a chroot), it asks its parent: prints
"rss?" and reads the number of bytes the parent read from /proc/PID/statm."""
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PAGE = 4096
kept = []
big = []
bufs = []


def rss():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except FileNotFoundError:
        sys.stdout.write("rss?\n")
        sys.stdout.flush()
        return int(sys.stdin.readline())


def keep_big():
    big.append([list(range(i, i + 30)) for i in range(9000)])


def keep_small():
    kept.append([list(range(i, i + 30)) for i in range(4500)])


def buffer():
    bufs.append(b"\x01" * (5 << 19))


def churn():
    tmp = [list(range(i, i + 30)) for i in range(9000)]
    return len(tmp)


def reuse():
    if len(big) < 2:
        return
    old = big[-2]
    n = len(old) // 2
    del old[::2]
    old.extend([list(range(i, i + 30)) for i in range(n)])


def main():
    funcs = [keep_big, keep_small, buffer, churn, reuse]
    truth = {f.__name__: 0 for f in funcs}
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    for _ in range(ROUNDS):
        for f in funcs:
            before = rss()
            f()
            truth[f.__name__] += rss() - before
    sys.stdout.write("truth " + " ".join("%s=%d" % kv for kv in truth.items()) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()


main()
