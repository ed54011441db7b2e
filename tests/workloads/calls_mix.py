# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A request loop like a small web app's, for `pyhound calls` rates at the default budget: each
# request calls handle() once, which calls parse() once, orders_for() once (the hot one: about
# 100 us of pure computation, most of the process's CPU time) and esc() E times. "closed": the
# process waits 2 ms after each request (as for the network); "open": requests come every 5 ms
# whatever each takes (a server keeping up with its clients: probes slow a request, not the
# request rate). Prints "ready", runs for the given seconds, then prints how many requests it
# served and in how long (calls per function follow).
# usage: calls_mix.py SECONDS [closed|open] [E (default 20)]
import sys
import time


def esc(s):
    return s.replace("<", "&lt;")


def parse(i):
    return {"user": i % 97, "page": i % 7}


def orders_for(user):
    total = 0
    for k in range(2500):
        total += (k * user) % 13
    return total


def handle(i, e):
    req = parse(i)
    n = orders_for(req["user"])
    return "".join([esc("<li>%d</li>" % (n + k)) for k in range(e)])


def main():
    seconds = float(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "closed"
    e = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    print("ready", flush=True)
    t0 = time.perf_counter()
    end = t0 + seconds
    n = 0
    while time.perf_counter() < end:
        handle(n, e)
        n += 1
        if mode == "open":
            time.sleep(max(0, t0 + n * 0.005 - time.perf_counter()))
        else:
            time.sleep(0.002)
    print("requests", n, "seconds", round(time.perf_counter() - t0, 3), flush=True)
    time.sleep(0.3)


main()
