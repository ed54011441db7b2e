# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A function whose name holds a lone surrogate (source code cannot spell one; code.replace
# can), called 2,000 times, each call followed by a call into C. CPython 3.11's dtrace hook
# fails to encode such a name and leaves the error set while anything raises its
# function__entry/return USDT semaphores: the program then sees SystemError. Waits for a line
# on stdin; prints a result line that must not change with pyhound attached ("died ..." and
# exit 3 when an exception escapes).
import sys
import time


def f(x):
    i = 0
    while i < 10:
        i += 1
    return x + i


f.__code__ = f.__code__.replace(co_name="f\udc80", co_qualname="f\udc80")


def main():
    sys.stdin.readline()
    acc = errors = 0
    for _ in range(2000):
        try:
            acc = f(acc)
            time.sleep(0)
        except SystemError:
            errors += 1
    print("result", acc, "errors", errors, flush=True)
    time.sleep(0.3)  # pyhound names code objects while the process lives


try:
    main()
except BaseException as e:  # one short line, not a chain of thousands of tracebacks
    print("died", type(e).__name__, flush=True)
    sys.exit(3)
