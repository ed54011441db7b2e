#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `pyhound queries` overhead on the worst case: a SQLite point-query loop (bench/queries_point.py:
# N x SELECT ... WHERE k = ? with fetchone, stdlib sqlite3, a file database) with no tracer
# ("base"), with `pyhound queries --pid P` at its default budget ("budget": the probes of
# executions attached in windows held to 1% of the time) and with `--budget 100` ("full": every
# query probed, exact counts), alternating within each round (order rotated per round), on
# Debian's python3.11 and a pyenv 3.12. Reports the median of the workload's own CPU and wall
# time per condition, their ratio to base, and the cost per query: (CPU - base CPU) / N; and
# what pyhound counted: queries seen, and (budget) estimated over the run. Each query here is 2
# sqlite3_step calls (the row, then SQLITE_DONE at fetchone's end or the reset of the next
# execute) and a reset: 3 entry traps, 2 returns and one stack walk when probed.
#
# Usage: bench/queries.sh [PYHOUND] [ROUNDS] [N]   (root; defaults build/pyhound 3 200000)
#   BUDGET=PCT sets the "budget" condition's --budget (default: pyhound's default).
#   OTHER=path/to/another/pyhound adds a condition "other" (e.g. an older build, its default
#   flags), alternating with the others in each round, so builds are measured under one load.
set -euo pipefail
cd "$(dirname "$0")/.."
PYHOUND=${1:-build/pyhound}
ROUNDS=${2:-3}
N=${3:-200000}
PYENV_ROOT=${PYENV_ROOT:-/root/.pyenv}
PYS=(/usr/bin/python3.11 $(ls -d "$PYENV_ROOT"/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1))
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. bench/lib/workload.sh

start_tracer() { # condition
	local log=$TMP/tr.err
	: >"$log"
	case $1 in
	base) TP= ; return 0 ;;
	budget) "$PYHOUND" queries --pid "$WPID" --duration 600 --json ${BUDGET:+--budget $BUDGET} \
		>"$TMP/tr.out" 2>"$log" & ;;
	full) "$PYHOUND" queries --pid "$WPID" --duration 600 --json --budget 100 \
		>"$TMP/tr.out" 2>"$log" & ;;
	other) "$OTHER" queries --pid "$WPID" --duration 600 >"$TMP/tr.out" 2>"$log" & ;;
	esac
	TP=$!
	until grep -q "following the database queries" "$log" 2>/dev/null; do
		kill -0 "$TP" 2>/dev/null || { echo "$1 failed: $(tail -3 "$log")" >&2; exit 1; }
		sleep 0.05
	done
}

for py in "${PYS[@]}"; do
	"$py" bench/queries_point.py 20000 "$TMP/kv.db" >/dev/null # warm caches
	for r in $(seq "$ROUNDS"); do
		if [ -n "${OTHER:-}" ]; then
			case $((r % 4)) in
			1) set -- base budget full other ;; 2) set -- budget full other base ;;
			3) set -- full other base budget ;; 0) set -- other base budget full ;;
			esac
		else
			case $((r % 3)) in
			1) set -- base budget full ;; 2) set -- budget full base ;;
			0) set -- full base budget ;;
			esac
		fi
		for c in "$@"; do
			start_workload "$py" bench/queries_point.py wait "$N" "$TMP/kv.db"
			start_tracer "$c"
			finish_workload "$(basename "$py").$c"
			stop_tracer
			case $c in
			budget | full) python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
c = r["queries_coverage"]
print("%d seen, %.0f estimated, %.1f%% of the run covered in %d windows" % (
    sum(e["count"] for e in r["queries"]), sum(e["estimated_count"] for e in r["queries"]),
    100 * c["coverage"], c["windows"]))' "$TMP/tr.out" >>"$TMP/$(basename "$py").$c.seen" || true ;;
			other) grep -o '^[0-9]* queries' "$TMP/tr.out" | awk '{print $1 " seen"}' \
				>>"$TMP/$(basename "$py").$c.seen" || true ;;
			esac
		done
	done
done

printf '%-11s %-6s %-4s %6s %9s %9s %8s %10s\n' python cond time rounds median_s base_s ratio ns/query
for py in "${PYS[@]}"; do
	tag=$(basename "$py")
	for c in budget full ${OTHER:+other}; do
		for m in cpu wall; do
			b=$(median "$TMP/$tag.base.$m")
			v=$(median "$TMP/$tag.$c.$m")
			awk -v t="$tag" -v c="$c" -v m="$m" -v r="$ROUNDS" -v b="$b" -v v="$v" -v n="$N" 'BEGIN {
				printf "%-11s %-6s %-4s %6d %9.4f %9.4f %8.2f %10.0f\n", t, c, m, r, v, b,
					v / b, (v - b) / n * 1e9}'
		done
		echo "  $c: what pyhound counted per run (N=$N):"
		sed 's/^/    /' "$TMP/$tag.$c.seen"
	done
done
