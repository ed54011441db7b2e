# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
import time


def a(budget):
    # burn budget seconds of this thread's CPU time in pure Python
    end = time.thread_time() + budget
    x = 0
    while time.thread_time() < end:
        for i in range(300):
            x += i
    return x
