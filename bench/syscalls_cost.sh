#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What pyhound's syscall programs (bpf/syscalls.bpf.c) cost per syscall, against the floor of an
# empty tp_btf sys_enter/sys_exit pair (bench/floor/empty.bpf.c), for one or more pyhound
# binaries side by side (e.g. before and after a change):
#
#   bench/syscalls_cost.sh [PYHOUND ...]      (run as root; default build/pyhound)
#
# 1. BPF run time (kernel.bpf_stats_enabled on for these measurements only): run_time_ns /
#    run_cnt of the sys_enter and sys_exit programs over a fixed workload, under
#    `pyhound report` (system-wide) or the floor pair:
#      tracked    bench/workloads/syscall_loop.py (a Python process pyhound tracks from exec)
#      untracked  dd if=/dev/zero of=/dev/null bs=1 count=DD_COUNT (what every other process
#                 on the host pays)
#    Other processes' syscalls during the window are counted too (run_cnt says how many).
# 2. Wall time of the syscall loop (stats off): baseline | floor pair | each pyhound, ROUNDS
#    rounds with the order rotated every round; medians and per-round paired ratios.
# Before each measurement the script waits (up to QUIET_WAIT s) until no other tracing BPF program
# is loaded and the CPUs are idle; a measurement during which another tracer appeared is taken
# again (up to RETRIES times, then kept and counted as disturbed).
# Markdown on stdout. Environment (defaults): ROUNDS (5), ITERS (700000), DD_COUNT (1000000),
# PY (/usr/bin/python3.11), SCRATCH (/var/tmp/pyhound-bench), QUIET_WAIT (300), RETRIES (5),
# WALL (1; 0 skips part 2).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-5}
ITERS=${ITERS:-700000}
DD_COUNT=${DD_COUNT:-1000000}
PY=${PY:-/usr/bin/python3.11}
SCRATCH=${SCRATCH:-/var/tmp/pyhound-bench}
QUIET_WAIT=${QUIET_WAIT:-300}
RETRIES=${RETRIES:-5}
WALL=${WALL:-1}
[ $# -gt 0 ] || set -- "$SRC/build/pyhound"
TOOLS=("$@")

say() { printf 'bench/syscalls_cost: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (BPF)"
for t in "${TOOLS[@]}"; do [ -x "$t" ] || die "no pyhound binary at $t"; done

mkdir -p "$SCRATCH/floor"
LOG=$(mktemp -d "$SCRATCH/cost-XXXXXX")
OUTFILE=$SCRATCH/cost_loop.out
FLOOR_OBJ=$SCRATCH/floor/empty.bpf.o
FLOOR_BIN=$SCRATCH/floor/attach
clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I"$SRC/vmlinux/x86" \
	-c "$HERE/floor/empty.bpf.c" -o "$FLOOR_OBJ" || die "cannot build the floor programs"
cc -O2 -Wall -Wextra -Werror -Wno-unused-parameter "$HERE/floor/attach.c" -lbpf -o "$FLOOR_BIN" ||
	die "cannot build the floor loader"

STATS0=$(cat /proc/sys/kernel/bpf_stats_enabled)
TOOL_PID=""
cleanup() {
	set +e
	echo "$STATS0" >/proc/sys/kernel/bpf_stats_enabled
	if [ -n "$TOOL_PID" ]; then
		kill -INT "$TOOL_PID" 2>/dev/null
		wait "$TOOL_PID" 2>/dev/null
	fi
	rm -f "$OUTFILE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# "id name" of every loaded program
prog_ids() { bpftool -j prog show | "$PY" -c '
import json, sys
for p in json.load(sys.stdin):
    print(p["id"], p.get("name", "-"))'; }
# ids of the programs a process holds (program and link fds)
owned_ids() { cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { printf " %s ", $2 }'; }

# ids of loaded tracing-kind programs (tracing, tracepoints, kprobes/uprobes, perf events) that
# are not the current tool's (MINE)
MINE=""
foreign_bpf() {
	bpftool prog show 2>/dev/null | awk -F: -v mine=" $MINE " '
		/^[0-9]+: (tracing|raw_tracepoint|tracepoint|kprobe|perf_event) / {
			if (index(mine, " " $1 " ") == 0) printf "%s ", $1 }'
}
busy_jiffies() { awk '/^cpu / { print $2+$3+$4+$7+$8; exit }' /proc/stat; }
# wait until no other tracer is loaded and other processes use under 0.15 CPUs
wait_quiet() {
	local deadline=$(( $(date +%s) + QUIET_WAIT )) a b noted=0
	while :; do
		a=$(busy_jiffies); sleep 0.5; b=$(busy_jiffies)
		[ -z "$(foreign_bpf)" ] && [ $((b - a)) -le 8 ] && return 0
		[ $noted = 1 ] || say "waiting for quiet (other tracers: $(foreign_bpf)busy $((b - a)) jiffies/0.5 s)"
		noted=1
		[ "$(date +%s)" -lt "$deadline" ] || { say "not quiet after ${QUIET_WAIT} s: measuring anyway"; return 1; }
	done
}
DISTURBED=0

# start TOOL (floor | a pyhound binary) and wait until it is attached; sets TOOL_PID, ENTER, EXIT,
# MINE
start_tool() {
	local pre i=0 owned
	pre=$(prog_ids | awk '{ print $1 }' | tr '\n' ' ')
	if [ "$1" = floor ]; then
		"$FLOOR_BIN" "$FLOOR_OBJ" >"$LOG/tool.out" 2>"$LOG/tool.err" &
		TOOL_PID=$!
		until grep -q attached "$LOG/tool.out" 2>/dev/null; do
			kill -0 "$TOOL_PID" 2>/dev/null || die "floor loader failed: $(cat "$LOG/tool.err")"
			sleep 0.02
		done
	else
		env --default-signal=INT "$1" report --duration 3600 >"$LOG/tool.out" 2>"$LOG/tool.err" &
		TOOL_PID=$!
		until grep -q watching "$LOG/tool.err" 2>/dev/null; do
			kill -0 "$TOOL_PID" 2>/dev/null || die "pyhound failed: $(cat "$LOG/tool.err")"
			i=$((i + 1)); [ $i -lt 3000 ] || die "pyhound did not attach"
			sleep 0.02
		done
	fi
	sleep 0.3
	for i in 1 2 3 4 5; do
		ENTER=""; EXIT=""; MINE=""
		owned=$(owned_ids "$TOOL_PID")
		while read -r id name; do
			case " $pre " in *" $id "*) continue ;; esac
			case $owned in *" $id "*) ;; *) continue ;; esac
			MINE="$MINE $id"
			case $name in
			sc_enter|sc_enter_compat|floor_enter) ENTER=$id ;;
			sc_exit|floor_exit) EXIT=$id ;;
			esac
		done < <(prog_ids)
		[ -n "$ENTER" ] && [ -n "$EXIT" ] && return 0
		sleep 0.5
	done
	die "cannot find the sys_enter/sys_exit programs of $1 (new programs:$MINE)"
}
stop_tool() {
	kill -INT "$TOOL_PID" 2>/dev/null || true
	wait "$TOOL_PID" 2>/dev/null || true
	TOOL_PID=""
	MINE=""
}
# "run_time_ns run_cnt" of a program
prog_stats() { bpftool -j prog show id "$1" | "$PY" -c '
import json, sys
p = json.load(sys.stdin)
print(p.get("run_time_ns", 0), p.get("run_cnt", 0))'; }

run_workload() { # tracked | untracked
	case $1 in
	tracked) "$PY" "$HERE/workloads/syscall_loop.py" "$ITERS" "$OUTFILE" ;;
	untracked) dd if=/dev/zero of=/dev/null bs=1 count="$DD_COUNT" status=none ;;
	esac
}

