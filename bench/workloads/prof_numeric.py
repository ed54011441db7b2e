"""Numeric pure-Python loop for bench/sampler.sh (floats and ints in one frame, few calls).

Prints one line: "work_s=<wall seconds of the timed part> cpu_s=<user+sys of the timed part> result=<checksum>".
Usage: python3 prof_numeric.py ITERATIONS
"""
import sys
import time


def integrate(n):
    # midpoint rule for 4/(1+x^2) on [0,1] plus an integer LCG, all inline
    h = 1.0 / n
    s = 0.0
    x = 12345
    acc = 0
    for i in range(n):
        t = (i + 0.5) * h
        s += 4.0 / (1.0 + t * t)
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        acc ^= x >> (i & 7)
    return s * h, acc


n = int(sys.argv[1])
c0 = time.process_time()
t0 = time.perf_counter()
pi, acc = integrate(n)
t1 = time.perf_counter()
c1 = time.process_time()
print(f"work_s={t1 - t0:.6f} cpu_s={c1 - c0:.6f} result={pi:.9f}/{acc}")
