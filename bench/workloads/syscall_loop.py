"""Syscall-heavy loop for bench/syscalls.sh: N x (os.getppid() + one 16-byte os.write to a file).

Exactly 2*N syscalls happen inside the timed loop (getppid is not cached by glibc; a 16-byte
write to a regular file is never short). Prints one line:
"loop_s=<wall seconds of the loop> loop_cpu_s=<user+sys seconds of the loop> syscalls=<2N>
cpu_s=<user+sys of the whole process>".
Usage: python3.11 syscall_loop.py ITERATIONS OUTFILE
"""
import os
import resource
import sys
import time

n = int(sys.argv[1])
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
buf = b"0123456789abcde\n"  # 16 bytes
getppid, write = os.getppid, os.write
c0 = time.process_time()
t0 = time.perf_counter()
for _ in range(n):
    getppid()
    write(fd, buf)
t1 = time.perf_counter()
c1 = time.process_time()
os.close(fd)
ru = resource.getrusage(resource.RUSAGE_SELF)
print(f"loop_s={t1 - t0:.6f} loop_cpu_s={c1 - c0:.6f} syscalls={2 * n} cpu_s={ru.ru_utime + ru.ru_stime:.3f}")
