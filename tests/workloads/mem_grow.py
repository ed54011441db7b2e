# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Resident memory workload: reads its own RssAnon/RssFile/RssShmem from /proc/self/status.
Prints "ready" and waits for a line on stdin; then (with "grow") allocates and touches 4 MiB
every 0.1 s for 4 s (160 MiB kept), or (with "flat") allocates and frees the same 4 MiB each
time; then prints "before A F S after A F S" (bytes) and waits for a line on stdin again."""
import sys
import time


def rss():
    v = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in ("RssAnon", "RssFile", "RssShmem"):
                v[k] = int(rest.split()[0]) * 1024
    return v["RssAnon"], v["RssFile"], v["RssShmem"]


def main():
    grow = sys.argv[1:] == ["grow"]
    held = []
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    before = rss()
    for _ in range(40):
        b = bytearray(4 << 20)  # zero-filled: every page touched
        if grow:
            held.append(b)
        del b
        time.sleep(0.1)
    after = rss()
    sys.stdout.write("before %d %d %d after %d %d %d\n" % (before + after))
    sys.stdout.flush()
    sys.stdin.readline()


main()
