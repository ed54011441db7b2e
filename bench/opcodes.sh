#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/opcodes.sh (issue 13): what opcode attribution costs pyhound per sample. Attribution is
# the bytecode of each leaf frame's code object read from the target (on first use; 3.11+ again
# after a second, as it keeps specialising) and one forward decode to the sampled instruction.
#
# BUSY CPU-bound processes (default 4: bench/workloads/prof_calls.py, half on pyenv 3.12, half on
# 3.9, which read co_code apart from the code object) run throughout. Per round, in alternating
# order, `pyhound record -F 999 -d WINDOW -o /dev/null --format collapsed -v` with opcode
# attribution (the default), with PYHOUND_SAMPLER_NO_OPS=1 (none), and with
# PYHOUND_SAMPLER_TIME_OPS=1 (each attribution timed with CLOCK_MONOTONIC, mean printed by -v);
# /usr/bin/time gives pyhound's user+sys CPU for its whole life, -v the samples delivered. Per
# run: CPU us per sample; medians over the rounds, side by side, the paired difference, and
# the timed attribution's mean.
#
# Usage: bench/opcodes.sh [ROUNDS | PYHOUND]   (default 5 rounds; root; build/pyhound built)
# Environment: PYHOUND, PY39, PY312, BUSY, WINDOW (seconds, default 10), OUT (default
#   /var/tmp/pyhound-bench2/opcodes-TS). Output: $OUT/runs.tsv and $OUT/summary.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ROUNDS=5
case ${1:-} in # bench/run.sh passes the pyhound binary
[0-9]*) ROUNDS=$1 ;;
?*) PYHOUND=$1 ;;
esac
PYHOUND=${PYHOUND:-$ROOT/build/pyhound}
PY39=${PY39:-/root/.pyenv/versions/3.9.18/bin/python3.9}
PY312=${PY312:-/root/.pyenv/versions/3.12.1/bin/python3.12}
BUSY=${BUSY:-4}
WINDOW=${WINDOW:-10}
OUT=${OUT:-/var/tmp/pyhound-bench2/opcodes-$(date -u +%Y%m%dT%H%M%S)}

[ "$(id -u)" = 0 ] || { echo "opcodes.sh: needs root" >&2; exit 1; }
[ -x "$PYHOUND" ] || { echo "opcodes.sh: $PYHOUND not built (make)" >&2; exit 1; }
mkdir -p "$OUT"

BG=()
cleanup() {
	local p
	for p in "${BG[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

for ((i = 0; i < BUSY; i++)); do
	py=$PY312
	((i % 2)) && py=$PY39
	"$py" "$HERE/workloads/prof_calls.py" 1000000000 >/dev/null &
	BG+=($!)
done
sleep 1

run() { # MODE ROUND
	local env=() err=$OUT/run-$1-$2.err
	[ "$1" = none ] && env=(PYHOUND_SAMPLER_NO_OPS=1)
	[ "$1" = timed ] && env=(PYHOUND_SAMPLER_TIME_OPS=1)
	env "${env[@]}" /usr/bin/time -f "time %U %S" "$PYHOUND" record -F 999 -d "$WINDOW" \
		-o /dev/null --format collapsed -v 2>"$err"
	awk -v mode="$1" -v round="$2" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
		/^time / { cpu = $2 + $3 }
		/delivered=/ { for (i = 1; i <= NF; i++) if ($i ~ /^delivered=/) { sub(/.*=/, "", $i); n = $i } }
		/opcode attribution: / { op = $(NF - 4) }
		END { printf "%s\t%s\t%.2f\t%d\t%.2f\t%s\t%s\n", round, mode, cpu, n, n ? cpu * 1e6 / n : 0, load, op ? op : "-" }' "$err"
}

printf "round\tmode\tcpu_s\tsamples\tcpu_us_per_sample\tload1\tattribution_us\n" >"$OUT/runs.tsv"
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then order=(ops none timed); else order=(timed none ops); fi
	for m in "${order[@]}"; do
		run "$m" "$r" | tee -a "$OUT/runs.tsv"
	done
done

python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/runs.tsv"), delimiter="\t"))
med = {}
for m in ("ops", "none"):
    v = [float(r["cpu_us_per_sample"]) for r in rows if r["mode"] == m]
    s = [int(r["samples"]) for r in rows if r["mode"] == m]
    med[m] = (statistics.median(v), min(v), max(v), statistics.median(s))
print("| opcode attribution | CPU us per sample, median [min-max] | samples per run (median) |")
print("|---|---|---|")
for m, label in (("ops", "on (default)"), ("none", "off (PYHOUND_SAMPLER_NO_OPS=1)")):
    md, lo, hi, s = med[m]
    print("| %s | %.1f [%.1f-%.1f] | %d |" % (label, md, lo, hi, s))
pairs = {}
for r in rows:
    pairs.setdefault(r["round"], {})[r["mode"]] = float(r["cpu_us_per_sample"])
d = [p["ops"] - p["none"] for p in pairs.values() if "ops" in p and "none" in p]
print("\nPaired difference (on - off, same round): median %.1f us per sample [%.1f to %.1f], %d rounds"
      % (statistics.median(d), min(d), max(d), len(d)))
t = [float(r["attribution_us"]) for r in rows if r["mode"] == "timed" and r["attribution_us"] != "-"]
if t:
    print("Attribution timed inside pyhound (bytecode read when due + decode), mean per sample: "
          "median %.2f us [%.2f-%.2f] over %d runs" % (statistics.median(t), min(t), max(t), len(t)))
PY
