# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Aliasing workload: a cycle of 1/99 s of this thread's CPU time (the period of a 99 Hz sampler)
# split 50/35/15% between alias_a(), alias_b() and alias_c(). Each call's own CPU time is
# measured (time.thread_time around it) and summed. Prints "ready" once imports are done; on
# SIGUSR1 finishes the cycle, prints "own a=SECONDS b=SECONDS c=SECONDS" and exits; runs at most
# argv[1] seconds (default 600).
import random
import signal
import sys
import time

CYCLE = 1.0 / 99
SHARE = (0.50, 0.35, 0.15)
stop = False


def on_usr1(signum, frame):
    global stop
    stop = True


def burn(end):
    x = 0
    while time.thread_time() < end:
        for i in range(50):
            x += i
    return x


def alias_a(budget):
    burn(time.thread_time() + budget)


def alias_b(budget):
    burn(time.thread_time() + budget)


def alias_c(budget):
    burn(time.thread_time() + budget)


def timed(fn, budget, own, k):
    t0 = time.thread_time()
    fn(budget)
    own[k] += time.thread_time() - t0


signal.signal(signal.SIGUSR1, on_usr1)
limit = float(sys.argv[1]) if len(sys.argv) > 1 else 600.0
own = [0.0, 0.0, 0.0]
fns = (alias_a, alias_b, alias_c)
print("ready", flush=True)
start = time.monotonic()
# start at a random point of the cycle
k0 = random.randrange(3)
for k in range(k0, 3):
    timed(fns[k], CYCLE * SHARE[k] * random.random(), own, k)
while not stop and time.monotonic() - start < limit:
    for k in range(3):
        timed(fns[k], CYCLE * SHARE[k], own, k)
print("own a=%.6f b=%.6f c=%.6f" % tuple(own), flush=True)
