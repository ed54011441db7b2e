#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What the memory collector (`record --mode memory`, the report's growth stacks, serve's
# pyhound_memory_growth_bytes_total) costs the process it watches, on its worst case: an
# allocation loop that makes ~10 MiB resident and frees it every iteration, so every page is
# faulted in again (bench/mem_alloc.py). Three conditions, alternating within each round (order
# rotated): "base" (no tracer), "untracked" (`record --mode memory` following another process:
# this one pays only the filters, one per page fault) and "tracked" (`record --mode memory
# --pid P`: every page fault of it counted, a stack walked per ~256 KiB of growth). Medians of
# the workload's own CPU and wall time, and the ratio to base. Debian's 3.11 and a pyenv 3.12.
# The kernel's BPF run-time statistics (kernel.bpf_stats_enabled, restored at the end) give the
# collector's own time per run beside them: its programs' run time over the workload's CPU time
# is the slowdown without the noise of a shared host (it leaves out the cache effects).
#
# Usage: bench/memory.sh [PYHOUND] [ROUNDS] [N] [MODE]
#   (root; defaults build/pyhound 5 100 mixed; MODE pages: mem_alloc.py's page-fault-only loop)
set -euo pipefail
cd "$(dirname "$0")/.."
PYHOUND=${1:-build/pyhound}
ROUNDS=${2:-5}
N=${3:-100}
MODE=${4:-mixed}
# pages: a fixed mmap threshold, so glibc maps and unmaps each buffer (no reuse)
[ "$MODE" = pages ] && export MALLOC_MMAP_THRESHOLD_=131072
PYENV_ROOT=${PYENV_ROOT:-/root/.pyenv}
PYS=(/usr/bin/python3.11 $(ls -d "$PYENV_ROOT"/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1))
TMP=$(mktemp -d)
IDLE=
trap 'rm -rf "$TMP"; [ -n "$IDLE" ] && kill "$IDLE" 2>/dev/null; true' EXIT
. bench/lib/workload.sh

/usr/bin/python3.11 -c 'import time; time.sleep(100000)' &
IDLE=$!
STATS0=$(sysctl -n kernel.bpf_stats_enabled)
trap 'rm -rf "$TMP"; [ -n "$IDLE" ] && kill "$IDLE" 2>/dev/null; sysctl -qw kernel.bpf_stats_enabled="$STATS0"; true' EXIT
sysctl -qw kernel.bpf_stats_enabled=1

bpf_ns() { # the tracer's memory programs' run time (its -v line at exit): "ns per-program"
	awk '/memory collector BPF run time:/ {
		t = 0; per = ""
		for (i = 7; i <= NF; i++) {
			if (match($i, /=[0-9]+ns/)) t += substr($i, RSTART + 1, RLENGTH - 3)
			per = per " " $i
		}
		print t, per }' "$TMP/tr.err"
}

start_tracer() { # condition
	local log=$TMP/tr.err pid
	: >"$log"
	case $1 in
	base) TP= ; return 0 ;;
	untracked) pid=$IDLE ;;
	tracked) pid=$WPID ;;
	esac
	"$PYHOUND" record --mode memory --pid "$pid" --duration 600 -o "$TMP/m.collapsed" -v \
		2>"$log" &
	TP=$!
	until grep -q "recording the resident memory" "$log" 2>/dev/null; do
		kill -0 "$TP" 2>/dev/null || { echo "$1 failed: $(tail -3 "$log")" >&2; exit 1; }
		sleep 0.05
	done
}

for py in "${PYS[@]}"; do
	"$py" bench/mem_alloc.py 10 >/dev/null # warm caches
	for r in $(seq "$ROUNDS"); do
		case $((r % 3)) in
		0) set -- base untracked tracked ;;
		1) set -- tracked base untracked ;;
		2) set -- untracked tracked base ;;
		esac
		for c in "$@"; do
			start_workload "$py" bench/mem_alloc.py wait "$N" "$MODE"
			until [ -n "$WPID" ]; do # "ready" seen before its PID was
				sleep 0.02
				WPID=$(awk '/ready/ {print $2}' "$TMP/last")
			done
			start_tracer "$c"
			finish_workload "$(basename "$py").$c"
			stop_tracer
			if [ "$c" != base ]; then
				read -r ns per <<<"$(bpf_ns)"
				cpu=$(tail -1 "$TMP/$(basename "$py").$c.cpu")
				awk -v ns="$ns" -v c="$cpu" 'BEGIN {print ns / (c * 1e9)}' \
					>>"$TMP/$(basename "$py").$c.bpfshare"
				echo "$per" >>"$TMP/$(basename "$py").$c.per"
			fi
			if [ "$c" = tracked ]; then
				grep -o 'growth_samples=[0-9]*' "$TMP/tr.err" >>"$TMP/$(basename "$py").samples" || true
			fi
		done
	done
done

printf '%-11s %-9s %-4s %6s %9s %9s %7s %9s\n' python cond time rounds median_s base_s ratio bpf/cpu
for py in "${PYS[@]}"; do
	tag=$(basename "$py")
	for c in untracked tracked; do
		for m in cpu wall; do
			b=$(median "$TMP/$tag.base.$m")
			v=$(median "$TMP/$tag.$c.$m")
			bs=$(median "$TMP/$tag.$c.bpfshare")
			awk -v t="$tag" -v c="$c" -v m="$m" -v r="$ROUNDS" -v b="$b" -v v="$v" \
				-v s="$bs" 'BEGIN {
				printf "%-11s %-9s %-4s %6d %9.4f %9.4f %7.3f %8.2f%%\n", t, c, m, r, v,
					b, v / b, 100 * s}'
		done
	done
	echo "  growth samples per tracked run: $(tr '\n' ' ' <"$TMP/$tag.samples")"
	echo "  BPF ns/runs of the last tracked run: $(tail -1 "$TMP/$tag.tracked.per")"
	echo "  BPF ns/runs of the last untracked run: $(tail -1 "$TMP/$tag.untracked.per")"
done
