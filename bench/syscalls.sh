#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Issue 2's benchmark: what does `pyhound report` (system-wide) cost a Python process?
#
#   bench/syscalls.sh [PATH/TO/pyhound]          (run as root; `sudo make bench` runs it)
#
# Measures, side by side in one run, ROUNDS alternating rounds (the order of the conditions
# rotates every round, so drift hits every condition alike) of:
#   syscall-heavy loop  (bench/workloads/syscall_loop.py: N x getppid + 16-byte os.write to a
#                        file, 2N syscalls) under Debian's python3.11:
#                        baseline | pyhound report running system-wide | bcc syscount system-wide
#   pure-CPU loop       (bench/workloads/cpu_loop.py, no syscalls in the loop):
#                        baseline | pyhound report running system-wide
# The tools are started before the workload (and waited for until attached) and stopped after.
# Reported: medians of the loop times, medians of the per-round paired ratios vs that round's
# baseline, the per-syscall cost (with - without) / syscalls, and pyhound's own CPU time
# (user+sys from /proc/PID/stat, over the syscall-heavy run and over its whole life) and peak RSS
# (VmHWM). Results go to stdout (Markdown) and into bench/RESULTS.md under the
# "## Syscalls and I/O batching (issue 2)" heading (other sections are kept).
#
# The machine must be otherwise quiet: before every measurement the script waits (up to
# QUIET_WAIT s) until the CPUs are idle and no other tracing BPF program is loaded (another
# pyhound, bcc or bpftrace would tax or track the workloads), and a measurement during which
# other processes used more than FOREIGN_MAX CPUs, or another tracing BPF program appeared, is
# discarded and taken again (up to RETRIES times; discarded measurements are counted in the
# results, and one still disturbed after that is kept and flagged).
#
# Environment (defaults): ROUNDS (7), SYSCALL_ITERS (700000), CPU_ITERS (6000000),
# PY (/usr/bin/python3.11), SCRATCH (/var/tmp/pyhound-bench: downloads, logs, the file the
# workload writes), RESULTS (bench/RESULTS.md), QUIET_WAIT (180), FOREIGN_MAX (0.15), RETRIES (8),
# SKIP_SYSCOUNT (0; 1 leaves bcc out), POLL_TIMEOUT (60: attach / stop timeouts, s),
# TIME_BUDGET (0 = none; minutes after which the script stops waiting for quiet and stops
# discarding rounds, so that it ends; rounds measured while disturbed are counted in the results).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
PYHOUND=${1:-$SRC/build/pyhound}
case $PYHOUND in /*) ;; *) PYHOUND=$PWD/$PYHOUND ;; esac
ROUNDS=${ROUNDS:-7}
SYSCALL_ITERS=${SYSCALL_ITERS:-700000}
CPU_ITERS=${CPU_ITERS:-6000000}
PY=${PY:-/usr/bin/python3.11}
SCRATCH=${SCRATCH:-/var/tmp/pyhound-bench}
RESULTS=${RESULTS:-$HERE/RESULTS.md}
QUIET_WAIT=${QUIET_WAIT:-180}
FOREIGN_MAX=${FOREIGN_MAX:-0.15}
RETRIES=${RETRIES:-8}
SKIP_SYSCOUNT=${SKIP_SYSCOUNT:-0}
POLL_TIMEOUT=${POLL_TIMEOUT:-60}
TIME_BUDGET=${TIME_BUDGET:-0}
START_S=$(date +%s)
over_budget() { [ "$TIME_BUDGET" -gt 0 ] && [ $(( $(date +%s) - START_S )) -ge $(( TIME_BUDGET * 60 )) ]; }
SECTION="## Syscalls and I/O batching (issue 2)"

say() { printf 'bench/syscalls: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (BPF): run 'sudo make bench'"
[ -x "$PYHOUND" ] || die "no pyhound binary at $PYHOUND (run 'make' first)"
[ "$ROUNDS" -ge 1 ] 2>/dev/null || die "ROUNDS must be a positive integer"

# ---------------------------------------------------------------- packages
need_pkgs=""
for p in bpfcc-tools python3-bpfcc time python3.11 procps bpftool; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		need_pkgs="$need_pkgs $p"
done
if [ -n "$need_pkgs" ]; then
	say "installing:$need_pkgs"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# --no-install-recommends: bpfcc-tools recommends linux-headers, which would pull a kernel
	# image, initramfs-tools, udev and a systemd upgrade. Headers are unpacked below instead.
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need_pkgs >/dev/null
fi
[ -x "$PY" ] || die "no $PY"

mkdir -p "$SCRATCH"
LOG=$SCRATCH/run-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$LOG"
OUTFILE=$SCRATCH/syscall_loop.out
TSV=$LOG/measurements.tsv

# ---------------------------------------------------------------- cleanup
TOOL_PID=""
MOUNTED_TRACEFS=0
cleanup() {
	if [ -n "$TOOL_PID" ] && kill -0 "$TOOL_PID" 2>/dev/null; then
		kill -INT "$TOOL_PID" 2>/dev/null || true
		sleep 1
		kill -KILL "$TOOL_PID" 2>/dev/null || true
	fi
	rm -f "$OUTFILE"
	if [ "$MOUNTED_TRACEFS" = 1 ]; then umount /sys/kernel/tracing 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- bcc syscount setup
# bcc compiles its BPF at start against kernel headers; this kernel may ship none. Then unpack
# Debian's newest linux-headers (common + arch) into $SCRATCH and point BCC_KERNEL_SOURCE at it.
# syscount's TRACEPOINT_PROBE also reads tracepoint formats from tracefs: mount it if needed
# (and unmount it at exit).
SYSCOUNT=$(command -v syscount-bpfcc || true)
SYSCOUNT_OK=0
SYSCOUNT_WHY=""
setup_syscount() {
	if [ "$SKIP_SYSCOUNT" = 1 ]; then SYSCOUNT_WHY="skipped (SKIP_SYSCOUNT=1)"; return 1; fi
	if [ -z "$SYSCOUNT" ]; then SYSCOUNT_WHY="syscount-bpfcc not found after installing bpfcc-tools"; return 1; fi
	if [ ! -e "/lib/modules/$(uname -r)/build" ] && [ ! -e /sys/kernel/kheaders.tar.xz ]; then
		local kh=$SCRATCH/kernel-headers arch_pkg common_pkg
		if [ ! -f "$kh/.complete" ]; then
			# the newest generic linux-headers-<version>-amd64 that apt can download (closest to
			# a new kernel), with its -common package
			rm -rf "$SCRATCH/debs" "$SCRATCH/headers-x" "$kh"
			mkdir -p "$SCRATCH/debs" "$SCRATCH/headers-x" "$kh"
			for arch_pkg in $(apt-cache pkgnames linux-headers- 2>/dev/null |
				grep -E '^linux-headers-[0-9][^ ]*-amd64$' | grep -vE -- '-(rt|cloud)-amd64$' |
				sort -rV | head -n3); do
				common_pkg=$(apt-cache depends "$arch_pkg" 2>/dev/null |
					awk '/Depends: linux-headers-.*-common$/ { print $2; exit }')
				[ -n "$common_pkg" ] || continue
				rm -f "$SCRATCH"/debs/*.deb
				if (cd "$SCRATCH/debs" && apt-get download "$arch_pkg" "$common_pkg" >/dev/null 2>&1); then
					break
				fi
				common_pkg=""
			done
			if [ -z "$common_pkg" ]; then
				SYSCOUNT_WHY="no kernel headers for $(uname -r) (no /lib/modules/$(uname -r)/build, no CONFIG_IKHEADERS), and no Debian linux-headers-*-amd64 + -common pair could be downloaded to unpack"
				return 1
			fi
			say "kernel headers: unpacking $arch_pkg + $common_pkg into $kh (not installing them)"
			for d in "$SCRATCH"/debs/*.deb; do dpkg-deb -x "$d" "$SCRATCH/headers-x"; done
			# -common first, then the arch tree over it: one merged source tree
			cp -a "$SCRATCH/headers-x/usr/src/$common_pkg/." "$kh"/
			cp -a "$SCRATCH/headers-x/usr/src/$arch_pkg/." "$kh"/
			touch "$kh/.complete"
		fi
		export BCC_KERNEL_SOURCE=$kh
		KHEADERS_NOTE="Debian's $(ls "$SCRATCH"/debs 2>/dev/null | sed 's/_.*//' | tr '\n' ' ' | sed 's/ $//; s/ / + /g') unpacked with dpkg-deb -x, BCC_KERNEL_SOURCE=$kh (the running kernel $(uname -r) ships none)"
	fi
	if [ ! -e /sys/kernel/tracing/events ] && [ ! -e /sys/kernel/debug/tracing/events ]; then
		if mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null; then
			MOUNTED_TRACEFS=1
			say "mounted tracefs on /sys/kernel/tracing for bcc (unmounted at exit)"
		fi
	fi
	# probe: can it compile and attach at all?
	local err=$LOG/syscount-probe.err
	if ! PYTHONUNBUFFERED=1 timeout 120 "$SYSCOUNT" -d 1 >"$LOG/syscount-probe.out" 2>"$err"; then
		SYSCOUNT_WHY="syscount-bpfcc failed its probe run: $(grep -m1 -E 'error|Error|Exception|Unable' "$err" | tr -s ' ' | cut -c1-200)"
		[ -n "$SYSCOUNT_WHY" ] || SYSCOUNT_WHY="syscount-bpfcc failed its probe run (see $err)"
		return 1
	fi
	SYSCOUNT_OK=1
}
KHEADERS_NOTE=""
setup_syscount || say "bcc syscount will NOT run: $SYSCOUNT_WHY"

