#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/wall.sh (issue 11): what unaliased sampling and the wall/GIL modes cost.
#
# Part A, thinning: pyhound record -F 99 for WINDOW s with one busy python3.12, default
# (event at 8 x 99 Hz, 1 tick in 8 kept, periods jittered) and PYHOUND_SAMPLER_OVERSAMPLE=1
# PYHOUND_SAMPLER_FIXED=1 (the sampler of old: 99 Hz, every tick kept). BPF run time of the
# perf-event program from the kernel's statistics (kernel.bpf_stats_enabled, on for part A
# only and restored): ticks, ns per tick, BPF CPU per second; thinned ticks and kept samples
# from -v; pyhound's own CPU (/proc utime+stime).
#
# Part B, wall mode: PROCS processes of 8 threads (bench/workloads/threads8.py: one thread
# runs a fixed integer loop, 7 sleep 20 ms at a time), per round interleaving no pyhound,
# record --mode cpu, --mode wall, --mode gil (all -F 99); each process's loop time, pyhound's
# CPU over the run, the wall sampler's run count and mean run time (-v).
#
# Part C, the walk's cost, two builds side by side: BEFORE and AFTER (pyhound binaries; AFTER
# defaults to PYHOUND) on CPROCS processes of 8 threads sleeping DEPTH Python frames deep
# (bench/workloads/deep_sleepers.py), for each depth in DEPTHS: record --mode wall -F 99 -d 5
# --pid ... -v, the builds alternating, ROUNDS times; per run of the wall sampler (the task
# iterator over every task on the host) its mean time, and per thread sample (mean run time x
# runs / samples). Medians of the rounds. The per-frame cost is the slope between two depths.
#
# Part D, per-process iterators: NPROCS (default "1 4 12") sleeping single-threaded processes,
# record --mode wall -F 99 -d 3 --pid ... -v with BEFORE and AFTER alternating, ROUNDS times:
# the median run time, and the host's thread count (/proc/loadavg) that decides whether AFTER
# iterates per process (processes x 32 <= threads) or over every task.
#
# Part E, a peer's picture for the records: tests/workloads/wall_threads.py (three spinning
# threads, a sleeper, a pipe reader, a Lock waiter; the main thread waits on an Event) on pyenv
# 3.9 (the newest CPython Debian's austin 1.0.1 can read), watched for ESECS seconds (default 8)
# at once by `pyhound record --mode wall -F 99` and by `austin -i 10000 -p PID` (wall time, idle
# threads included: Debian package austin). Per thread role, its share of each tool's samples
# (austin: of its sampled time) and, for pyhound, what the samples end in; ROUNDS rounds.
#
# Usage: bench/wall.sh [ROUNDS]   (default 3; root; build/pyhound built)
# Environment: PYHOUND, PY (default pyenv 3.12), WINDOW (part A seconds, default 10), PROCS
#   (default 20), ITER (loop iterations, default 3000000), PARTS ("A B"; "C" needs BEFORE; "E"),
#   BEFORE, AFTER, CPROCS (default 4), DEPTHS (default "4 64"), ESECS, PY39, OUT. Rounds are the
#   argument:
#   PARTS=C BEFORE=/tmp/old-pyhound bench/wall.sh 5
set -euo pipefail

