#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `pyhound queries` overhead on PostgreSQL point queries (bench/queries_pg_point.py: N x
# SELECT ... WHERE k = %s + fetchone, Debian's python3.11, a private server started here as the
# postgres user on a Unix socket) through psycopg2 (PQexec: its own PQsendQuery and
# PQgetResult calls trap too, skipped as nested) and psycopg 3 (PQsendQueryParams /
# PQsendQueryPrepared + PQgetResult). Without a tracer ("base") and with `pyhound queries
# --pid P` ("on"), alternating within each round; medians of the workload's own CPU and wall
# time, their ratio, and the cost per query ((on - base) / N). The server's time is outside
# the workload's CPU time (its wall time includes the round trips).
#
# Usage: bench/queries_pg.sh [PYHOUND] [ROUNDS] [N]   (root; defaults build/pyhound 3 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
PYHOUND=${1:-build/pyhound}
ROUNDS=${2:-3}
N=${3:-20000}
PY=/usr/bin/python3.11
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
TMP=$(mktemp -d)
PORT=$((20000 + $$ % 20000))
chown postgres "$TMP"
trap 'runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$TMP/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
runuser -u postgres -- "$PG_BIN/initdb" -D "$TMP/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$TMP/data" -l "$TMP/log" -w -t 120 \
	-o "-k $TMP -p $PORT -c listen_addresses=''" start >/dev/null
. bench/lib/workload.sh

start_tracer() { # condition
	local log=$TMP/tr.err
	: >"$log"
	case $1 in
	base) TP= ; return 0 ;;
	on) "$PYHOUND" queries --pid "$WPID" --duration 600 >"$TMP/tr.out" 2>"$log" & ;;
	esac
	TP=$!
	until grep -q "following the database queries" "$log" 2>/dev/null; do
		kill -0 "$TP" 2>/dev/null || { echo "$1 failed: $(tail -3 "$log")" >&2; exit 1; }
		sleep 0.05
	done
}

DRIVERS=(psycopg2 psycopg)
for d in "${DRIVERS[@]}"; do
	"$PY" bench/queries_pg_point.py 2000 "$TMP" "$PORT" "$d" >/dev/null # warm up
	for r in $(seq "$ROUNDS"); do
		set -- base on
		[ $((r % 2)) = 0 ] && set -- on base
		for c in "$@"; do
			start_workload "$PY" bench/queries_pg_point.py wait "$N" "$TMP" "$PORT" "$d"
			start_tracer "$c"
			finish_workload "$d.$c"
			stop_tracer
			if [ "$c" = on ]; then
				grep -o '^[0-9]* queries' "$TMP/tr.out" | awk '{print $1}' \
					>>"$TMP/$d.seen" || true
			fi
		done
	done
done

printf '%-9s %-4s %6s %9s %9s %8s %10s\n' driver time rounds on_s base_s ratio ns/query
for d in "${DRIVERS[@]}"; do
	for m in cpu wall; do
		b=$(median "$TMP/$d.base.$m")
		v=$(median "$TMP/$d.on.$m")
		awk -v t="$d" -v m="$m" -v r="$ROUNDS" -v b="$b" -v v="$v" -v n="$N" 'BEGIN {
			printf "%-9s %-4s %6d %9.4f %9.4f %8.2f %10.0f\n", t, m, r, v, b, v / b,
				(v - b) / n * 1e9}'
	done
	echo "  queries pyhound counted per run: $(sort -u "$TMP/$d.seen" | tr '\n' ' ')(N=$N, +1 PREPARE for psycopg)"
done
