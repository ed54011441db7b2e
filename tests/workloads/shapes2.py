# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Code shapes for the naming tests, each spinning in its own thread for argv[1] seconds:
# a generator, an asyncio coroutine, lambdas and exec'd functions created and freed in a loop,
# non-ASCII function names, and two plain worker threads. Prints the native thread ids, then
# "ready", then runs.
import asyncio
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
END = time.monotonic() + SECONDS + 1.0


def busy(n=3000):
    s = 0
    for i in range(n):
        s += i
    return s


def gen_work():
    while time.monotonic() < END:
        busy()
        yield 1


def consume_gen():
    for _ in gen_work():
        pass


async def coro_leaf():
    busy()
    await asyncio.sleep(0)


async def coro_main():
    while time.monotonic() < END:
        await coro_leaf()


def run_coro():
    asyncio.run(coro_main())


def exec_loop():
    i = 0
    while time.monotonic() < END:
        ns = {"busy": busy}
        exec("def dyn_%d():\n    return busy()\n" % (i % 50), ns)
        ns["dyn_%d" % (i % 50)]()
        f = eval("lambda: busy()", ns)
        f()
        del ns, f
        i += 1


def naïve_función():
    busy()


def 函数():
    busy()


def non_ascii():
    while time.monotonic() < END:
        naïve_función()
        函数()


def thread_one_work():
    while time.monotonic() < END:
        busy()


def thread_two_work():
    while time.monotonic() < END:
        busy()


ids = {}
started = threading.Barrier(8)


def start(name, fn):
    def body():
        ids[name] = threading.get_native_id()
        started.wait()
        fn()
    t = threading.Thread(target=body, name=name)
    t.start()
    return t


threads = [start(n, f) for n, f in [("gen", consume_gen), ("coro", run_coro),
                                    ("exec", exec_loop), ("nonascii", non_ascii),
                                    ("one", thread_one_work), ("two", thread_two_work),
                                    ("idle", lambda: time.sleep(SECONDS))]]
started.wait()
print(" ".join("%s=%d" % kv for kv in sorted(ids.items())), flush=True)
print("ready", flush=True)
for t in threads:
    t.join()
