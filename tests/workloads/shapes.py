# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Stack shapes: the main thread spins in inner() called from a method (K.method); a second
# thread spins at the bottom of a 300-deep recursion; a third keeps constructing objects whose
# __init__ burns CPU (3.13 pushes an internal shim frame under a specialised __init__ call); a
# fourth makes syscalls in a loop (samples there are in-syscall, the pure spins are not).
# Lines are found by the MARK comments.
import os
import sys
import threading
import time

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


class Obj:
    def __init__(self):
        end = time.thread_time() + 0.002
        while time.thread_time() < end: pass  # MARK:spin_init


def make_objs():
    while True:
        Obj()  # MARK:call_init


def sys_spin():
    while True:
        os.getppid()


t = threading.Thread(target=rec, args=(300,), daemon=True)
t.start()
t2 = threading.Thread(target=make_objs, daemon=True)
t2.start()
t3 = threading.Thread(target=sys_spin, daemon=True)
t3.start()
print("ready", flush=True)
K().method()