# ---------------------------------------------------------------- helpers
now_ns() { date +%s%N; }

QUIET_JIFFIES=$(awk -v m="$FOREIGN_MAX" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%d", m * hz }')
# busy and steal jiffies summed over all CPUs: "busy steal"
cpu_jiffies() { awk '/^cpu / { print $2+$3+$4+$7+$8, $9; exit }' /proc/stat; }

# ids of the loaded tracing-kind BPF programs (tracing, tracepoints, kprobes, perf events),
# except uprobes: those hit only the processes (bcc: the PID) they were attached to, not ours
bpf_ids() {
	local up
	up=$(bpftool perf 2>/dev/null | awk '/ uprobe | uretprobe / { for (i = 1; i < NF; i++) if ($i == "prog_id") printf " %s ", $(i + 1) }')
	bpftool prog show 2>/dev/null | awk -F: -v up="$up" '
		/^[0-9]+: (tracing|raw_tracepoint|raw_tracepoint_writable|tracepoint|kprobe|perf_event) / {
			if (index(up, " " $1 " ") == 0) printf "%s ", $1 }'
}
# 1 if BPF run-time statistics were on (sysctl kernel.bpf_stats_enabled, or a BPF_ENABLE_STATS
# fd held by anyone: then our own fresh programs (MINE) show a run time): every BPF program then
# also pays for two clock reads per run
bpf_stats_on() {
	local id
	[ "$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null)" = 1 ] && { echo 1; return; }
	for id in $MINE; do
		bpftool prog show id "$id" 2>/dev/null | grep -q ' run_time_ns ' && { echo 1; return; }
	done
	echo 0
}
# those of them that are not ours (MINE: the ids our tool loaded)
MINE=""
foreign_bpf() {
	local id out=""
	for id in $(bpf_ids); do
		case " $MINE " in *" $id "*) ;; *) out="$out $id" ;; esac
	done
	echo "${out# }"
}

