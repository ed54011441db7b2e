# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# One textbook performance problem per run, for the code findings (tests/integration/
# test_findings_code.c):  python patterns.py PATTERN bad|fixed SECONDS [DISTINCT]
# "bad" has the problem, "fixed" the standard remedy. Each round also does other work (sorting
# in C, about a quarter of the time), so the problem is not the only thing the process does.
# The line with the problem is marked "# FINDING <kind>": the tests read the line number here.
import functools
import operator
import os
import socket
import sys
import time


ITEMS = list(range(3000))
ITEM_SET = set(ITEMS)
A = list(range(0, 600, 2))
B = list(range(300, 900, 3))
PARTS = ["piece-%06d;" % i for i in range(30000)]
XS = [float(i % 17) for i in range(4000)]
YS = [float(i % 13) for i in range(4000)]


def membership(bad):
    lookup = ITEMS if bad else ITEM_SET
    hits = 0
    for q in range(0, 6000, 7):
        if q in lookup:  # FINDING linear-membership
            hits += 1
    return hits


def nested(bad):
    a, b = A, B
    out = []
    if bad:
        for x in a:
            for y in b:
                if x == y:  # FINDING nested-loop
                    out.append(x)
    else:
        index = set(b)
        out = [x for x in a if x in index]
    return out


def build(bad):
    parts = PARTS
    if bad:
        s = ""
        for p in parts:
            s += p  # FINDING string-concat
        return s
    return "".join(parts)


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)  # FINDING deep-recursion


@functools.lru_cache(maxsize=None)
def fib_cached(n):
    return n if n < 2 else fib_cached(n - 1) + fib_cached(n - 2)


def recursion(bad):
    if bad:
        return fib(18)
    # the remedy as used: the cache is kept, so only new arguments recurse
    recursion.n = getattr(recursion, "n", 0) + 1
    return fib_cached(18 + recursion.n % 400)


def price(qty, zone):  # FINDING repeated-arguments
    base = 3.25 * qty + (7.0 if zone == "eu" else 11.0)
    tax = base * 0.19 if zone == "eu" else base * 0.07
    fee = (qty % 3) * 0.5 + (qty // 7) * 0.25
    total = base + tax + fee
    total = total * 1.0001 - qty / 7.0
    return total * 100.0 // 1 / 100.0


@functools.lru_cache(maxsize=None)
def price_cached(qty, zone):
    return price(qty, zone)


# the number of distinct (qty, zone) pairs: 12 unless given after SECONDS (test_findings_code
# draws it per run)
DISTINCT = int(sys.argv[4]) if len(sys.argv) > 4 else 12
ORDERS = [(i % DISTINCT, ("eu", "us")[i % DISTINCT % 2]) for i in range(20000)]


def args(bad):
    # bad: DISTINCT distinct (qty, zone) pairs, over and over; fixed: the same, memoised;
    # fresh: every call new (nothing to memoise: no finding)
    mode = sys.argv[2]
    f = price_cached if mode == "fixed" else price
    orders = ORDERS
    if mode == "fresh":
        args.n = getattr(args, "n", 0) + 1
        orders = [(k, "eu") for k in range(args.n * 20000, args.n * 20000 + 20000)]
    for qty, zone in orders:
        f(qty, zone)


def dot(bad):
    a, b = XS, YS
    if bad:
        t = 0.0
        for x, y in zip(a, b):
            t += (x * y + 1.5) * x  # FINDING numeric-loop
        return t
    return sum(map(operator.mul, map(operator.add, map(operator.mul, a, b), [1.5] * len(a)), a))


OUT = {}


def writes(bad):
    # 100-byte records to a file: unbuffered (a write syscall each) or buffered
    f = OUT.get(bad)
    if f is None:
        path = "/tmp/pyhound-pat-%d-%s.out" % (os.getpid(), bad)
        f = OUT[bad] = open(path, "wb", buffering=0 if bad else -1)
        os.unlink(path)
    f.seek(0)
    rec = b"r" * 99 + b"\n"
    for _ in range(2000):
        f.write(rec)  # FINDING tiny-writes
    f.flush()


def server(bad):
    # request/response on a socketpair, client (a) and server (b) in this thread: whole
    # 50-byte messages read with large buffers. bad: one request at a time, each waiting for
    # its reply (chatty round trips, never "unbatched reads/writes"); fixed: pipelined, all
    # 500 requests sent before the replies are read.
    a, b = OUT.get("pair") or OUT.setdefault("pair", socket.socketpair())
    req, resp = b"q" * 50, b"a" * 50
    if bad:
        for _ in range(500):
            a.sendall(req)
            assert len(b.recv(65536)) == 50
            b.sendall(resp)
            assert len(a.recv(65536)) == 50
        return
    a.sendall(req * 500)
    got = 0
    while got < 50 * 500:
        got += len(b.recv(65536))
    b.sendall(resp * 500)
    got = 0
    while got < 50 * 500:
        got += len(a.recv(65536))


def http_client(port, parent):
    # a keep-alive client in a child process: 50-byte requests, one at a time
    c = socket.create_connection(("127.0.0.1", port))
    while os.getppid() == parent:
        try:
            c.sendall(b"q" * 50)
            if not c.recv(65536):
                break
        except OSError:
            break
    os._exit(0)


def httpd(bad):
    # HTTP-server style: one keep-alive connection, accepted before pyhound watches, on a port
    # below the ephemeral range; whole 50-byte requests read with recv(65536) and answered.
    # The client is a child process. Never a finding for this (the server) process.
    conn = OUT.get("conn")
    if conn is None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for port in range(20000 + os.getpid() % 5000, 30000):
            try:
                srv.bind(("127.0.0.1", port))
                break
            except OSError:
                continue
        srv.listen(1)
        if os.fork() == 0:
            srv.close()
            http_client(port, os.getppid())
        conn, _ = srv.accept()
        OUT["conn"], OUT["srv"] = conn, srv
    for _ in range(500):
        conn.recv(65536)
        conn.sendall(b"a" * 50)


def reads(bad):
    # a socket read 48 bytes at a time (bad: the caller asks for tiny reads) or with a large
    # buffer (fixed); 4 KiB sent at once, no replies
    a, b = OUT.get("pair") or OUT.setdefault("pair", socket.socketpair())
    for _ in range(20):
        a.sendall(b"x" * 4096)
        got = 0
        while got < 4096:
            got += len(b.recv(48 if bad else 65536))


PATTERNS = {"writes": writes, "server": server, "httpd": httpd, "reads": reads, "membership": membership, "nested": nested, "build": build,
            "recursion": recursion, "dot": dot, "args": args}


def other_work(seconds, data):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sorted(data)


def main():
    fn = PATTERNS[sys.argv[1]]
    bad = sys.argv[2] == "bad"
    end = time.monotonic() + float(sys.argv[3])
    data = [(i * 7919) % 10007 for i in range(2000)]
    rounds = 0
    print("ready", file=sys.stderr, flush=True)
    while time.monotonic() < end:
        t0 = time.monotonic()
        fn(bad)
        other_work((time.monotonic() - t0) / 3, data)
        rounds += 1
    print("rounds", rounds)


main()
