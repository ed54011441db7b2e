# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Known calls for `pyhound calls`: f 100,000 times, g 2,500 times (~1 ms each, mean measured
# here), h raising 1,000 times each followed by k, a generator gen (500 calls, 3 yields each)
# and a coroutine coro (300 calls, each awaiting once); then functions made by exec() and freed
# at once, 2,000 of them named g0..g49 (40 each: a new code object every time, often at a freed
# one's address), each called once, a lambda called 2,000 times, and functions with non-ASCII
# names (naïve_función, 函数: 100 calls each). Waits for a line on stdin before
# starting; prints a deterministic result line (unchanged with pyhound attached) and g's mean;
# with --hold, then waits for another line (or EOF) before exiting.
import sys
import time


def f(x):
    return x + 1


def g():
    end = time.perf_counter() + 0.001
    while time.perf_counter() < end:
        pass


def h():
    raise ValueError("h")


def k():
    return 2


def naïve_función():
    return 0


def 函数():
    return 0


def gen():
    yield 1
    yield 2
    yield 3


async def coro(i, aio):
    await aio.sleep(0)
    return i


async def runner(aio):
    total = 0
    for i in range(300):
        total += await coro(i, aio)
    return total


def main():
    sys.stdin.readline()
    acc = 0
    for i in range(100000):
        acc = f(acc)
    durations = 0
    for _ in range(2500):
        t0 = time.perf_counter_ns()
        g()
        durations += time.perf_counter_ns() - t0
    raised = 0
    for _ in range(1000):
        try:
            h()
        except ValueError:
            raised += 1
        acc += k()
    for _ in range(500):
        for v in gen():
            acc += v
    # asyncio is imported only now: its import calls ~1,000 functions, and serve gives series
    # to a process's first top_calls (<= 1000) functions with calls, once, in order of calls
    import asyncio

    acc += asyncio.run(runner(asyncio))
    for i in range(2000):
        ns = {}
        exec("def g%d(x):\n    return x * 2\n" % (i % 50), ns)
        acc += ns["g%d" % (i % 50)](1)
        acc += (lambda y: y)(1)
    for _ in range(100):
        naïve_función()
        函数()
    print("result", acc, raised, flush=True)
    print("g_mean_ns", durations // 2500, flush=True)
    if sys.argv[1:] == ["--hold"]:
        sys.stdin.readline()  # until the tracer has what it needs (it names code objects
        # while the process lives)
    else:
        time.sleep(0.3)  # pyhound names code objects while the process lives


main()
