#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# GC tracing overhead: run a GC-heavy workload (bench/gc_heavy.py) under three conditions,
# alternating within each round: no pyhound ("base"), `pyhound report --no-gc` ("nogc":
# syscall tracing only) and `pyhound report` ("gc": syscall + GC tracing). Reports the median
# of the workload's own run time per condition and the ratios gc/base and gc/nogc (the cost of
# GC tracing alone), for Debian's python3.11 (USDT) and a pyenv 3.12 (uprobe + uretprobe).
#
# Usage: bench/gc_bench.sh [PYHOUND] [ROUNDS] [CYCLES]   (root; defaults build/pyhound 7 1500000)
set -euo pipefail
cd "$(dirname "$0")/.."
PYHOUND=${1:-build/pyhound}
ROUNDS=${2:-7}
CYCLES=${3:-1500000}
PYENV_ROOT=${PYENV_ROOT:-/root/.pyenv}
PYS=(/usr/bin/python3.11 $(ls -d "$PYENV_ROOT"/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1))
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# start pyhound in the background and wait until it watches (prints its first stderr line)
start_pyhound() {
	local log=$TMP/ph.err
	: >"$log"
	"$PYHOUND" report --duration 600 "$@" >"$TMP/ph.out" 2>"$log" &
	PH=$!
	for _ in $(seq 200); do
		grep -q "watching" "$log" && return 0
		sleep 0.05
	done
	echo "pyhound did not start: $(cat "$log")" >&2
	exit 1
}

stop_pyhound() {
	kill -INT "$PH"
	wait "$PH" || true
}

run() { # python condition -> appends the run time to $TMP/<py>.<condition>
	local py=$1 cond=$2 tag
	tag=$(basename "$py")
	case $cond in
	nogc) start_pyhound --no-gc ;;
	gc) start_pyhound ;;
	esac
	"$py" bench/gc_heavy.py "$CYCLES" | awk '{print $1}' >>"$TMP/$tag.$cond"
	case $cond in
	nogc | gc) stop_pyhound ;;
	esac
}

median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for py in "${PYS[@]}"; do
	"$py" bench/gc_heavy.py "$CYCLES" >/dev/null # warm caches
	for r in $(seq "$ROUNDS"); do
		# rotate the order each round so no condition always runs first
		case $((r % 3)) in
		0) order="base nogc gc" ;;
		1) order="nogc gc base" ;;
		2) order="gc base nogc" ;;
		esac
		for c in $order; do run "$py" "$c"; done
	done
done

printf '%-12s %6s %9s %9s %9s %8s %8s %s\n' python rounds base_s nogc_s gc_s gc/base gc/nogc collections
for py in "${PYS[@]}"; do
	tag=$(basename "$py")
	b=$(median "$TMP/$tag.base")
	n=$(median "$TMP/$tag.nogc")
	g=$(median "$TMP/$tag.gc")
	cols=$("$py" bench/gc_heavy.py "$CYCLES" | cut -d' ' -f2-)
	awk -v t="$tag" -v r="$ROUNDS" -v b="$b" -v n="$n" -v g="$g" -v c="$cols" \
		'BEGIN {printf "%-12s %6d %9.4f %9.4f %9.4f %8.3f %8.3f %s\n", t, r, b, n, g, g/b, g/n, c}'
done
