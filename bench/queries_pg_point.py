# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""PostgreSQL point-query loop: N x "SELECT v FROM kv WHERE k = %s" with fetchone through
psycopg2 (PQexec) or psycopg 3 (PQsendQueryParams / PQsendQueryPrepared + PQgetResult), on a
server's Unix socket, autocommit. usage: queries_pg_point.py [wait] N SOCKDIR PORT DRIVER
Prints "ready <pid>", waits for a line on stdin (wait mode), then "<wall_s> <cpu_s> <n>"."""
import os
import sys
import time

args = sys.argv[1:]
wait = args and args[0] == "wait"
if wait:
    args = args[1:]
n, sock, port, driver = int(args[0]), args[1], int(args[2]), args[3]
if driver == "psycopg":
    import psycopg
    db = psycopg.connect(host=sock, port=port, user="postgres", dbname="postgres",
                         autocommit=True)
else:
    import psycopg2
    db = psycopg2.connect(host=sock, port=port, user="postgres", dbname="postgres")
    db.autocommit = True
cur = db.cursor()
cur.execute("CREATE TABLE IF NOT EXISTS kv (k INTEGER PRIMARY KEY, v TEXT)")
cur.execute("INSERT INTO kv SELECT i, 'v' || i FROM generate_series(0, 999) i "
            "ON CONFLICT DO NOTHING")
print("ready", os.getpid(), flush=True)
if wait:
    sys.stdin.readline()
q = "SELECT v FROM kv WHERE k = %s"
t0, c0 = time.perf_counter(), time.process_time()
for i in range(n):
    cur.execute(q, (i % 1000,))
    cur.fetchone()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print("%.4f %.4f %d" % (wall, cpu, n), flush=True)
