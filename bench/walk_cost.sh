#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/walk_cost.sh (issue 10): the stack walker's BPF cost per sample on CPython 3.15 and 3.14
# (Debian sid, chrooted) next to 3.12 (pyenv), from the same run, interleaved per round.
# Per (interpreter, depth, round): bench/workloads/depth_spin.py DEPTH 6 (a stack of DEPTH
# Python frames, spinning), `pyhound record -F 999 -d 10 --pid P -v`; the kernel's run-time
# statistics of that pyhound's sample_cpu program (found among its own file descriptors;
# BPF_ENABLE_STATS held by a python helper for the run), totals from its load to ~4 s later,
# when pyhound is stopped (SIGINT) so that its sample count covers the same span: ns per invocation (every CPU-clock tick of every process, most return at once)
# and ns per sample sent (all that time divided by the samples: an upper bound of a walk).
# Usage: bench/walk_cost.sh [ROUNDS] (default 5; root). Output: $OUT/runs.tsv, summary on stdout.
set -euo pipefail
ROUNDS=${1:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PYHOUND=${PYHOUND:-$ROOT/build/pyhound}
SID=${PYHOUND_SID_ROOT:-/var/cache/pyhound-test/sid}
PY312=${PY312:-/root/.pyenv/versions/3.12.1/bin/python3.12}
OUT=${OUT:-/var/tmp/pyhound-bench-walk-$(date -u +%Y%m%dT%H%M%S)}
WL=$HERE/workloads/depth_spin.py
mkdir -p "$OUT" "$SID$HERE/workloads"
cp "$WL" "$SID$WL"
[ "$(id -u)" = 0 ] || { echo "walk_cost.sh: needs root" >&2; exit 1; }

prog_stats() { bpftool prog show id "$1" --json | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p.get("run_time_ns",0), p.get("run_cnt",0))'; }

# hold BPF run-time statistics on for the whole run (released when the helper exits)
python3 - <<'PY' &
import ctypes, os, signal, time
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint8 * 128)()
ctypes.c_uint32.from_buffer(attr, 0).value = 0  # BPF_STATS_RUN_TIME
fd = libc.syscall(321, 32, attr, 128)            # bpf(BPF_ENABLE_STATS)
if fd < 0:
    raise SystemExit("BPF_ENABLE_STATS failed: errno %d" % ctypes.get_errno())
time.sleep(3600)
PY
STATS=$!
trap 'kill $STATS 2>/dev/null || true' EXIT
sleep 0.5

printf "python\tdepth\tround\tsamples\tinvocations\trun_ns\tns_per_invocation\tns_per_sample\n" >"$OUT/runs.tsv"
for r in $(seq 1 "$ROUNDS"); do
	for depth in 10 100; do
		for py in 3.12 3.14 3.15; do
			case $py in
			3.12) "$PY312" "$WL" "$depth" 14 & ;;
			*) chroot "$SID" /usr/bin/python$py "$WL" "$depth" 14 & ;;
			esac
			P=$!
			for _ in $(seq 100); do # until it runs python (exec'd) and has started
				case "$(readlink /proc/$P/exe 2>/dev/null)" in *python3*) break ;; esac
				sleep 0.05
			done
			sleep 0.3
			"$PYHOUND" record -F 999 -d 10 --pid "$P" -v -o /dev/null --format collapsed \
				2>"$OUT/rec.err" &
			R=$!
			new=""
			for _ in $(seq 100); do # our pyhound's sample_cpu, from its own fds
				ids=$(cat /proc/$R/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:\s*//p' | sort -u | tr '\n' ' ')
				[ -n "$ids" ] && new=$(bpftool prog show --json | python3 -c 'import json,sys; ids=set(map(int,sys.argv[1].split())); print(" ".join(str(p["id"]) for p in json.load(sys.stdin) if p["id"] in ids and p["name"]=="sample_cpu"))' "$ids")
				[ -n "$new" ] && break
				sleep 0.05
			done
			[ -n "$new" ] || { echo "walk_cost.sh: no sample_cpu program for pyhound $R" >&2; exit 1; }
			sleep 4
			# totals since load, read right before stopping pyhound, so that its sample
			# count covers the same span
			read -r t c < <(prog_stats "$new")
			kill -INT $R 2>/dev/null || true
			wait $R || true
			kill $P 2>/dev/null || true
			wait $P 2>/dev/null || true
			samples=$(grep -o "samples=[0-9]*" "$OUT/rec.err" | head -1 | cut -d= -f2)
			printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$py" "$depth" "$r" "$samples" "$c" "$t" \
				"$((c ? t / c : 0))" "$((samples ? t / samples : 0))" >>"$OUT/runs.tsv"
		done
	done
done
python3 - "$OUT/runs.tsv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = {}
for depth in ("10", "100"):
    for py in ("3.12", "3.14", "3.15"):
        v = [int(r["ns_per_sample"]) for r in rows if r["python"] == py and r["depth"] == depth]
        i = [int(r["ns_per_invocation"]) for r in rows if r["python"] == py and r["depth"] == depth]
        med[(py, depth)] = statistics.median(v)
        print("depth %-3s %s: median %6d ns per sample sent (%d runs, %s), %d ns per invocation"
              % (depth, py, med[(py, depth)], len(v), " ".join(map(str, v)), statistics.median(i)))
    for py in ("3.14", "3.15"):
        print("depth %-3s %s / 3.12: %.2f" % (depth, py, med[(py, depth)] / med[("3.12", depth)]))
PY
echo "runs: $OUT/runs.tsv"
