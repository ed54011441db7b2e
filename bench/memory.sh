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
# The workload's own page faults (getrusage) over its CPU time give the fault rate, which times
# the per-fault cost is the collector's share.
#
# Usage: bench/memory.sh [PYHOUND] [ROUNDS] [N] [MODE]
#   (root; defaults build/pyhound 5 100 mixed; MODE pages: mem_alloc.py's page-fault-only loop)
#   STATS=0 runs without the kernel's BPF statistics (their cost is not in the ratios; bpf/cpu
#   then reads 0).
#   OTHER=path/to/another/pyhound adds its two conditions, "o-untracked" and "o-tracked" (e.g.
#   an older build), alternating with the others in each round.
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
# STATS=0: leave the statistics off, so the ratios are free of their own cost (two clock reads
# per program run, ~40 ns here, about what a page-fault program's own work takes)
[ "${STATS:-1}" = 0 ] || sysctl -qw kernel.bpf_stats_enabled=1

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
	local log=$TMP/tr.err pid bin=$PYHOUND
	: >"$log"
	case $1 in
	base) TP= ; return 0 ;;
	untracked) pid=$IDLE ;;
	tracked) pid=$WPID ;;
	o-untracked) pid=$IDLE bin=$OTHER ;;
	o-tracked) pid=$WPID bin=$OTHER ;;
	esac
	"$bin" record --mode memory --pid "$pid" --duration 600 -o "$TMP/m.collapsed" -v \
		2>"$log" &
	TP=$!
	until grep -q "recording the resident memory" "$log" 2>/dev/null; do
		kill -0 "$TP" 2>/dev/null || { echo "$1 failed: $(tail -3 "$log")" >&2; exit 1; }
		sleep 0.05
	done
}

CONDS=(base untracked tracked ${OTHER:+o-untracked o-tracked})
for py in "${PYS[@]}"; do
	"$py" bench/mem_alloc.py 10 >/dev/null # warm caches
	for r in $(seq "$ROUNDS"); do
		# the order rotates by one condition each round
		set -- "${CONDS[@]:r%${#CONDS[@]}}" "${CONDS[@]:0:r%${#CONDS[@]}}"
		for c in "$@"; do
			start_workload "$py" bench/mem_alloc.py wait "$N" "$MODE"
			until [ -n "$WPID" ]; do # "ready" seen before its PID was
				sleep 0.02
				WPID=$(awk '/ready/ {print $2}' "$TMP/last")
			done
			start_tracer "$c"
			finish_workload "$(basename "$py").$c"
			awk '/^[0-9]/ {print $4 / $2}' "$TMP/last" >>"$TMP/$(basename "$py").$c.fps"
			stop_tracer
			if [ "$c" != base ]; then
				read -r ns per <<<"$(bpf_ns)"
				ns=${ns:-0}
				cpu=$(tail -1 "$TMP/$(basename "$py").$c.cpu")
				awk -v ns="$ns" -v c="$cpu" 'BEGIN {print ns / (c * 1e9)}' \
					>>"$TMP/$(basename "$py").$c.bpfshare"
				echo "$per" >>"$TMP/$(basename "$py").$c.per"
			fi
			if [ "$c" = tracked ] || [ "$c" = o-tracked ]; then
				grep -o 'growth_samples=[0-9]*' "$TMP/tr.err" >>"$TMP/$(basename "$py").$c.samples" || true
			fi
		done
	done
done

printf '%-11s %-11s %-4s %6s %9s %9s %7s %9s\n' python cond time rounds median_s base_s ratio bpf/cpu
for py in "${PYS[@]}"; do
	tag=$(basename "$py")
	echo "  page faults per CPU second (base): $(median "$TMP/$tag.base.fps")"
	for c in "${CONDS[@]:1}"; do
		for m in cpu wall; do
			b=$(median "$TMP/$tag.base.$m")
			v=$(median "$TMP/$tag.$c.$m")
			bs=$(median "$TMP/$tag.$c.bpfshare")
			awk -v t="$tag" -v c="$c" -v m="$m" -v r="$ROUNDS" -v b="$b" -v v="$v" \
				-v s="$bs" 'BEGIN {
				printf "%-11s %-11s %-4s %6d %9.4f %9.4f %7.3f %8.2f%%\n", t, c, m, r, v,
					b, v / b, 100 * s}'
		done
	done
	echo "  growth samples per tracked run: $(tr '\n' ' ' <"$TMP/$tag.tracked.samples")"
	echo "  BPF ns/runs of the last tracked run: $(tail -1 "$TMP/$tag.tracked.per")"
	echo "  BPF ns/runs of the last untracked run: $(tail -1 "$TMP/$tag.untracked.per")"
	if [ -n "${OTHER:-}" ]; then
		echo "  OTHER: BPF ns/runs of the last tracked run: $(tail -1 "$TMP/$tag.o-tracked.per")"
		echo "  OTHER: BPF ns/runs of the last untracked run: $(tail -1 "$TMP/$tag.o-untracked.per")"
	fi
done
