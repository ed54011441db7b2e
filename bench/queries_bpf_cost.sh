#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# BPF time per program of `pyhound queries` on the SQLite point-query loop (bench/queries_point.py),
# from the kernel BPF statistics (kernel.bpf_stats_enabled is turned on for the run only, then
# restored): runs and ns per run of each queries program, and per query.
# Usage: bench/queries_bpf_cost.sh PYHOUND N   (root)
set -e
PH=$1; N=$2
cd "$(dirname "$0")/.."
T=$(mktemp -d)
python3.11 bench/queries_point.py 2000 $T/kv.db >/dev/null
OLD_STATS=$(cat /proc/sys/kernel/bpf_stats_enabled)
sysctl -q kernel.bpf_stats_enabled=1
coproc W { /usr/bin/python3.11 bench/queries_point.py wait $N $T/kv.db; }
read -r ready pid <&${W[0]}
$PH queries --pid $pid --duration 600 >$T/out 2>$T/err &
P=$!
until grep -q "following the database queries" $T/err; do sleep 0.05; done
echo go >&${W[1]}
read -r res <&${W[0]}
echo "workload: $res"
bpftool -j prog show | python3 -c '
import json,sys
for p in json.load(sys.stdin):
    n=p.get("name",""); c=p.get("run_cnt",0)
    if c and (n.startswith("sqlite") or n.startswith("pq_")):
        print("%-18s runs %8d %5.0f ns/run %5.0f ns/query" % (n, c, p["run_time_ns"]/c, p["run_time_ns"]/'$N'))'
sysctl -q kernel.bpf_stats_enabled="$OLD_STATS"
kill -INT $P; wait $P || true
kill $W_PID 2>/dev/null || true
rm -rf $T
