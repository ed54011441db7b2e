# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Start RATE short-lived Pythons per second for SECONDS seconds (INTERPRETER -S -c pass),
never more than 256 at once; print how many were started and the rate achieved."""
import subprocess, sys, time

interp, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
running, started = [], 0
while time.monotonic() - t0 < seconds:
    due = int((time.monotonic() - t0) * rate) + 1
    running = [p for p in running if p.poll() is None]
    while started < due and len(running) < 256:
        running.append(subprocess.Popen([interp, "-S", "-c", "pass"]))
        started += 1
    time.sleep(0.002)
for p in running:
    p.wait()
elapsed = time.monotonic() - t0
print("started=%d rate=%.1f" % (started, started / elapsed), flush=True)
