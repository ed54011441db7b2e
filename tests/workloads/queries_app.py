# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A Flask app for gunicorn on PostgreSQL (psycopg2): /report runs an N+1 (the customers, then
one query per customer: PYHOUND_APP_CUSTOMERS of them), /health one query per request.
Environment: PYHOUND_PG_SOCK, PYHOUND_PG_PORT, PYHOUND_APP_CUSTOMERS (default 50)."""
import os

import psycopg2
from flask import Flask

app = Flask(__name__)
N = int(os.environ.get("PYHOUND_APP_CUSTOMERS", "50"))
_conn = None


def db():
    global _conn
    if _conn is None:
        _conn = psycopg2.connect(host=os.environ["PYHOUND_PG_SOCK"],
                                 port=int(os.environ["PYHOUND_PG_PORT"]),
                                 user="postgres", dbname="postgres")
        _conn.autocommit = True
    return _conn.cursor()


def orders_for(cur, cid):
    cur.execute("SELECT total FROM orders WHERE customer_id = %s", (cid,))
    return cur.fetchall()


@app.route("/report")
def customer_report():
    cur = db()
    cur.execute("SELECT id FROM customers ORDER BY id LIMIT %s", (N,))
    customers = cur.fetchall()
    total = 0
    for (cid,) in customers:
        total += sum(t for (t,) in orders_for(cur, cid))
    return {"customers": len(customers), "total": total}


@app.route("/health")
def health():
    cur = db()
    cur.execute("SELECT 1")
    return {"ok": cur.fetchone()[0] == 1}
