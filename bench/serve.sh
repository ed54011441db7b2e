#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/serve.sh (issue 6): what `pyhound serve` costs with many Python processes on the host.
#
# Each round:
#   1. start `pyhound serve` with a config that has cache_seconds = 0 (every scrape renders) and
#      otherwise the defaults (frequency 19 Hz, top_syscalls 15, top_functions 20);
#   2. start NPROCS (default 100) idle Python processes (CPython 3.9, Debian 3.11, 3.12 in
#      turn), each doing some syscalls (200 16-byte writes to /dev/null, 50 1 KiB
#      sendall/recv on a socketpair, 20 reads of a small file) and then sleeping;
#   3. 50 sequential /metrics scrapes with curl (time_total, size_download);
#   4. serve's CPU (utime+stime from /proc/PID/stat, all threads) over WINDOW s (default 30)
#      with no scrape and no busy Python process ("idle"), then over WINDOW s with BUSY
#      (default 20) busy Python processes (python3.12 bench/workloads/prof_calls.py);
#      pyhound_bpf_run_seconds_total is scraped just before and after each window, for the
#      BPF run time the kernel charged to the traced processes meanwhile;
#   5. RSS (VmRSS after the idle window and at the end, VmHWM).
#
# Usage: bench/serve.sh [ROUNDS]   (default 5; root; build/pyhound built)
# Environment: PYHOUND, OUT (default /var/tmp/pyhound-bench2/serve-TS), PORT (default 29464),
#   NPROCS, BUSY, WINDOW, SCRAPES (default 50).
# Output: $OUT/scrapes.tsv, $OUT/rounds.tsv, $OUT/summary.md, $OUT/metrics-rN.txt (one body),
#   $OUT/execs-rN.txt (pyhound_execs_total before/after the idle and busy windows), $OUT/stops.txt
#   (whether serve stopped on SIGTERM within 15 s or had to be killed).
set -euo pipefail

