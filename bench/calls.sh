#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `pyhound calls` overhead: run a call-heavy workload (bench/calls_heavy.py: N calls of a trivial
# function) with no tracer ("base") and with `pyhound calls --pid P --budget 1|10|100`
# ("b1", "b10", "b100"; "b100c": --budget 100 --counts-only), alternating conditions within each round (order rotated per round), on
# Debian's python3.11 and a pyenv 3.12 (uprobes
# on the RESUME and RETURN opcode handlers: 2 hits per call). Reports the median of the
# workload's own CPU time (user + system, where probe costs land) and wall time per condition,
# their ratios to base, and the cost per probed call: (b100 CPU - base CPU) / N.
#
# With BCC_KERNEL_SOURCE set to a kernel header tree (see /work/shared/notes/peer-tools-here.md),
# Debian's python3.11 also runs under bcc's `ucalls -l python PID` (counts, USDT entry) and
# `ucalls -L -l python PID` (latency: USDT entry + return).
#
# Also sid's python3.15 (SID_PY) chrooted from the sid root when it is there; ONLY="python3.12
# python3.15" keeps those.
# Usage: bench/calls.sh [PYHOUND] [ROUNDS] [N]   (root; defaults build/pyhound 3 4000000)
#        CONDS="base b1 b10" bench/calls.sh ...  runs only those conditions (base is required)
set -euo pipefail
cd "$(dirname "$0")/.."
PYHOUND=${1:-build/pyhound}
ROUNDS=${2:-3}
N=${3:-4000000}
PYENV_ROOT=${PYENV_ROOT:-/root/.pyenv}
PYS=(/usr/bin/python3.11 $(ls -d "$PYENV_ROOT"/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1))
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; [ -n "${SIDW:-}" ] && rm -f "$SID/tmp/pyhound-bench-calls_heavy.py"; true' EXIT
# Debian sid's release build of SID_PY (default 3.15) in the sid root (`make sid-root`), run
# chrooted as a container would run it, through a wrapper named after it: stripped, its
# handler table found by decoding (2 probe hits per call, as the uprobes on 3.12)
SID=${PYHOUND_SID_ROOT:-/var/cache/pyhound-test/sid}
SID_PY=${SID_PY:-3.15}
if [ -x "$SID/usr/bin/python$SID_PY" ]; then
	SIDW=$TMP/sid/python$SID_PY
	mkdir -p "$TMP/sid"
	cp bench/calls_heavy.py "$SID/tmp/pyhound-bench-calls_heavy.py"
	printf '#!/bin/sh\nshift\nexec chroot "%s" /usr/bin/python%s /tmp/pyhound-bench-calls_heavy.py "$@"\n' \
		"$SID" "$SID_PY" >"$SIDW"
	chmod +x "$SIDW"
	PYS+=("$SIDW")
fi
# ONLY="python3.12 python3.15": those interpreters only (by file name)
if [ -n "${ONLY:-}" ]; then
	keep=()
	for py in "${PYS[@]}"; do [[ " $ONLY " == *" $(basename "$py") "* ]] && keep+=("$py"); done
	PYS=("${keep[@]}")
fi

# The workload prints "ready <pid>" and waits on a FIFO; the tracer attaches to that PID; then
# the workload is told to go.
. bench/lib/workload.sh

start_tracer() { # condition
	local log=$TMP/tr.err
	: >"$log"
	case $1 in
	base) TP= ; return 0 ;;
	b1) "$PYHOUND" calls --pid "$WPID" --budget 1 --duration 600 >"$TMP/tr.out" 2>"$log" & ;;
	b10) "$PYHOUND" calls --pid "$WPID" --budget 10 --duration 600 >"$TMP/tr.out" 2>"$log" & ;;
	b100) "$PYHOUND" calls --pid "$WPID" --budget 100 --duration 600 >"$TMP/tr.out" 2>"$log" & ;;
	b100c) "$PYHOUND" calls --pid "$WPID" --budget 100 --counts-only --duration 600 \
		>"$TMP/tr.out" 2>"$log" & ;;
	ucalls) /usr/bin/python3 /usr/sbin/ucalls -l python "$WPID" >"$log" 2>&1 & ;;
	ucallsL) /usr/bin/python3 /usr/sbin/ucalls -L -l python "$WPID" >"$log" 2>&1 & ;;
	esac
	TP=$!
	until grep -qE "counting calls|Tracing" "$log" 2>/dev/null; do
		kill -0 "$TP" 2>/dev/null || { echo "$1 failed: $(tail -3 "$log")" >&2; exit 1; }
		sleep 0.05
	done
}



for py in "${PYS[@]}"; do
	conds=${CONDS:-base b1 b10 b100 b100c}
	if [ -z "${CONDS:-}" ] && [ -n "${BCC_KERNEL_SOURCE:-}" ] && [ "$py" = /usr/bin/python3.11 ]; then
		conds="$conds ucalls ucallsL"
	fi
	"$py" bench/calls_heavy.py "$N" >/dev/null # warm caches
	for r in $(seq "$ROUNDS"); do
		# rotate the order each round so no condition always runs first
		set -- $conds
		for _ in $(seq $((r - 1))); do set -- "${@:2}" "$1"; done
		for c in "$@"; do
			start_workload "$py" bench/calls_heavy.py wait "$N"
			start_tracer "$c"
			finish_workload "$(basename "$py").$c"
			stop_tracer
			# pyhound's own account of its probes' cost (hits x measured cost per hit)
			if [ "${c#b[0-9]}" != "$c" ] && [ -s "$TMP/tr.out" ]; then
				sed -n 's/.*s, \([0-9.]*\)% of the time.*/\1/p' "$TMP/tr.out" \
					>>"$TMP/$(basename "$py").$c.model"
			fi
			rm -f "$TMP/tr.out"
		done
	done
done

printf '%-11s %-8s %-4s %6s %9s %9s %8s %12s\n' python cond time rounds median_s base_s ratio ns/probed-call
for py in "${PYS[@]}"; do
	tag=$(basename "$py")
	hits=2 # RESUME+RETURN uprobes everywhere (Debian's 3.11 too, since its USDT needs --usdt)
	for f in "$TMP/$tag".*.cpu; do
		c=$(basename "$f" .cpu)
		c=${c#"$tag".}
		for m in cpu wall; do
			b=$(median "$TMP/$tag.base.$m")
			v=$(median "$TMP/$tag.$c.$m")
			awk -v t="$tag" -v c="$c" -v m="$m" -v r="$ROUNDS" -v b="$b" -v v="$v" -v n="$N" \
				-v h="$hits" 'BEGIN {
				hh = (c == "b100c" && h == 2) ? 1 : h
				pc = ((c == "b100" || c == "b100c") && m == "cpu") ? \
					sprintf("%.0f", (v - b) / (n * hh) * 1e9) : "-"
				printf "%-11s %-8s %-4s %6d %9.4f %9.4f %8.2f %12s\n", t, c, m, r, v, b, v / b, pc}'
		done
	done
done
echo
echo "modelled probe cost (pyhound's 'probe hits: ... P% of the time'), median of the rounds:"
for f in "$TMP"/*.model; do
	[ -s "$f" ] || continue
	printf '  %-20s %s%%\n' "$(basename "$f" .model)" "$(median "$f")"
done
echo "N=$N calls per run; ns/probed-call = (b100 CPU - base CPU) / (N x probe hits per call:" \
	"2 for the RESUME+RETURN uprobes every interpreter here gets)"
