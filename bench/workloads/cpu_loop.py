"""Pure-CPU loop for bench/syscalls.sh: integer arithmetic, no syscalls inside the timed loop.

Prints one line: "loop_s=<wall seconds of the loop> loop_cpu_s=<user+sys seconds of the loop>
result=<checksum> cpu_s=<user+sys of the whole process>".
Usage: python3.11 cpu_loop.py ITERATIONS
"""
import resource
import sys
import time

n = int(sys.argv[1])
x = 12345
acc = 0
c0 = time.process_time()
t0 = time.perf_counter()
for i in range(n):
    x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    acc ^= x >> (i & 7)
t1 = time.perf_counter()
c1 = time.process_time()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(f"loop_s={t1 - t0:.6f} loop_cpu_s={c1 - c0:.6f} result={acc} cpu_s={ru.ru_utime + ru.ru_stime:.3f}")