name_of() { # a tool's label: floor, or its position and path
	local i
	[ "$1" = floor ] && { echo "empty tp_btf pair (floor)"; return; }
	for i in "${!TOOLS[@]}"; do
		[ "${TOOLS[$i]}" = "$1" ] && { echo "pyhound #$((i + 1)) (${TOOLS[$i]})"; return; }
	done
}

# ---------------------------------------------------------------- 1. BPF run time
BPF_TSV=$LOG/bpf.tsv
: >"$BPF_TSV"
echo 1 >/proc/sys/kernel/bpf_stats_enabled
for round in $(seq 1 "$ROUNDS"); do
	for tool in floor "${TOOLS[@]}"; do
		for wl in tracked untracked; do
			try=1
			while :; do
				wait_quiet || true
				start_tool "$tool"
				read -r et0 ec0 < <(prog_stats "$ENTER")
				read -r xt0 xc0 < <(prog_stats "$EXIT")
				run_workload "$wl" >/dev/null
				read -r et1 ec1 < <(prog_stats "$ENTER")
				read -r xt1 xc1 < <(prog_stats "$EXIT")
				f=$(foreign_bpf)
				stop_tool
				[ -n "$f" ] && [ $try -le "$RETRIES" ] && { say "  another tracer ($f) appeared: again"; try=$((try + 1)); continue; }
				[ -n "$f" ] && DISTURBED=$((DISTURBED + 1))
				break
			done
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$tool" "$wl" \
				$((et1 - et0)) $((ec1 - ec0)) $((xt1 - xt0)) $((xc1 - xc0)) >>"$BPF_TSV"
			say "round $round $wl $(name_of "$tool"): enter $(( (et1 - et0) / (ec1 - ec0 + 1) )) ns x $((ec1 - ec0)), exit $(( (xt1 - xt0) / (xc1 - xc0 + 1) )) ns x $((xc1 - xc0))"
		done
	done
