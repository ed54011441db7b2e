#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/args.sh (issue 13): what argument sampling costs. It has two parts: in BPF, the CPU
# sampler copies the leaf frame's first 4 argument slots and co_argcount into each sample (two
# bpf_probe_read_user, 40 bytes more per record); in pyhound, each such sample's arguments are
# read from the target with process_vm_readv (one read per field: type, size, value) and hashed.
#
# BUSY processes (default 2: tests/workloads/patterns.py args bad, a hot function with two
# decodable arguments, so nearly every sample is decoded: the worst case; half on pyenv 3.12,
# half on 3.9) run throughout. Per round, in alternating order, `pyhound record -F 999 -v` with
# argument sampling (default), with PYHOUND_SAMPLER_NO_ARGS=1 (none: neither part), and with
# PYHOUND_SAMPLER_TIME_ARGS=1 (each decoding timed with CLOCK_MONOTONIC, mean printed by -v).
# Per run, over WINDOW seconds: the kernel's run-time statistics of that pyhound's sample_cpu
# program (BPF_ENABLE_STATS held for the run; ns per sample sent), and pyhound's own user+sys
# CPU (/proc/PID/stat) per sample delivered. Medians over the rounds, side by side.
#
# Usage: bench/args.sh [ROUNDS]   (default 5; root; build/pyhound built)
# Environment: PYHOUND, PY39, PY312, BUSY, WINDOW (seconds, default 8), OUT. The summary alone:
#   python3 bench/lib/args_summary.py OUT
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ROUNDS=${1:-5}
PYHOUND=${PYHOUND:-$ROOT/build/pyhound}
PY39=${PY39:-/root/.pyenv/versions/3.9.18/bin/python3.9}
PY312=${PY312:-/root/.pyenv/versions/3.12.1/bin/python3.12}
BUSY=${BUSY:-2}
WINDOW=${WINDOW:-8}
OUT=${OUT:-/var/tmp/pyhound-bench2/args-$(date -u +%Y%m%dT%H%M%S)}
TCK=$(getconf CLK_TCK)

[ "$(id -u)" = 0 ] || { echo "args.sh: needs root" >&2; exit 1; }
[ -x "$PYHOUND" ] || { echo "args.sh: $PYHOUND not built (make)" >&2; exit 1; }
mkdir -p "$OUT"

BG=()
cleanup() {
	local p
	for p in "${BG[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# hold BPF run-time statistics on for the whole run (released when the helper exits)
python3 - <<'PY' &
import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint8 * 128)()
fd = libc.syscall(321, 32, attr, 128)  # bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME)
if fd < 0:
    raise SystemExit("BPF_ENABLE_STATS failed: errno %d" % ctypes.get_errno())
time.sleep(3600)
PY
BG+=($!)

for ((i = 0; i < BUSY; i++)); do
	py=$PY312
	((i % 2)) && py=$PY39
	"$py" "$ROOT/tests/workloads/patterns.py" args bad 100000 >/dev/null 2>&1 &
	BG+=($!)
done
sleep 1

prog_stats() { bpftool prog show id "$1" --json 2>/dev/null | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p.get("run_time_ns",0), p.get("run_cnt",0))' 2>/dev/null || echo "0 0"; }

run() { # MODE ROUND
	local env=() err=$OUT/run-$1-$2.err R ids prog="" t c cpu
	[ "$1" = off ] && env=(PYHOUND_SAMPLER_NO_ARGS=1)
	[ "$1" = timed ] && env=(PYHOUND_SAMPLER_TIME_ARGS=1)
	env "${env[@]}" "$PYHOUND" record -F 999 -d 600 -o /dev/null --format collapsed -v \
		2>"$err" &
	R=$!
	for _ in $(seq 200); do # our pyhound's sample_cpu, from its own fds
		ids=$(cat /proc/$R/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:\s*//p' | sort -u | tr '\n' ' ')
		[ -n "$ids" ] && prog=$(bpftool prog show --json | python3 -c 'import json,sys; ids=set(map(int,sys.argv[1].split())); print(" ".join(str(p["id"]) for p in json.load(sys.stdin) if p["id"] in ids and p["name"]=="sample_cpu"))' "$ids")
		[ -n "$prog" ] && break
		sleep 0.05
	done
	[ -n "$prog" ] || { echo "args.sh: no sample_cpu program for pyhound $R" >&2; kill -INT $R; wait $R || true; return 0; }
	sleep "$WINDOW"
	read -r t c < <(prog_stats "$prog") || { t=0; c=0; }
	cpu=$(awk -v tck="$TCK" '{ print ($14 + $15) / tck }' /proc/$R/stat 2>/dev/null || echo 0)
	kill -INT $R
	wait $R || true
	awk -v mode="$1" -v round="$2" -v t="$t" -v cpu="$cpu" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
		/delivered=/ { for (i = 1; i <= NF; i++) if ($i ~ /^delivered=/) { sub(/.*=/, "", $i); n = $i } }
		/argument sampling: / { dec = $6 }
		/argument decoding: / { us = $(NF - 4) }
		END { printf "%s\t%s\t%d\t%s\t%.0f\t%.2f\t%s\t%s\t%s\n", round, mode, n, dec ? dec : "-",
		      n ? t / n : 0, n ? cpu * 1e6 / n : 0, load, us ? us : "-", t }' "$err"
}

printf "round\tmode\tsamples\tdecoded\tbpf_ns_per_sample\tcpu_us_per_sample\tload1\tdecode_us\tbpf_ns\n" >"$OUT/runs.tsv"
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then order=(on off timed); else order=(timed off on); fi
	for m in "${order[@]}"; do
		run "$m" "$r" | tee -a "$OUT/runs.tsv"
	done
done

python3 "$HERE/lib/args_summary.py" "$OUT" | tee "$OUT/summary.md"
