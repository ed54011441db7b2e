# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A billing job over SQLite (stdlib sqlite3): N+1 (1 query for the customers, then one per
customer) or the same result with one JOIN. Builds the database, prints "ready", waits for a
line on stdin, runs the job once and prints its own count of queries as JSON.
loop: runs the N+1 job again and again for SECONDS, then stays 0.3 s (its queries are read
while it lives), prints its counts (issued, calls of billing_n1) and exits.

usage: queries_n1.py n1|join|loop DBPATH [CUSTOMERS [SECONDS]]
PYHOUND_COMM=name in the environment renames the process (its comm) first.
"""
import json
import os
import sqlite3
import sys
import time

MODE, DB = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 500
issued = 0


def setup(db):
    db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total INTEGER)")
    db.executemany("INSERT INTO customers VALUES (?, ?)", [(i, "c%d" % i) for i in range(N)])
    db.executemany("INSERT INTO orders (customer_id, total) VALUES (?, ?)",
                   [(i % N, i) for i in range(3 * N)])
    db.commit()


def load_customers(db):
    global issued
    issued += 1
    return db.execute("SELECT id, name FROM customers ORDER BY id").fetchall()


def orders_for(db, cid):
    global issued
    issued += 1
    return db.execute("SELECT total FROM orders WHERE customer_id = ?", (cid,)).fetchall()


def billing_n1(db):
    total = 0
    customers = load_customers(db)
    for cid, _name in customers:
        total += sum(t for (t,) in orders_for(db, cid))
    return total


def billing_join(db):
    global issued
    issued += 1
    rows = db.execute("SELECT c.id, o.total FROM customers c JOIN orders o "
                      "ON o.customer_id = c.id ORDER BY c.id").fetchall()
    return sum(t for (_c, t) in rows)


def main():
    if os.environ.get("PYHOUND_COMM"):
        with open("/proc/self/comm", "w") as f:
            f.write(os.environ["PYHOUND_COMM"][:15])
    db = sqlite3.connect(DB)
    setup(db)
    print("ready", flush=True)
    sys.stdin.readline()
    if MODE == "loop":
        calls, end = 0, time.monotonic() + float(sys.argv[4])
        while time.monotonic() < end:
            billing_n1(db)
            calls += 1
        time.sleep(0.3)
        print(json.dumps({"issued": issued, "calls": calls}), flush=True)
        return
    total = billing_n1(db) if MODE == "n1" else billing_join(db)
    db.close()
    print(json.dumps({"issued": issued, "total": total}), flush=True)
    sys.stdin.readline()  # stay until told (the observer names frames from our memory)


main()
