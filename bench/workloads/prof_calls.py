"""Function-call-heavy pure-Python loop for bench/sampler.sh (deep-ish stacks, many calls).

Prints one line: "work_s=<wall seconds of the timed part> cpu_s=<user+sys of the timed part> result=<checksum>".
Usage: python3 prof_calls.py ITERATIONS
"""
import sys
import time


def leaf(a, b):
    return (a * 31 + b) & 0xFFFF


def mid(a, b):
    return leaf(a, b) + leaf(b, a)


def top(i):
    return mid(i, i + 1) ^ mid(i + 2, i)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def run(n):
    acc = 0
    for i in range(n):
        acc += top(i)
        if i % 1000 == 0:
            acc += fib(12)
    return acc


n = int(sys.argv[1])
c0 = time.process_time()
t0 = time.perf_counter()
r = run(n)
t1 = time.perf_counter()
c1 = time.process_time()
print(f"work_s={t1 - t0:.6f} cpu_s={c1 - c0:.6f} result={r}")