# Wait until the CPUs are (nearly) idle and no other tracer is loaded. Returns 1 on timeout.
wait_quiet() {
	local deadline=$(( $(date +%s) + QUIET_WAIT )) a b f waited=0 next_note=$(( $(date +%s) + 60 ))
	if over_budget; then
		say "time budget (TIME_BUDGET=${TIME_BUDGET} min) used up: measuring without waiting for quiet"
		return 1
	fi
	while :; do
		a=$(cpu_jiffies); sleep 1; b=$(cpu_jiffies)
		MINE=""; f=$(foreign_bpf)
		# at most FOREIGN_MAX CPUs busy over the last second, summed over all CPUs
		if [ $(( ${b%% *} - ${a%% *} )) -le "$QUIET_JIFFIES" ] && [ -z "$f" ]; then
			[ "$waited" = 1 ] && say "quiet again"
			return 0
		fi
		if [ "$waited" = 0 ]; then
			say "waiting for the machine to be quiet (busy $(( ${b%% *} - ${a%% *} )) jiffies/s${f:+, other tracers: $f})"
			waited=1
		fi
		if [ "$(date +%s)" -ge "$next_note" ]; then
			say "  still waiting (busy $(( ${b%% *} - ${a%% *} )) jiffies/s${f:+, other tracers: $f})"
			next_note=$(( $(date +%s) + 60 ))
		fi
		if over_budget || [ "$(date +%s)" -ge "$deadline" ]; then
			say "still not quiet after ${QUIET_WAIT}s: measuring anyway (this round may be discarded)"
			return 1
		fi
	done
}

# utime stime (clock ticks) of a process
proc_cpu() { awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"; }
proc_hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

wait_for() { # FILE PATTERN PID: wait until FILE has PATTERN (or PID died / timeout)
	local i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || return 1
		i=$((i + 1)); [ $i -le $((POLL_TIMEOUT * 50)) ] || return 1
		sleep 0.02
	done
}

stop_tool() { # PID: SIGINT, wait (bounded), then SIGKILL
	local i=0
	kill -INT "$1" 2>/dev/null || true
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $((POLL_TIMEOUT * 10)) ]; then kill -KILL "$1" 2>/dev/null || true; break; fi
		sleep 0.1
	done
	wait "$1" 2>/dev/null || true
}

