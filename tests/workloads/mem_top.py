# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Resident growth in one known function, for `pyhound top --mode memory`: prints "ready",
then until a line arrives on stdin (at most 60 s) keeps 2 MiB more every 50 ms in
keep_growing() (dropping what it holds past 192 MiB) while busy() only computes, allocating
nothing that stays. Then prints "done <bytes kept in total>"."""
import select
import sys
import time


def keep_growing(held):
    held.append(bytearray(2 << 20))  # zero-filled: every page touched
    if len(held) > 96:
        del held[:]


def busy():
    return sum(i * i for i in range(20000))


def main():
    held = []
    kept = 0
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if select.select([sys.stdin], [], [], 0)[0]:
            break
        keep_growing(held)
        kept += 2 << 20
        busy()
        time.sleep(0.05)
    sys.stdout.write("done %d\n" % kept)
    sys.stdout.flush()


main()
