#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# GC tracing overhead: run a GC-heavy workload (bench/gc_heavy.py) under three conditions,
# alternating within each round: no pyhound ("base"), `pyhound report --no-gc` ("nogc":
# syscall tracing only) and `pyhound report` ("gc": syscall + GC tracing). Reports the median
# of the workload's own CPU time (user + system, where probe costs are charged; less disturbed
# than wall time by other load on a shared machine) and of its wall time per condition, and the
# ratios gc/base and gc/nogc (the cost of GC tracing alone), for Debian's python3.11 (USDT) and a
# pyenv 3.12 (uprobe + uretprobe).
#
# A second table gives the probe cost per collection, from COLLECTS explicit gc.collect(0) on a
# small heap (base vs gc): (CPU time with - without) / collections. Multiply by a program's
# collections per second for its expected slowdown.
#
# With BCC_KERNEL_SOURCE set to a kernel header tree (see /work/shared/notes/peer-tools-here.md),
# a fourth condition "ugc" runs bcc's ugc -l python (USDT, PID only) on Debian's python3.11.
#
# Usage: bench/gc_bench.sh [PYHOUND] [ROUNDS] [CYCLES] [COLLECTS]
#        (root; defaults build/pyhound 7 1500000 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
PYHOUND=${1:-build/pyhound}
ROUNDS=${2:-7}
CYCLES=${3:-1500000}
COLLECTS=${4:-200000}
PYENV_ROOT=${PYENV_ROOT:-/root/.pyenv}
PYS=(/usr/bin/python3.11 $(ls -d "$PYENV_ROOT"/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1))
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Every condition runs the workload in "wait" mode: it prints "ready <pid>" and waits on a FIFO,
# the tracer (if any) attaches to that PID, then the workload is told to go. Attaching by PID
# keeps pyhound's work to the one process, whatever else the host runs.
. bench/lib/workload.sh

start_tracer() { # condition
	local log=$TMP/tr.err
	: >"$log"
	case $1 in
	base) TP= ; return 0 ;;
	nogc) "$PYHOUND" report -v --duration 600 --pid "$WPID" --no-gc >"$TMP/tr.out" 2>"$log" & ;;
	gc) "$PYHOUND" report -v --duration 600 --pid "$WPID" >"$TMP/tr.out" 2>"$log" & ;;
	ugc) /usr/bin/python3 /usr/sbin/ugc -l python "$WPID" >"$log" 2>&1 & ;;
	esac
	TP=$!
	until grep -qE "watching|Tracing" "$log" 2>/dev/null; do
		kill -0 "$TP" 2>/dev/null || { echo "$1 failed: $(tail -3 "$log")" >&2; exit 1; }
		sleep 0.05
	done
}


run() { # python condition [collect]
	local py=$1 cond=$2 tag
	tag=$(basename "$py")${3:+.collect}.$cond
	if [ -n "${3:-}" ]; then
		start_workload "$py" bench/gc_heavy.py wait collect "$COLLECTS"
	else
		start_workload "$py" bench/gc_heavy.py wait "$CYCLES"
	fi
	start_tracer "$cond"
	finish_workload "$tag"
	stop_tracer
}


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
		if [ -n "${BCC_KERNEL_SOURCE:-}" ] && [ "$py" = /usr/bin/python3.11 ]; then
			run "$py" ugc
		fi
		for c in base gc; do run "$py" "$c" collect; done
	done
done

printf '%-12s %-5s %6s %9s %9s %9s %8s %8s %s\n' python time rounds base_s nogc_s gc_s gc/base \
	gc/nogc collections
for py in "${PYS[@]}"; do
	tag=$(basename "$py")
	cols=$("$py" bench/gc_heavy.py "$CYCLES" | cut -d' ' -f3-)
	for m in cpu wall; do
		b=$(median "$TMP/$tag.base.$m")
		n=$(median "$TMP/$tag.nogc.$m")
		g=$(median "$TMP/$tag.gc.$m")
		awk -v t="$tag" -v m="$m" -v r="$ROUNDS" -v b="$b" -v n="$n" -v g="$g" -v c="$cols" \
			'BEGIN {printf "%-12s %-5s %6d %9.4f %9.4f %9.4f %8.3f %8.3f %s\n", t, m, r, b, n, g, g/b, g/n, c}'
	done
done

printf '\n%-12s %6s %11s %11s %11s %s\n' python rounds base_cpu_s gc_cpu_s us/collect collections
for py in "${PYS[@]}"; do
	tag=$(basename "$py").collect
	b=$(median "$TMP/$tag.base.cpu")
	g=$(median "$TMP/$tag.gc.cpu")
	awk -v t="$(basename "$py")" -v r="$ROUNDS" -v b="$b" -v g="$g" -v n="$COLLECTS" \
		'BEGIN {printf "%-12s %6d %11.4f %11.4f %11.2f %d\n", t, r, b, g, (g-b)/n*1e6, n}'
done

if [ -n "${BCC_KERNEL_SOURCE:-}" ]; then
	printf '\n%-12s %-5s %6s %9s %9s %8s %s\n' python time rounds base_s ugc_s ugc/base note
	for m in cpu wall; do
		b=$(median "$TMP/python3.11.base.$m")
		u=$(median "$TMP/python3.11.ugc.$m")
		awk -v m="$m" -v r="$ROUNDS" -v b="$b" -v u="$u" \
			'BEGIN {printf "%-12s %-5s %6d %9.4f %9.4f %8.3f %s\n", "python3.11", m, r, b, u, u/b, "bcc ugc (USDT)"}'
	done
fi
