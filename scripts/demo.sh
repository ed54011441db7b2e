#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `make demo`: start the bundled example workloads, run `pyhound report` against them.
set -eu
PYHOUND=${1:-build/pyhound}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=$(command -v python3.11 || command -v python3)
[ -x /usr/bin/python3.11 ] && PY=/usr/bin/python3.11
export DEMO_SECONDS=9
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
echo "pyhound demo: starting three example workloads with $PY"
for w in chatty_logger buffered_logger rpc_pingpong; do
	"$PY" "$SRC/examples/$w.py" & pids="$pids $!"
	echo "  $w.py (PID $!)"
done
sleep 0.5
echo
"$PYHOUND" list
echo
"$PYHOUND" report --duration 5 --pid "$(echo $pids | tr ' ' ',')"
