# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Compare pyhound's resident growth per function (a collapsed profile of `record --mode
memory`: bytes still held per stack) with the workload's own truth (mem_funcs.py's "truth"
line: the sum of each function's VmRSS deltas, memory_profiler's method).

usage: mem_check.py PROFILE.collapsed "truth NAME=BYTES ..." [MAX_POINTS]
A function's share is its bytes over the sum of all functions' (negative sums count as 0);
pyhound's bytes for a function are those of the stacks it is on. Exit 1 when a share differs
by more than MAX_POINTS (default 8) or pyhound saw less than half the growth."""
import sys


def main():
    prof, truth_line = sys.argv[1], sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 8.0
    truth = {}
    for kv in truth_line.split()[1:]:
        k, _, v = kv.partition("=")
        truth[k] = max(int(v), 0)
    seen = dict.fromkeys(truth, 0)
    for line in open(prof, encoding="utf-8", errors="replace"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        names = {f.split(" (")[0] for f in stack.split(";")}
        for fn in seen:
            if fn in names:
                seen[fn] += int(count)
    tt, ts = sum(truth.values()), sum(seen.values())
    ok = tt > 0 and ts >= tt / 2
    print("pyhound %.1f MiB, workload %.1f MiB" % (ts / 2**20, tt / 2**20))
    for fn in truth:
        a = 100.0 * seen[fn] / ts if ts else 0.0
        b = 100.0 * truth[fn] / tt if tt else 0.0
        bad = abs(a - b) > limit
        ok = ok and not bad
        print("%-12s pyhound %5.1f%% %8.1f MiB  workload %5.1f%% %8.1f MiB%s" % (
            fn, a, seen[fn] / 2**20, b, truth[fn] / 2**20, "  <-- off" if bad else ""))
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


sys.exit(main())