# measure ROUND TRY WORKLOAD TOOL  -> one TSV line; returns 1 if disturbed
# WORKLOAD: sys | cpu; TOOL: none | pyhound | syscount
measure() {
	local round=$1 try=$2 wl=$3 tool=$4 tag="r$1t$2-$3-$4"
	local quiet=1 f0 f1 j0 j1 c0 c1 t0 t1 wpid out loop_s loop_cpu w_cpu hwm=0 tot="0 0" pre id
	local counted="" disturbed=0 foreign stats
	wait_quiet || quiet=0
	TOOL_PID=""
	MINE=""
	pre=$(bpf_ids)
	# env --default-signal=INT: a script's background jobs start with SIGINT ignored, and
	# Python (bcc) would then never print its table on SIGINT
	case $tool in
	pyhound)
		env --default-signal=INT "$PYHOUND" report --duration 3600 >"$LOG/$tag.report" 2>"$LOG/$tag.err" &
		TOOL_PID=$!
		wait_for "$LOG/$tag.err" watching "$TOOL_PID" || die "pyhound did not attach (see $LOG/$tag.err)"
		;;
	syscount)
		PYTHONUNBUFFERED=1 env --default-signal=INT "$SYSCOUNT" >"$LOG/$tag.report" 2>"$LOG/$tag.err" &
		TOOL_PID=$!
		wait_for "$LOG/$tag.report" '^Tracing' "$TOOL_PID" || die "syscount did not attach (see $LOG/$tag.err)"
		;;
	esac
	sleep 0.3 # let the tool settle after attaching
	for id in $(bpf_ids); do
		case " $pre " in *" $id "*) ;; *) MINE="$MINE $id" ;; esac
	done
	f0=$(foreign_bpf)
	[ -n "$TOOL_PID" ] && c0=$(proc_cpu "$TOOL_PID") || c0="0 0"
	j0=$(cpu_jiffies); t0=$(now_ns)
	case $wl in
	sys) "$PY" "$HERE/workloads/syscall_loop.py" "$SYSCALL_ITERS" "$OUTFILE" >"$LOG/$tag.out" & ;;
	cpu) "$PY" "$HERE/workloads/cpu_loop.py" "$CPU_ITERS" >"$LOG/$tag.out" & ;;
	esac
	wpid=$!
	wait "$wpid" || die "workload failed: $(cat "$LOG/$tag.out")"
	t1=$(now_ns); j1=$(cpu_jiffies)
	if [ -n "$TOOL_PID" ]; then
		c1=$(proc_cpu "$TOOL_PID")
		hwm=$(proc_hwm "$TOOL_PID")
	else c1="0 0"; fi
	f1=$(foreign_bpf)
	stats=$(bpf_stats_on)
	if [ -n "$TOOL_PID" ]; then
		tot=$(proc_cpu "$TOOL_PID")
		stop_tool "$TOOL_PID"
		TOOL_PID=""
	fi
	out=$(cat "$LOG/$tag.out")
	loop_s=$(printf '%s\n' "$out" | sed -n 's/.*loop_s=\([0-9.]*\).*/\1/p')
	loop_cpu=$(printf '%s\n' "$out" | sed -n 's/.*loop_cpu_s=\([0-9.]*\).*/\1/p')
	w_cpu=$(printf '%s\n' "$out" | sed -n 's/.* cpu_s=\([0-9.]*\).*/\1/p')
	# what pyhound itself counted for the workload (sanity check: getppid = N, write = N + a few)
	if [ "$tool" = pyhound ] && [ "$wl" = sys ]; then
		counted=$(awk -v pid="$wpid" '
			$1 == "==" && $2 == "PID" { inp = ($3 == pid) }
			inp && ($1 == "getppid" || $1 == "write") && $2 ~ /^[0-9]+$/ && !seen[$1]++ { printf "%s=%s,", $1, $2 }
		' "$LOG/$tag.report")
	fi
	# CPU used by anything but the workload and the tool during the run, in cores
	foreign=$(awk -v b0="${j0%% *}" -v b1="${j1%% *}" -v w="$w_cpu" -v c0="$c0" -v c1="$c1" \
		-v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(c0, a, " "); split(c1, b, " ")
		tool = (b[1] + b[2] - a[1] - a[2]) / hz
		sec = (t1 - t0) / 1e9
		printf "%.3f", ((b1 - b0) / hz - w - tool) / sec }')
	if [ "$quiet" = 0 ] || [ "$f0" != "$f1" ] || [ -n "$f1" ] ||
		awk -v x="$foreign" -v m="$FOREIGN_MAX" 'BEGIN { exit !(x > m) }'; then
		disturbed=1
	fi
	local steal=$(( ${j1##* } - ${j0##* } ))
	f1=$(printf '%s' "$f1" | tr ' ' ',')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$round" "$try" "$wl" "$tool" "$loop_s" "$loop_cpu" "$(( (t1 - t0) / 1000 ))" "$w_cpu" \
		"${c0%% *}" "${c0##* }" "${c1%% *}" "${c1##* }" "${tot%% *}" "${tot##* }" \
		"$hwm" "$foreign" "$steal" "$disturbed" "${counted%,}" "${f1:--}" "$stats" >>"$TSV.tmp"
	say "$(printf 'round %s  %-3s %-8s loop %8ss (cpu %ss)  foreign %5s cores%s' "$round" "$wl" "$tool" "$loop_s" "$loop_cpu" "$foreign" \
		"$([ "$disturbed" = 1 ] && echo '  DISTURBED')")${counted:+  pyhound counted ${counted%,}}"
	return $disturbed
}

# ---------------------------------------------------------------- run
CONDS="sys:none sys:pyhound cpu:none cpu:pyhound"
[ "$SYSCOUNT_OK" = 1 ] && CONDS="sys:none sys:pyhound sys:syscount cpu:none cpu:pyhound"
set -- $CONDS
NCOND=$#
printf 'round\ttry\tworkload\ttool\tloop_s\tloop_cpu_s\twall_us\twl_cpu_s\ttool_u0\ttool_s0\ttool_u1\ttool_s1\ttool_utot\ttool_stot\ttool_hwm_kb\tforeign_cores\tsteal_jiffies\tdisturbed\tcounted\tforeign_bpf\tbpf_stats\tkept\n' >"$TSV"

say "$("$PYHOUND" --version 2>/dev/null | head -n1 || echo '?'), $PY, $ROUNDS rounds, syscall loop $SYSCALL_ITERS iterations ($((2 * SYSCALL_ITERS)) syscalls), CPU loop $CPU_ITERS iterations; logs in $LOG"
say "warm-up (not counted)"
"$PY" "$HERE/workloads/syscall_loop.py" "$SYSCALL_ITERS" "$OUTFILE" >/dev/null
"$PY" "$HERE/workloads/cpu_loop.py" "$CPU_ITERS" >/dev/null

# Each round measures every condition once, in an order rotated by one every round. A
# measurement disturbed by other activity is discarded and taken again right away (after
# waiting for quiet), up to RETRIES times, so the round's conditions stay close in time.
discarded=0
for round in $(seq 1 "$ROUNDS"); do
	set -- $CONDS
	order=$(printf '%s\n' "$@" | awk -v s="$(( (round - 1) % NCOND ))" -v n="$NCOND" \
		'{ a[NR - 1] = $0 } END { for (i = 0; i < n; i++) print a[(i + s) % n] }')
	for c in $order; do
		try=1
		while :; do
			: >"$TSV.tmp"
			if measure "$round" "$try" "${c%%:*}" "${c##*:}"; then ok=1; else ok=0; fi
			if [ "$ok" = 1 ] || [ "$try" -gt "$RETRIES" ] || over_budget; then
				sed 's/$/\t1/' "$TSV.tmp" >>"$TSV"
				break
			fi
			say "  disturbed by other activity: discarded, measuring it again"
			sed 's/$/\t0/' "$TSV.tmp" >>"$TSV"
			discarded=$((discarded + 1))
			try=$((try + 1))
		done
	done
done
rm -f "$TSV.tmp"

# ---------------------------------------------------------------- analysis + RESULTS.md
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
export TSV RESULTS SECTION FOREIGN_MAX ROUNDS SYSCALL_ITERS CPU_ITERS PY SYSCOUNT_OK SYSCOUNT_WHY KHEADERS_NOTE \
	CPU_MODEL discarded LOG
export HZ_TICKS=$(getconf CLK_TCK) KERNEL="$(uname -r)" NCPU=$(nproc) \
	PYHOUND_VERSION="$("$PYHOUND" --version 2>/dev/null | head -n1 || true)" \
	PY_VERSION="$("$PY" -c 'import sys; print(sys.version.split()[0])')" \
	BCC_VERSION="$(dpkg-query -W -f='${Version}' bpfcc-tools 2>/dev/null || true)" \
	GIT_REV="$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || true)" \
	DATE_UTC="$(date -u '+%Y-%m-%d %H:%M UTC')"
"$PY" "$HERE/lib/syscalls_report.py"
