# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""GC workload for pyhound's GC collector tests (CPython 3.8+).

Protocol on stdin/stdout, so a tracer can attach before anything is measured:
  prints "ready <pid>", waits for a line on stdin ("go"), then
  1. imports --import modules (from --import-dir), timing each import itself;
  2. with automatic GC disabled: gc.collect(0) N0 times, gc.collect(1) N1, gc.collect(2) N2,
     each after creating cyclic garbage, over a live heap of --live objects;
  3. with automatic GC enabled: creates --auto cycles, so the interpreter collects by itself;
  4. disables GC again and prints what it saw through gc.callbacks, one "key v0 v1 v2" per line,
     then "end", and waits for a line on stdin before exiting (exit code --exit-code).
--deterministic prints only what does not depend on timing (for output comparisons).
"""
import argparse
import gc
import os
import sys
import time


class Node:
    def __init__(self):
        self.other = None
        self.payload = [1, 2, 3]


class Reentrant:
    """A finalizer that asks for a collection while one runs: the interpreter refuses the
    nested one (3.8-3.12 in gc.collect(), 3.13 inside gc_collect_main), so it must not count."""

    def __init__(self):
        self.me = self
        self.nested = None

    def __del__(self):
        Reentrant.nested_result = gc.collect(2)


def make_cycles(n):
    for _ in range(n):
        a, b = Node(), Node()
        a.other, b.other = b, a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n0", type=int, default=37)
    ap.add_argument("--n1", type=int, default=23)
    ap.add_argument("--n2", type=int, default=11)
    ap.add_argument("--garbage", type=int, default=300, help="cycles before each collect")
    ap.add_argument("--live", type=int, default=200000, help="live tracked objects")
    ap.add_argument("--auto", type=int, default=200000, help="cycles made with GC enabled")
    ap.add_argument("--import-dir", default=None)
    ap.add_argument("--import", dest="imports", action="append", default=[])
    ap.add_argument("--deterministic", action="store_true")
    ap.add_argument("--exit-code", type=int, default=0)
    ap.add_argument("--no-wait", action="store_true", help="do not wait on stdin")
    args = ap.parse_args()

    # [phase, generation, perf_counter_ns at the callback's entry, at its end]: a tracer's
    # interval may lie inside the two callbacks of a collection (3.8-3.12's collect(), the USDT
    # probes) or enclose them (3.13's gc_collect_main calls them), so both are measured
    events = []

    def cb(phase, info):
        ev = [phase, info["generation"], time.perf_counter_ns(), 0]
        events.append(ev)
        ev[3] = time.perf_counter_ns()

    live = [[i] for i in range(args.live)]  # lists are GC-tracked: gen-2 work
    gc.collect()
    gc.callbacks.append(cb)
    if args.import_dir:
        sys.path.insert(0, args.import_dir)
    print("ready", os.getpid(), flush=True)
    if not args.no_wait:
        sys.stdin.readline()

    gc.disable()
    del events[:]
    import_ms = []
    for name in args.imports:
        t = time.perf_counter_ns()
        __import__(name)  # the C import path (importlib.import_module bypasses it)
        import_ms.append((name, (time.perf_counter_ns() - t) / 1e6))

    found = [0, 0, 0]
    called = []  # each explicit gc.collect() timed around the call
    for gen, n in ((0, args.n0), (1, args.n1), (2, args.n2)):
        for i in range(n):
            make_cycles(args.garbage)
            if i == 0:
                Reentrant()  # collected (and finalized) by this generation's first collect
            t = time.perf_counter_ns()
            found[gen] += gc.collect(gen)
            called.append(time.perf_counter_ns() - t)
    n_explicit = len(events) // 2

    gc.enable()
    make_cycles(args.auto)
    gc.disable()

    # pair start/stop callbacks (collections do not nest)
    # inner: from the end of the "start" callback to the entry of the "stop" one; outer: from
    # the entry of "start" to the end of "stop" (the callbacks included)
    counts, total, mx, auto = [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]
    total_out, mx_out = [0, 0, 0], [0, 0, 0]
    # what an explicit collection takes outside its callbacks (the call, and a tracer's own
    # probes in the collection function but outside the callbacks), summed
    beyond = 0
    durs = [[], [], []]
    start = None
    for i, (phase, g, t_in, t_end) in enumerate(events):
        if phase == "start":
            start = (t_in, t_end)
            continue
        d, d_out = t_in - start[1], t_end - start[0]
        counts[g] += 1
        total[g] += d
        mx[g] = max(mx[g], d)
        total_out[g] += d_out
        mx_out[g] = max(mx_out[g], d_out)
        durs[g].append(d)
        if i // 2 >= n_explicit:
            auto[g] += 1
        elif len(called) == n_explicit:
            beyond += max(called[i // 2] - d_out, 0)
    med = [sorted(x)[len(x) // 2] if x else 0 for x in durs]
    del live
    if args.deterministic:
        print("explicit", args.n0, args.n1, args.n2)
        print("found", *found)
        print("nested", getattr(Reentrant, "nested_result", None))
        print("end", flush=True)
    else:
        print("counts", *counts)
        print("auto", *auto)
        print("total_ns", *total)
        print("max_ns", *mx)
        print("outer_total_ns", *total_out)
        print("outer_max_ns", *mx_out)
        print("beyond_ns", beyond, n_explicit if len(called) == n_explicit else 0, 0)
        print("median_ns", *med)
        print("found", *found)
        for name, ms in import_ms:
            print("import", name, "%.3f" % ms)
        print("end", flush=True)
    if not args.no_wait:
        sys.stdin.readline()
    sys.exit(args.exit_code)


if __name__ == "__main__":
    main()
