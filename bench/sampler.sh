#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/sampler.sh (issue 3): what stack sampling costs the sampled Python processes, and what
# the sampler itself costs.
#
# Part A, slowdown: two CPU-bound workloads (bench/workloads/prof_calls.py, call-heavy, and
# prof_numeric.py, one numeric frame), ~1.5-2 s each, on pyenv CPython 3.9 (austin works there)
# and 3.12, each round interleaving
#     baseline, pyhound record -F 99, pyhound record -F 999, [austin, austin -i 1010,]
#     perf record -F 99 -g, baseline
# pyhound and perf run system-wide (-a for perf), started before the workload (pyhound: once its
# "recording" line is on stderr) and stopped (SIGINT) after it; austin launches the workload.
# The workload times itself (perf_counter around the work, so interpreter start-up is out).
# pyhound runs under /usr/bin/time (user, sys, peak RSS of its whole life) with -v (sampler
# counters: samples, drop_ringbuf, err_*), and its CPU during the workload is also read from
# /proc/PID/stat.
#
# Part B, sampler CPU with N busy Python processes (default 20, python3.12 prof_calls.py): per
# round pyhound record at 99 Hz with none of ours busy (reference), at 99 Hz and at 999 Hz with N
# busy; CPU (utime+stime from /proc) over a WINDOW-second window (default 30) that starts 1 s
# after the "recording" line. Target: under 2% of one core at 99 Hz.
#
# Usage: bench/sampler.sh [ROUNDS]   (default 5; root; build/pyhound built)
# Environment: PYHOUND (default ./build/pyhound), OUT (default /var/tmp/pyhound-bench2/sampler-TS),
#   PY39, PY312 (interpreters), WINDOW (part B seconds), BUSY (part B processes),
#   PARTS ("A B", default both), ROUNDS_B (part B rounds, default ROUNDS).
# Output: $OUT/runs.tsv (part A, one line per run), $OUT/busy.tsv (part B), $OUT/summary.md
# (bench/lib/profiling_summary.py sampler $OUT).
set -euo pipefail

ROUNDS=${1:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PYHOUND=${PYHOUND:-$ROOT/build/pyhound}
PY39=${PY39:-/root/.pyenv/versions/3.9.18/bin/python3.9}
PY312=${PY312:-/root/.pyenv/versions/3.12.1/bin/python3.12}
OUT=${OUT:-/var/tmp/pyhound-bench2/sampler-$(date -u +%Y%m%dT%H%M%S)}
WINDOW=${WINDOW:-30}
ROUNDS_B=${ROUNDS_B:-$ROUNDS}
BUSY=${BUSY:-20}
PARTS=${PARTS:-A B}
WL=$HERE/workloads
TICK=$(getconf CLK_TCK)

[ "$(id -u)" = 0 ] || { echo "sampler.sh: needs root" >&2; exit 1; }
[ -x "$PYHOUND" ] || { echo "sampler.sh: $PYHOUND not built (make)" >&2; exit 1; }
for t in austin perf /usr/bin/time "$PY39" "$PY312"; do
	command -v "$t" >/dev/null || { echo "sampler.sh: $t missing" >&2; exit 1; }
done
mkdir -p "$OUT"
SCR=$OUT/scratch
mkdir -p "$SCR"

# iterations for ~1.5-2 s of work on this machine kind
declare -A ITER=([3.9:calls]=1150000 [3.9:numeric]=3800000 [3.12:calls]=2000000
		 [3.12:numeric]=4400000)
declare -A PYBIN=([3.9]=$PY39 [3.12]=$PY312)

BG=() # background pids we started, killed on exit
cleanup() {
	local p
	for p in "${BG[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# utime+stime of a process in seconds
cpu_of() { awk -v t="$TICK" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }
hwm_of() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

wait_line() { # FILE PATTERN TIMEOUT_S
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "sampler.sh: no '$2' in $1 after $3 s" >&2
	cat "$1" >&2
	return 1
}

# start pyhound record under /usr/bin/time; sets PH_TIME (time's pid), PH_PID, PH_ERR, PH_RU
ph_start() { # FREQ TAG
	PH_ERR=$SCR/$2.err
	PH_RU=$SCR/$2.rusage
	: >"$PH_ERR"
	/usr/bin/time -f '%U %S %M' -o "$PH_RU" "$PYHOUND" record -o /dev/null --format collapsed \
		-F "$1" -d 86400 -v 2>"$PH_ERR" &
	PH_TIME=$!
	BG+=("$PH_TIME")
	wait_line "$PH_ERR" 'pyhound: recording' 30
	PH_PID=$(pgrep -P "$PH_TIME" -x pyhound)
	BG+=("$PH_PID")
}

ph_stop() { # sets ST="tool_cpu_s tool_rss_kb samples drops errs" (not in a subshell: it waits)
	kill -INT "$PH_PID"
	wait "$PH_TIME" || { echo "sampler.sh: pyhound failed:" >&2; cat "$PH_ERR" >&2; return 1; }
	local u s m
	read -r u s m <"$PH_RU"
	ST=$(awk -v u="$u" -v s="$s" -v m="$m" '
		/pyhound: sampler:/ {
			for (i = 3; i <= NF; i++) { split($i, kv, "="); c[kv[1]] = kv[2] }
			e = c["err_no_info"] + c["err_tss_key"] + c["err_no_tstate"] + \
			    c["err_tstate_mismatch"] + c["err_read"] + c["err_bad_code"]
			printf "%.3f %d %d %d %d\n", u + s, m, c["samples"] + 0, c["drop_ringbuf"] + 0, e
			found = 1
		}
		END { if (!found) printf "%.3f %d NA NA NA\n", u + s, m }' "$PH_ERR")
}

# one workload run; prints "work_s cpu_s"
work() { # PYBIN SCRIPT ITER
	"$1" "$WL/$2" "$3" | sed -n 's/^work_s=\([0-9.]*\) cpu_s=\([0-9.]*\).*/\1 \2/p'
}

# one line of runs.tsv; the last column is the host's 1-min load average (others' work shows there)
row() { printf '%s %s\n' "$*" "$(cut -d' ' -f1 /proc/loadavg)" | tr ' ' '\t' >>"$OUT/runs.tsv"; }

run_cond() { # ROUND PYVER WORKLOAD COND
	local r=$1 v=$2 w=$3 c=$4 py=${PYBIN[$2]} n=${ITER[$2:$3]} res c0 c1 st extra=NA
	case $c in
	base*)
		res=$(work "$py" "prof_$w.py" "$n")
		row "$r $v $w $c $res NA NA NA NA NA NA NA"
		;;
	pyhound*)
		ph_start "${c#pyhound}" "ph-$v-$w-$c-$r"
		c0=$(cpu_of "$PH_PID")
		res=$(work "$py" "prof_$w.py" "$n")
		c1=$(cpu_of "$PH_PID")
		ph_stop
		row "$r $v $w $c $res $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') $ST"
		;;
	austin*)
		local aargs=()
		[ "$c" = austin1010 ] && aargs=(-i 1010)
		res=$(austin "${aargs[@]}" -o "$SCR/austin.out" "$py" "$WL/prof_$w.py" "$n" \
			2>"$SCR/austin.err" | sed -n 's/^work_s=\([0-9.]*\) cpu_s=\([0-9.]*\).*/\1 \2/p')
		# samples written, and how many of them had a Python stack (sanity check)
		extra="$(wc -l <"$SCR/austin.out") $(grep -c ';' "$SCR/austin.out" || true)"
		row "$r $v $w $c $res NA NA NA ${extra% *} NA ${extra#* }"
		;;
	perf)
		perf record -F 99 -g -a -o "$SCR/perf.data" >"$SCR/perf.log" 2>&1 &
		local pp=$!
		BG+=("$pp")
		sleep 1 # perf prints nothing when it starts; its set-up takes well under 1 s here
		res=$(work "$py" "prof_$w.py" "$n")
		kill -INT "$pp"
		wait "$pp" || true
		extra=$(sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "$SCR/perf.log" | tail -1)
		row "$r $v $w $c $res NA NA NA ${extra:-NA} NA NA"
		;;
	esac
}