done
echo "$STATS0" >/proc/sys/kernel/bpf_stats_enabled

# ---------------------------------------------------------------- 2. wall time
WALL_TSV=$LOG/wall.tsv
: >"$WALL_TSV"
CONDS=(none floor "${TOOLS[@]}")
N=${#CONDS[@]}
[ "$WALL" = 1 ] || ROUNDS_WALL=0
for round in $(seq 1 "${ROUNDS_WALL:-$ROUNDS}"); do
	for k in $(seq 0 $((N - 1))); do
		c=${CONDS[$(( (k + round - 1) % N ))]}
		try=1
		while :; do
			wait_quiet || true
			[ "$c" = none ] || start_tool "$c"
			out=$("$PY" "$HERE/workloads/syscall_loop.py" "$ITERS" "$OUTFILE")
			f=$(foreign_bpf)
			[ "$c" = none ] || stop_tool
			[ -n "$f" ] && [ $try -le "$RETRIES" ] && { say "  another tracer ($f) appeared: again"; try=$((try + 1)); continue; }
			[ -n "$f" ] && DISTURBED=$((DISTURBED + 1))
			break
		done
		loop=$(printf '%s\n' "$out" | sed -n 's/.*loop_s=\([0-9.]*\).*/\1/p')
		printf '%s\t%s\t%s\n' "$round" "$c" "$loop" >>"$WALL_TSV"
		say "round $round wall $c: $loop s"
	done
done

# ---------------------------------------------------------------- summary
export BPF_TSV WALL_TSV ITERS DD_COUNT ROUNDS DISTURBED
export TOOL_NAMES="$(for t in floor "${TOOLS[@]}"; do printf '%s=%s\n' "$t" "$(name_of "$t")"; done)"
"$PY" - <<'EOF'
import os, statistics as st
E = os.environ
names = dict(l.split("=", 1) for l in E["TOOL_NAMES"].splitlines())
names["none"] = "baseline (nothing attached)"
bpf = [l.rstrip("\n").split("\t") for l in open(E["BPF_TSV"])]
print(f"BPF run time per program run (kernel.bpf_stats_enabled), median over {E['ROUNDS']} rounds; "
      f"tracked = syscall_loop.py {E['ITERS']} iterations under the tool, untracked = "
      f"dd bs=1 count={E['DD_COUNT']}:\n")
print("| programs | workload | sys_enter ns/run | sys_exit ns/run | enter+exit ns per syscall | runs counted (enter) |")
print("|---|---|---|---|---|---|")
for tool in names:
    if tool == "none":
        continue
    for wl in ("tracked", "untracked"):
        rs = [r for r in bpf if r[1] == tool and r[2] == wl]
        if not rs:
            continue
        en = [int(r[3]) / max(int(r[4]), 1) for r in rs]
        ex = [int(r[5]) / max(int(r[6]), 1) for r in rs]
        pair = [a + b for a, b in zip(en, ex)]
        cnt = st.median(int(r[4]) for r in rs)
        print(f"| {names[tool]} | {wl} | {st.median(en):.0f} | {st.median(ex):.0f} | "
              f"**{st.median(pair):.0f}** ({min(pair):.0f}–{max(pair):.0f}) | {cnt:,.0f} |")
wall = [l.rstrip("\n").split("\t") for l in open(E["WALL_TSV"])]
if not wall:
    raise SystemExit(0)
base = {r[0]: float(r[2]) for r in wall if r[1] == "none"}
nsys = 2 * int(E["ITERS"])
print(f"\nWall time of syscall_loop.py ({E['ITERS']} iterations = {nsys:,} syscalls, stats off), "
      f"median over {E['ROUNDS']} rounds, paired ratio vs the same round's baseline:\n")
print("| condition | median loop s | paired ratio median (min–max) | ns per syscall over baseline |")
print("|---|---|---|---|")
for tool in ["none"] + [t for t in names if t != "none"]:
    rs = [r for r in wall if r[1] == tool]
    if not rs:
        continue
    t = [float(r[2]) for r in rs]
    ratio = [float(r[2]) / base[r[0]] for r in rs]
    cost = [(float(r[2]) - base[r[0]]) * 1e9 / nsys for r in rs]
    print(f"| {names[tool]} | {st.median(t):.3f} | {st.median(ratio):.3f}× "
          f"({min(ratio):.3f}–{max(ratio):.3f}) | {st.median(cost):.0f} |")
EOF
[ "$DISTURBED" = 0 ] || say "$DISTURBED measurement(s) kept although another tracer was loaded"
say "raw measurements in $LOG"