ROUNDS=${1:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PYHOUND=${PYHOUND:-$ROOT/build/pyhound}
PY=${PY:-$(ls -d /root/.pyenv/versions/3.12.*/bin/python3.12 | tail -1)}
WINDOW=${WINDOW:-10}
PROCS=${PROCS:-20}
ITER=${ITER:-3000000}
PARTS=${PARTS:-A B}
OUT=${OUT:-/var/tmp/pyhound-bench2/wall-$(date -u +%Y%m%dT%H%M%S)}
TICK=$(getconf CLK_TCK)

[ "$(id -u)" = 0 ] || { echo "wall.sh: needs root" >&2; exit 1; }
[ -x "$PYHOUND" ] || { echo "wall.sh: $PYHOUND not built (make)" >&2; exit 1; }
mkdir -p "$OUT"
BG=()
STATS0=$(cat /proc/sys/kernel/bpf_stats_enabled)
cleanup() {
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
	echo "$STATS0" >/proc/sys/kernel/bpf_stats_enabled
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# "run_cnt run_time_ns" of the BPF program NAME loaded by process PID (other pyhounds may run)
prog_stats() { # pid name
	local id
	for f in /proc/"$1"/fdinfo/*; do
		id=$(awk '/^prog_id:/ {print $2}' "$f" 2>/dev/null)
		[ -n "$id" ] || continue
		bpftool prog show id "$id" -j 2>/dev/null | python3 -c \
			'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d.get("name")==sys.argv[1] else 1); ' "$2" || continue
		bpftool prog show id "$id" -j | python3 -c \
			'import json,sys; d=json.load(sys.stdin); print(d.get("run_cnt",0), d.get("run_time_ns",0))'
		return 0
	done
	echo "0 0"
}

# start pyhound in the background; waits for its "recording" line
start_pyhound() { # log args...
	local log=$1
	shift
	"$PYHOUND" "$@" 2>"$log" &
	PH=$!
	BG+=("$PH")
	for _ in $(seq 1 200); do
		grep -q recording "$log" && return 0
		sleep 0.05
	done
	echo "wall.sh: pyhound did not start: $(cat "$log")" >&2
	exit 1
}

if [[ " $PARTS " == *" A "* ]]; then
	echo "# part A: thinning (F=99, ${WINDOW}s, 1 busy process)" | tee "$OUT/thinning.txt"
	printf "%-8s %10s %10s %12s %10s %10s %12s\n" setting ticks ns/tick bpf_us_per_s thinned \
		samples pyhound_cpu_s | tee -a "$OUT/thinning.txt"
	echo "(ticks, ns/tick, BPF us per second: over the measured window; thinned, samples:"
	echo " pyhound's -v counters over its whole run; pyhound_cpu_s: utime+stime in the window)"
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	"$PY" -c "while True: pass" &
	BUSY=$!
	BG+=("$BUSY")
	for r in $(seq 1 "$ROUNDS"); do
		for setting in thinned fixed; do
			envs=()
			[ $setting = fixed ] && envs=(PYHOUND_SAMPLER_OVERSAMPLE=1 PYHOUND_SAMPLER_FIXED=1)
			log=$OUT/a-$setting-$r.err
			env "${envs[@]}" "$PYHOUND" record -F 99 -d 3600 -v --pid "$BUSY" \
				-o /dev/null -f collapsed 2>"$log" &
			PH=$!
			BG+=("$PH")
			for _ in $(seq 1 200); do grep -q recording "$log" && break; sleep 0.05; done
			c0=$(cpu_ticks "$PH")
			s0=$(prog_stats "$PH" sample_cpu)
			w0=$(date +%s.%N)
			sleep "$WINDOW"
			s1=$(prog_stats "$PH" sample_cpu)
			w1=$(date +%s.%N)
			c1=$(cpu_ticks "$PH")
			kill -INT "$PH"
			wait "$PH" || true
			read -r n0 t0 <<<"$s0"
			read -r n1 t1 <<<"$s1"
			thinned=$(grep -o 'thinned=[0-9]*' "$log" | cut -d= -f2 || true)
			samples=$(grep -o ' samples=[0-9]*' "$log" | cut -d= -f2 || true)
			awk -v s=$setting -v n=$((n1 - n0)) -v t=$((t1 - t0)) -v th="${thinned:-0}" \
				-v sm="${samples:-0}" -v c=$((c1 - c0)) -v w="$(echo "$w1 - $w0" | bc)" -v hz="$TICK" \
				'BEGIN { printf "%-8s %10d %10.0f %12.1f %10d %10d %12.2f\n", s, n,
					 n ? t / n : 0, t / w / 1000, th, sm, c / hz }' |
				tee -a "$OUT/thinning.txt"
		done
	done
	kill "$BUSY"
	echo "$STATS0" >/proc/sys/kernel/bpf_stats_enabled
fi

if [[ " $PARTS " == *" B "* ]]; then
	echo "# part B: $PROCS processes x 8 threads, loop of $ITER iterations in one thread each" |
		tee "$OUT/wall.txt"
	printf "%-6s %5s %12s %12s %14s %10s %12s\n" mode round loop_med_s loop_sum_s pyhound_cpu_s \
		wall_runs avg_run_us | tee -a "$OUT/wall.txt"
	for r in $(seq 1 "$ROUNDS"); do
		for mode in none cpu wall gil; do
			pids=()
			fifos=()
			for i in $(seq 1 "$PROCS"); do
				f=$OUT/in-$i
				rm -f "$f"
				mkfifo "$f"
				"$PY" "$HERE/workloads/threads8.py" "$ITER" <"$f" >"$OUT/b-$i.out" &
				pids+=($!)
				BG+=($!)
				exec {fd}>"$f"
				fifos+=("$fd")
			done
			for i in $(seq 1 "$PROCS"); do
				until grep -q ready "$OUT/b-$i.out" 2>/dev/null; do sleep 0.05; done
			done
			PH=
			if [ $mode != none ]; then
				start_pyhound "$OUT/b-$mode-$r.err" record --mode $mode -F 99 -d 3600 -v \
					-o /dev/null -f collapsed
				sleep 1
				c0=$(cpu_ticks "$PH")
			fi
			for fd in "${fifos[@]}"; do echo go >&"$fd"; exec {fd}>&-; done
			for p in "${pids[@]}"; do wait "$p"; done
			cpu=0
			if [ -n "$PH" ]; then
				c1=$(cpu_ticks "$PH")
				cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$TICK" 'BEGIN { print (b - a) / hz }')
				kill -INT "$PH"
				wait "$PH" || true
			fi
			runs=$(grep -o 'runs=[0-9]*' "$OUT/b-$mode-$r.err" 2>/dev/null | cut -d= -f2 || true)
			avg=$(grep -o 'avg_run_us=[0-9.]*' "$OUT/b-$mode-$r.err" 2>/dev/null | cut -d= -f2 || true)
			cat "$OUT"/b-*.out | grep -o 'loop_s=[0-9.]*' | cut -d= -f2 | sort -n |
				awk -v m=$mode -v r="$r" -v c="$cpu" -v runs="${runs:--}" -v avg="${avg:--}" \
				'{ v[NR] = $1; s += $1 } END { printf "%-6s %5d %12.3f %12.2f %14.2f %10s %12s\n",
					m, r, v[int((NR + 1) / 2)], s, c, runs, avg }' | tee -a "$OUT/wall.txt"
			rm -f "$OUT"/b-*.out "$OUT"/in-*
		done
	done
fi
if [[ " $PARTS " == *" C "* ]]; then
	BEFORE=${BEFORE:?part C compares two builds: BEFORE=/path/to/old/pyhound}
	AFTER=${AFTER:-$PYHOUND}
	CPROCS=${CPROCS:-4}
	DEPTHS=${DEPTHS:-4 64}
	echo "# part C: $CPROCS processes x 8 threads sleeping DEPTH frames deep; before: $BEFORE," \
		"after: $AFTER" | tee "$OUT/walk.txt"
	for depth in $DEPTHS; do
		pids=()
		for i in $(seq 1 "$CPROCS"); do
			f=$OUT/c-in-$i
			rm -f "$f"
			mkfifo "$f"
			"$PY" "$HERE/workloads/deep_sleepers.py" 8 "$depth" <"$f" >"$OUT/c-$i.out" &
			pids+=($!)
			BG+=($!)
			exec {fd}>"$f"
			eval "cfd_$i=$fd"
		done
		for i in $(seq 1 "$CPROCS"); do
			until grep -q ready "$OUT/c-$i.out" 2>/dev/null; do sleep 0.05; done
		done
		plist=$(IFS=,; echo "${pids[*]}")
		for r in $(seq 1 "$ROUNDS"); do
			for build in before after; do
				bin=$BEFORE
				[ $build = after ] && bin=$AFTER
				log=$OUT/c-$build-$depth-$r.err
				"$bin" record --mode wall -F 99 -d 5 --pid "$plist" -v -o /dev/null \
					-f collapsed 2>"$log" || true
				runs=$(grep -o 'runs=[0-9]*' "$log" | cut -d= -f2)
				avg=$(grep -o 'avg_run_us=[0-9.]*' "$log" | cut -d= -f2)
				smp=$(grep -o 'sampler: samples=[0-9]*' "$log" | cut -d= -f2)
				echo "$build $depth $r $runs $avg $smp" >>"$OUT/walk.raw"
			done
		done
		for i in $(seq 1 "$CPROCS"); do
			eval "fd=\$cfd_$i"
			exec {fd}>&-
		done
		for p in "${pids[@]}"; do wait "$p" || true; done
		rm -f "$OUT"/c-in-* "$OUT"/c-*.out
	done
	python3 - "$OUT/walk.raw" <<'PY' | tee -a "$OUT/walk.txt"
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for b in ("before", "after"):
    for d in sorted({int(r[1]) for r in rows}):
        rs = [r for r in rows if r[0] == b and int(r[1]) == d]
        run = statistics.median(float(r[4]) for r in rs)
        per = statistics.median(float(r[4]) * int(r[3]) / int(r[5]) for r in rs)
        med[b, d] = (run, per, len(rs), statistics.median(int(r[5]) / int(r[3]) for r in rs))
print("%-6s %6s %7s %14s %14s %12s %8s" % ("depth", "rounds", "threads", "run_us before",
      "run_us after", "per thread sample us before/after", "ratio"))
for d in sorted({int(r[1]) for r in rows}):
    b, a = med["before", d], med["after", d]
    print("%-6d %6d %7.0f %14.1f %14.1f %17.2f / %-14.2f %6.2fx" % (d, b[2], b[3], b[0], a[0],
          b[1], a[1], b[1] / a[1]))
ds = sorted({int(r[1]) for r in rows})
if len(ds) >= 2:
    lo, hi = ds[0], ds[-1]
    for b in ("before", "after"):
        print("%s: %.3f us per frame (slope from depth %d to %d)" % (
            b, (med[b, hi][1] - med[b, lo][1]) / (hi - lo), lo, hi))
PY
fi
if [[ " $PARTS " == *" D "* ]]; then
	BEFORE=${BEFORE:?part D compares two builds: BEFORE=/path/to/old/pyhound}
	AFTER=${AFTER:-$PYHOUND}
	NPROCS=${NPROCS:-1 4 12}
	max=0
	for k in $NPROCS; do [ "$k" -gt "$max" ] && max=$k; done
	dpids=()
	for i in $(seq 1 "$max"); do
		"$PY" -c "import time; time.sleep(3600)" &
		dpids+=($!)
		BG+=($!)
	done
	sleep 1
	echo "# part D: sleeping processes, host threads $(cut -d' ' -f4 /proc/loadavg | cut -d/ -f2)" |
		tee "$OUT/procs.txt"
	for r in $(seq 1 "$ROUNDS"); do
		for build in before after; do
			bin=$BEFORE
			[ $build = after ] && bin=$AFTER
			for k in $NPROCS; do
				plist=$(IFS=,; echo "${dpids[*]:0:$k}")
				"$bin" record --mode wall -F 99 -d 3 --pid "$plist" -v -o /dev/null \
					-f collapsed 2>"$OUT/d.err" || true
				echo "$build $k $(grep -o 'avg_run_us=[0-9.]*' "$OUT/d.err" | cut -d= -f2)" \
					>>"$OUT/procs.raw"
			done
		done
	done
	for p in "${dpids[@]}"; do kill "$p" 2>/dev/null || true; done
	python3 - "$OUT/procs.raw" <<'PY' | tee -a "$OUT/procs.txt"
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
print("%-6s %7s %14s %14s %7s" % ("procs", "rounds", "run_us before", "run_us after", "ratio"))
for k in sorted({int(r[1]) for r in rows}):
    b = [float(r[2]) for r in rows if r[0] == "before" and int(r[1]) == k]
    a = [float(r[2]) for r in rows if r[0] == "after" and int(r[1]) == k]
    print("%-6d %7d %14.1f %14.1f %6.2fx" % (k, len(b), statistics.median(b),
          statistics.median(a), statistics.median(b) / statistics.median(a)))
PY
fi
if [[ " $PARTS " == *" E "* ]]; then
	PY39=${PY39:-$(ls -d /root/.pyenv/versions/3.9.*/bin/python3.9 | tail -1)}
	ESECS=${ESECS:-8}
	command -v austin >/dev/null || { echo "wall.sh: part E needs austin (apt-get install austin)" >&2; exit 1; }
	echo "# part E: wall_threads.py on $("$PY39" -V 2>&1), $ESECS s, pyhound --mode wall -F 99 and austin -i 10000 at once" |
		tee "$OUT/peer.txt"
	for r in $(seq 1 "$ROUNDS"); do
		"$PY39" "$ROOT/tests/workloads/wall_threads.py" 600 >"$OUT/e.out" &
		W=$!
		BG+=("$W")
		until grep -q ready "$OUT/e.out" 2>/dev/null; do sleep 0.05; done
		start_pyhound "$OUT/e-$r.err" record --mode wall -F 99 -d "$ESECS" --pid "$W" \
			-o "$OUT/e-pyhound-$r.collapsed" -f collapsed
		austin -i 10000 -p "$W" -o "$OUT/e-austin-$r.txt" 2>"$OUT/e-austin-$r.err" &
		A=$!
		BG+=("$A")
		wait "$PH" || true
		kill -INT "$A" 2>/dev/null || true
		kill -USR1 "$W"
		wait "$W" || true
		wait "$A" 2>/dev/null || true
	done
	python3 - "$OUT" "$ROUNDS" <<'PY' | tee -a "$OUT/peer.txt"
import collections, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ROLES = ("spin_0", "spin_1", "spin_2", "sleeper", "reader", "lock_waiter")

def role(stack):
    for r in ROLES:
        if r in stack:
            return r
    return "main/other"

def shares(path, austin):
    tot = collections.Counter()
    ends = collections.defaultdict(collections.Counter)
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if not line or line.startswith("#") or " " not in line:
            continue
        stack, _, v = line.rpartition(" ")
        try:
            v = float(v)
        except ValueError:
            continue
        ro = role(stack)
        tot[ro] += v
        if not austin:
            leaf = stack.split(";")[-1]
            ends[ro][leaf if leaf.startswith("[") else "python (on CPU)"] += v
    s = sum(tot.values()) or 1
    return {k: 100.0 * tot[k] / s for k in list(ROLES) + ["main/other"]}, ends

res = {"pyhound": collections.defaultdict(list), "austin": collections.defaultdict(list)}
endsum = collections.defaultdict(collections.Counter)
for r in range(1, rounds + 1):
    for tool, f in (("pyhound", "%s/e-pyhound-%d.collapsed" % (out, r)),
                    ("austin", "%s/e-austin-%d.txt" % (out, r))):
        try:
            sh, ends = shares(f, tool == "austin")
        except OSError as e:
            print("round %d %s: %s" % (r, tool, e))
            continue
        for k, v in sh.items():
            res[tool][k].append(v)
        for k, c in ends.items():
            endsum[k].update(c)
print("%-12s %18s %18s" % ("thread", "pyhound wall %", "austin wall %"))
for k in list(ROLES) + ["main/other"]:
    p, a = res["pyhound"][k], res["austin"][k]
    print("%-12s %18s %18s" % (k, "%.1f" % statistics.median(p) if p else "-",
                               "%.1f" % statistics.median(a) if a else "-"))
print("pyhound's samples by what they end in (all rounds):")
for k in ROLES:
    c = endsum[k]
    s = sum(c.values()) or 1
    print("  %-12s %s" % (k, ", ".join("%s %.0f%%" % (e, 100.0 * n / s) for e, n in c.most_common(3))))
PY
fi
echo "results in $OUT"