if [[ " $PARTS " == *" A "* ]]; then
	printf 'round\tpy\tworkload\tcond\twork_s\tcpu_s\ttool_cpu_window_s\ttool_cpu_s\ttool_rss_kb\tsamples\tdrops\terrs_or_stacks\tload1\n' \
		>"$OUT/runs.tsv"
	for ((r = 1; r <= ROUNDS; r++)); do
		for v in 3.9 3.12; do
			for w in calls numeric; do
				conds=(base pyhound99 pyhound999)
				[ "$v" = 3.9 ] && conds+=(austin austin1010)
				conds+=(perf base2)
				for c in "${conds[@]}"; do
					run_cond "$r" "$v" "$w" "$c"
				done
				echo "round $r $v $w done" >&2
			done
		done
	done
fi

if [[ " $PARTS " == *" B "* ]]; then
	printf 'round\tfreq\tbusy\twindow_s\tcpu_window_s\tpct_of_one_core\tcpu_total_s\trss_peak_kb\tsamples\tdrops\terrs\tload1\n' \
		>"$OUT/busy.tsv"
	for ((r = 1; r <= ROUNDS_B; r++)); do
		# reference: no busy Python process of ours; then the target case and 999 Hz
		for fb in "99:0" "99:$BUSY" "999:$BUSY"; do
			f=${fb%:*}
			nb=${fb#*:}
			busy=()
			for ((i = 0; i < nb; i++)); do
				"$PY312" "$WL/prof_calls.py" 1000000000 >/dev/null &
				busy+=($!)
				BG+=($!)
			done
			sleep 1
			ph_start "$f" "busy-$f-$nb-$r"
			sleep 1 # let discovery of the running processes finish
			t0=$(date +%s.%N)
			c0=$(cpu_of "$PH_PID")
			sleep "$WINDOW"
			c1=$(cpu_of "$PH_PID")
			t1=$(date +%s.%N)
			ph_stop
			if ((nb)); then
				kill "${busy[@]}"
				wait "${busy[@]}" 2>/dev/null || true
			fi
			read -r tot rss smp drp err <<<"$ST"
			awk -v r="$r" -v f="$f" -v b="$nb" -v t0="$t0" -v t1="$t1" -v c0="$c0" \
				-v c1="$c1" -v tot="$tot" -v rss="$rss" -v s="$smp" -v d="$drp" -v e="$err" \
				-v l="$(cut -d' ' -f1 /proc/loadavg)" \
				'BEGIN { w = t1 - t0; printf "%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\n",
					r, f, b, w, c1 - c0, 100 * (c1 - c0) / w, tot, rss, s, d, e, l }' \
				>>"$OUT/busy.tsv"
			echo "busy round $r: $f Hz, $nb busy done" >&2
			sleep 2
		done
	done
fi

# keep pyhound's stderr (sampler counters), drop the bulky profiles
rm -f "$SCR"/austin.out "$SCR"/perf.data "$SCR"/perf.data.old
/usr/bin/python3 "$HERE/lib/profiling_summary.py" sampler "$OUT" | tee "$OUT/summary.md"
