# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Stack shapes: the main thread spins in inner() called from a method (K.method); a second
# thread spins at the bottom of a 300-deep recursion. Lines are found by the MARK comments.
import sys
import threading

sys.setrecursionlimit(2000)


def inner():
    while True: pass  # MARK:spin_inner


class K:
    def method(self):
        inner()  # MARK:call_inner


def spin_deep():
    while True: pass  # MARK:spin_deep


def rec(n):
    if n:
        return rec(n - 1)  # MARK:rec_call
    spin_deep()  # MARK:call_deep


t = threading.Thread(target=rec, args=(300,), daemon=True)
t.start()
print("ready", flush=True)
K().method()