ROUNDS=${1:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PYHOUND=${PYHOUND:-$ROOT/build/pyhound}
PY39=${PY39:-/root/.pyenv/versions/3.9.18/bin/python3.9}
PY311=${PY311:-/usr/bin/python3.11}
PY312=${PY312:-/root/.pyenv/versions/3.12.1/bin/python3.12}
OUT=${OUT:-/var/tmp/pyhound-bench2/serve-$(date -u +%Y%m%dT%H%M%S)}
PORT=${PORT:-29464}
NPROCS=${NPROCS:-100}
BUSY=${BUSY:-20}
WINDOW=${WINDOW:-30}
SCRAPES=${SCRAPES:-50}
TICK=$(getconf CLK_TCK)
URL=http://127.0.0.1:$PORT

[ "$(id -u)" = 0 ] || { echo "serve.sh: needs root" >&2; exit 1; }
[ -x "$PYHOUND" ] || { echo "serve.sh: $PYHOUND not built (make)" >&2; exit 1; }
for t in curl "$PY39" "$PY311" "$PY312"; do
	command -v "$t" >/dev/null || { echo "serve.sh: $t missing" >&2; exit 1; }
done
mkdir -p "$OUT"

IDLE_PY='
import os, socket, time
fd = os.open("/dev/null", os.O_WRONLY)
for _ in range(200):
    os.write(fd, b"x" * 16)
a, b = socket.socketpair()
for _ in range(50):
    a.sendall(b"y" * 1024)
    b.recv(2048)
for _ in range(20):
    with open("/etc/hostname") as f:
        f.read()
time.sleep(600)
'

BG=()
cleanup() { # SIGTERM, then SIGKILL what is left after 2 s (a stuck serve ignores SIGTERM)
	local p
	for p in "${BG[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	sleep 2
	for p in "${BG[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

cpu_of() { awk -v t="$TICK" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
bpf_total() { # seconds summed over pyhound's BPF programs
	local m
	m=$(curl -sf --max-time 60 "$URL/metrics") || { echo NA; return; }
	awk '/^pyhound_bpf_run_seconds_total/ { s += $2; n++ } END { if (n) printf "%.6f\n", s; else print "NA" }' <<<"$m"
	# and, on the side, how many execs pyhound has seen so far (host exec churn)
	awk '/^pyhound_execs_total/ { print $2 }' <<<"$m" >>"$OUT/execs-r$r.txt"
}
now() { date +%s.%N; }

cat >"$OUT/pyhound.conf" <<EOF
listen = 127.0.0.1:$PORT
cache_seconds = 0
EOF

printf 'round\tscrape\ttime_total_s\tsize_bytes\thttp_code\n' >"$OUT/scrapes.tsv"
printf 'round\tidle_procs\tprocs_in_metrics\tall_procs_in_metrics\tseries_lines\tidle_window_s\tidle_pct\tbusy_procs\tbusy_window_s\tbusy_pct\tbpf_idle_pct\tbpf_busy_pct\trss_idle_kb\trss_end_kb\thwm_kb\tload1_idle\tload1_busy\n' \
	>"$OUT/rounds.tsv"

for ((r = 1; r <= ROUNDS; r++)); do
	ERR=$OUT/serve-r$r.err
	"$PYHOUND" serve -c "$OUT/pyhound.conf" 2>"$ERR" &
	SV=$!
	BG+=("$SV")
	for ((i = 0; i < 600; i++)); do
		grep -q 'serving on' "$ERR" && break
		kill -0 "$SV" 2>/dev/null || { cat "$ERR" >&2; exit 1; }
		sleep 0.05
	done
	grep -q 'serving on' "$ERR" || { echo "serve.sh: serve did not start" >&2; exit 1; }

	idle=()
	pys=("$PY39" "$PY311" "$PY312")
	for ((i = 0; i < NPROCS; i++)); do
		"${pys[i % 3]}" -c "$IDLE_PY" &
		idle+=($!)
		BG+=($!)
	done
	sleep 8 # start-up, the syscalls, discovery

	body=$OUT/metrics-r$r.txt
	fails=0
	for ((s = 1; s <= SCRAPES; s++)); do
		# a scrape that does not answer within 60 s is recorded as failed (code 000), not waited for
		m=$(curl -s --max-time 60 -o "$body.tmp" -w '%{time_total} %{size_download} %{http_code}' \
			"$URL/metrics" || true)
		read -r tt sz code <<<"$m"
		if [ "$code" = 200 ]; then
			mv "$body.tmp" "$body"
		else
			echo "serve.sh: round $r scrape $s: HTTP ${code:-none} after ${tt:-?} s" >&2
			fails=$((fails + 1))
		fi
		printf '%d\t%d\t%s\t%s\t%s\n' "$r" "$s" "$tt" "$sz" "$code" >>"$OUT/scrapes.tsv"
		((fails < 3)) || { echo "serve.sh: round $r: 3 failed scrapes, giving up on this round's scrapes" >&2; break; }
		sleep 0.1
	done
	if [ -s "$body" ]; then
		series=$(grep -vc '^#' "$body" || true)
		# our idle processes that appear in the metrics (by pid label)
		inm=$(grep -o 'pid="[0-9]*"' "$body" | sort -u | sed 's/[^0-9]//g' |
			grep -cxF -f <(printf '%s\n' "${idle[@]}") || true)
		# every process in the metrics: ours plus any other Python process on the host (live,
		# or exited less than process_max_age ago)
		allp=$(grep -o 'pid="[0-9]*"' "$body" | sort -u | wc -l)
	else
		# no scrape answered: still measure CPU and RSS below
		echo "serve.sh: round $r: no scrape succeeded" >&2
		series=-1 inm=-1 allp=-1
	fi

	sleep 2
	b0=$(bpf_total)
	t0=$(now); c0=$(cpu_of "$SV")
	sleep "$WINDOW"
	c1=$(cpu_of "$SV"); t1=$(now)
	b1=$(bpf_total)
	rss_idle=$(status_kb "$SV" VmRSS)
	l_idle=$(cut -d' ' -f1 /proc/loadavg) # host 1-min load average at the end of the window

	busy=()
	for ((i = 0; i < BUSY; i++)); do
		"$PY312" "$HERE/workloads/prof_calls.py" 1000000000 >/dev/null &
		busy+=($!)
		BG+=($!)
	done
	sleep 2
	b2=$(bpf_total)
	t2=$(now); c2=$(cpu_of "$SV")
	sleep "$WINDOW"
	c3=$(cpu_of "$SV"); t3=$(now)
	b3=$(bpf_total)
	l_busy=$(cut -d' ' -f1 /proc/loadavg)
	kill "${busy[@]}"
	wait "${busy[@]}" 2>/dev/null || true
	rss_end=$(status_kb "$SV" VmRSS)
	hwm=$(status_kb "$SV" VmHWM)

	# SIGTERM; a serve that has not stopped after 15 s is killed, and that is recorded
	kill -TERM "$SV"
	stop=clean
	for ((i = 0; i < 150; i++)); do
		kill -0 "$SV" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SV" 2>/dev/null; then
		stop=killed
		echo "serve.sh: round $r: serve still running 15 s after SIGTERM, SIGKILL" >&2
		kill -KILL "$SV"
	fi
	wait "$SV" 2>/dev/null || true
	echo "$r $stop" >>"$OUT/stops.txt"
	kill "${idle[@]}"
	wait "${idle[@]}" 2>/dev/null || true

	awk -v r="$r" -v n="$NPROCS" -v inm="$inm" -v allp="$allp" -v ser="$series" -v nb="$BUSY" \
		-v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v t2="$t2" -v t3="$t3" -v c2="$c2" \
		-v c3="$c3" -v b0="$b0" -v b1="$b1" -v b2="$b2" -v b3="$b3" -v ri="$rss_idle" \
		-v re="$rss_end" -v h="$hwm" -v li="$l_idle" -v lb="$l_busy" 'BEGIN {
		wi = t1 - t0; wb = t3 - t2
		printf "%d\t%d\t%d\t%d\t%d\t%.2f\t%.3f\t%d\t%.2f\t%.3f\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r, n, inm,
			allp, ser, wi, 100 * (c1 - c0) / wi, nb, wb, 100 * (c3 - c2) / wb,
			(b0 == "NA" || b1 == "NA") ? "NA" : sprintf("%.4f", 100 * (b1 - b0) / wi),
			(b2 == "NA" || b3 == "NA") ? "NA" : sprintf("%.3f", 100 * (b3 - b2) / wb),
			ri, re, h, li, lb }' >>"$OUT/rounds.tsv"
	echo "serve round $r done" >&2
	sleep 2
done

/usr/bin/python3 "$HERE/lib/profiling_summary.py" serve "$OUT" | tee "$OUT/summary.md"
