# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""SQLite point-query loop (stdlib sqlite3, a file database): N x
"SELECT v FROM kv WHERE k = ?" with fetchone, the worst case for the queries collector (cheap
queries, each one a full execution). usage: queries_point.py [wait] N [DBPATH]
Prints "ready <pid>", waits for a line on stdin (wait mode), then "<wall_s> <cpu_s> <n>"."""
import os
import sqlite3
import sys
import tempfile
import time

args = sys.argv[1:]
wait = args and args[0] == "wait"
if wait:
    args = args[1:]
n = int(args[0]) if args else 200000
path = args[1] if len(args) > 1 else os.path.join(tempfile.mkdtemp(), "kv.db")
db = sqlite3.connect(path)
db.execute("CREATE TABLE IF NOT EXISTS kv (k INTEGER PRIMARY KEY, v TEXT)")
db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", [(i, "v%d" % i) for i in range(1000)])
db.commit()
print("ready", os.getpid(), flush=True)
if wait:
    sys.stdin.readline()
q = "SELECT v FROM kv WHERE k = ?"
t0, c0 = time.perf_counter(), time.process_time()
for i in range(n):
    db.execute(q, (i % 1000,)).fetchone()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print("%.4f %.4f %d" % (wall, cpu, n), flush=True)
