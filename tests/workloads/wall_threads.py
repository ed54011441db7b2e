# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Wall-clock workload: three CPU-bound threads (spin_N), one sleeping (sleeper: time.sleep),
# one blocked reading a pipe (reader: os.read) and one waiting on a threading.Lock
# (lock_waiter: Lock.acquire); the main thread waits on an Event. Prints "ready" once every
# thread runs; on SIGUSR1 (or after argv[1] seconds) prints what each measured by its own
# clocks, then exits:
#   spin TID wall=S cpu=S          a CPU-bound thread's wall (perf_counter) and CPU (thread_time)
#   sleeper TID wall=S slept=S     the sleeper's wall time and the sleep it asked for; the rest
#                                  is waking up: waiting for a CPU and to retake the GIL
#   sleep B A                      each time.sleep(SLEEP) call: time.monotonic() before and
#                                  after (the kernel sleeps from B to about B + SLEEP)
#   tids reader=T lock=T
import os
import signal
import sys
import threading
import time

stop = threading.Event()
lock = threading.Lock()
lock.acquire()
rfd, wfd = os.pipe()
tids = {}
spins = []
started = threading.Barrier(7)


def spin_work(out):
    tids[threading.current_thread().name] = threading.get_native_id()
    started.wait()
    w0, c0 = time.perf_counter(), time.thread_time()
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x += i
    out.append((threading.get_native_id(), time.perf_counter() - w0, time.thread_time() - c0))


SLEEP = 0.05
sleep_stats = []
sleeps = []


def sleeper():
    tids["sleeper"] = threading.get_native_id()
    started.wait()
    w0, n = time.perf_counter(), 0
    while not stop.is_set():
        b = time.monotonic()
        time.sleep(SLEEP)  # releases the GIL in C; retakes it before returning
        sleeps.append((b, time.monotonic()))
        n += 1
    sleep_stats.append((threading.get_native_id(), time.perf_counter() - w0, n * SLEEP))


def reader():
    tids["reader"] = threading.get_native_id()
    started.wait()
    os.read(rfd, 1)


def lock_waiter():
    tids["lock"] = threading.get_native_id()
    started.wait()
    lock.acquire()


def spin_0(out):
    spin_work(out)


def spin_1(out):
    spin_work(out)


def spin_2(out):
    spin_work(out)


signal.signal(signal.SIGUSR1, lambda s, f: stop.set())
threads = [threading.Thread(target=f, args=(spins,), name=f.__name__)
           for f in (spin_0, spin_1, spin_2)]
threads += [threading.Thread(target=f, name=f.__name__) for f in (sleeper, reader, lock_waiter)]
for t in threads:
    t.start()
started.wait()


def blocked_in(tid, nr):
    # the thread sits in syscall nr (it got past the barrier and retook the GIL before that)
    try:
        with open("/proc/self/task/%d/syscall" % tid) as f:
            return f.read().split()[0] == str(nr)
    except OSError:
        return False


deadline = time.monotonic() + 20
while time.monotonic() < deadline and not (blocked_in(tids["lock"], 202) and
                                           blocked_in(tids["reader"], 0)):
    time.sleep(0.01)
print("ready", flush=True)
limit = float(sys.argv[1]) if len(sys.argv) > 1 else 600.0
t0 = time.monotonic()
stop.wait(limit)
stop.set()
os.write(wfd, b"x")
lock.release()
for t in threads:
    t.join()
for tid, wall, cpu in spins:
    print("spin %d wall=%.6f cpu=%.6f" % (tid, wall, cpu))
for tid, wall, slept in sleep_stats:
    print("sleeper %d wall=%.6f slept=%.6f" % (tid, wall, slept))
for b, a in sleeps:
    print("sleep %.6f %.6f" % (b, a))
print("tids reader=%d lock=%d" % (tids["reader"], tids["lock"]), flush=True)
