# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The billing job of queries_n1.py on PostgreSQL through psycopg2 (C, PQexec) or psycopg 3
(pure Python over ctypes: PQsendQuery*/PQgetResult; a statement run 5 times is prepared, then
executed by name), autocommit (no BEGIN): N+1 (1 query for the customers, then one per
customer) or one JOIN. Builds the tables, prints "ready", waits for a line on stdin, runs the
job once and prints its own count of queries and rows as JSON. After the JOIN, one query on
a table that does not exist: the server's error, caught (counted in "failed").

usage: queries_pg.py n1|join SOCKDIR PORT [CUSTOMERS [psycopg2|psycopg]]
"""
import json
import sys
import time

MODE, SOCK, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
N = int(sys.argv[4]) if len(sys.argv) > 4 else 500
DRIVER = sys.argv[5] if len(sys.argv) > 5 else "psycopg2"
issued = 0
rows = {}
execute_us = 0  # time inside orders_for's cur.execute calls, by the job's own clock


def setup(cur):
    cur.execute("DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS customers")
    cur.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    cur.execute("CREATE TABLE orders (id SERIAL PRIMARY KEY, customer_id INTEGER, "
                "total INTEGER)")
    cur.execute("CREATE INDEX ON orders (customer_id)")
    cur.execute("INSERT INTO customers SELECT i, 'c' || i FROM generate_series(0, %s) i",
                (N - 1,))
    cur.execute("INSERT INTO orders (customer_id, total) SELECT i %% %s, i "
                "FROM generate_series(0, %s) i", (N, 3 * N - 1))


def fetched(what, r):
    rows[what] = rows.get(what, 0) + len(r)
    return r


def load_customers(cur):
    global issued
    issued += 1
    cur.execute("SELECT id, name FROM customers ORDER BY id")
    return fetched("customers", cur.fetchall())


def orders_for(cur, cid):
    global issued, execute_us
    issued += 1
    t0 = time.perf_counter()
    cur.execute("SELECT total FROM orders WHERE customer_id = %s", (cid,))
    execute_us += (time.perf_counter() - t0) * 1e6
    return fetched("orders", cur.fetchall())


def billing_n1(cur):
    total = 0
    customers = load_customers(cur)
    for cid, _name in customers:
        total += sum(t for (t,) in orders_for(cur, cid))
    return total


def billing_join(cur):
    global issued
    issued += 1
    cur.execute("SELECT c.id, o.total FROM customers c JOIN orders o "
                "ON o.customer_id = c.id ORDER BY c.id")
    return sum(t for (_c, t) in fetched("join", cur.fetchall()))


def missing_table(cur):
    global issued
    issued += 1
    try:
        cur.execute("SELECT total FROM no_such_table")
    except Exception as e:  # psycopg2 / psycopg errors.UndefinedTable
        if "no_such_table" not in str(e):
            raise
        return 1
    return 0


def main():
    if DRIVER == "psycopg":
        import psycopg
        conn = psycopg.connect(host=SOCK, port=PORT, user="postgres", dbname="postgres",
                               autocommit=True)
    else:
        import psycopg2
        conn = psycopg2.connect(host=SOCK, port=PORT, user="postgres", dbname="postgres")
        conn.autocommit = True
    cur = conn.cursor()
    setup(cur)
    print("ready", flush=True)
    sys.stdin.readline()
    total = billing_n1(cur) if MODE == "n1" else billing_join(cur)
    failed = missing_table(cur) if MODE == "join" else 0
    conn.close()
    print(json.dumps({"issued": issued, "total": total, "rows": rows, "failed": failed,
                      "execute_us": int(execute_us)}), flush=True)
    sys.stdin.readline()  # stay until told (the observer names frames from our memory)


main()
