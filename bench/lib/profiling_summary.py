#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Markdown tables from bench/sampler.sh and bench/serve.sh output folders.

Usage: profiling_summary.py sampler OUT_DIR | serve OUT_DIR
Only reads the TSV files the scripts wrote; every number printed is computed from them.
"""
import csv
import os
import statistics as st
import sys


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return st.median(xs) if xs else None


def fmt(x, spec=".2f", none="n/a"):
    return none if x is None else format(x, spec)


def pctl(xs, p):
    """nearest-rank percentile"""
    xs = sorted(xs)
    k = max(1, -(-len(xs) * p // 100))
    return xs[int(k) - 1]


COND_NAMES = {
    "pyhound99": "pyhound record -F 99",
    "pyhound999": "pyhound record -F 999",
    "austin": "austin (default interval)",
    "austin1010": "austin -i 1010",
    "perf": "perf record -F 99 -g -a",
}


def sampler(out):
    runs = rows(os.path.join(out, "runs.tsv")) if os.path.exists(os.path.join(out, "runs.tsv")) else []
    if runs:
        by = {}
        for r in runs:
            by.setdefault((r["py"], r["workload"], r["round"]), {})[r["cond"]] = r
        keys = sorted({(r["py"], r["workload"]) for r in runs}, key=lambda k: (float(k[0]), k[1]))
        nrounds = len({r["round"] for r in runs})
        print(f"### Workload slowdown (paired ratio to the mean of the round's two baselines; "
              f"median of {nrounds} rounds, [min-max])\n")
        print("| CPython | workload | baseline work s (median) | baseline drift base2/base |"
              " tool | work time ratio | workload CPU ratio | samples/run (median) |")
        print("|---|---|---|---|---|---|---|---|")
        for py, w in keys:
            rounds = {k[2]: v for k, v in by.items() if k[:2] == (py, w)}
            base = [(num(c["base"]["work_s"]) + num(c["base2"]["work_s"])) / 2 for c in rounds.values()]
            drift = [num(c["base2"]["work_s"]) / num(c["base"]["work_s"]) for c in rounds.values()]
            for cond in ["pyhound99", "pyhound999", "austin", "austin1010", "perf"]:
                rat, crat, smp = [], [], []
                for c in rounds.values():
                    if cond not in c:
                        continue
                    b = (num(c["base"]["work_s"]) + num(c["base2"]["work_s"])) / 2
                    bc = (num(c["base"]["cpu_s"]) + num(c["base2"]["cpu_s"])) / 2
                    rat.append(num(c[cond]["work_s"]) / b)
                    crat.append(num(c[cond]["cpu_s"]) / bc)
                    smp.append(num(c[cond]["samples"]))
                if not rat:
                    continue
                print(f"| {py} | {w} | {fmt(med(base), '.3f')} | {fmt(med(drift), '.3f')} | "
                      f"{COND_NAMES[cond]} | {med(rat):.3f} [{min(rat):.3f}-{max(rat):.3f}] | "
                      f"{med(crat):.3f} | {fmt(med(smp), '.0f')} |")
        ld = [num(r.get("load1")) for r in runs if num(r.get("load1")) is not None]
        if ld:
            print(f"\nHost 1-min load average at the end of each run (2 CPUs): median "
                  f"{med(ld):.2f} [{min(ld):.2f}-{max(ld):.2f}].")
        print()
        print("### pyhound record's own cost during part A (median over rounds)\n")
        print("| CPython | workload | -F | pyhound CPU while the workload ran (s) | pyhound CPU, whole"
              " life incl. start-up and output (s) | peak RSS (MiB) | samples | drop_ringbuf |"
              " err_* (sum) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for py, w in keys:
            for cond in ["pyhound99", "pyhound999"]:
                rs = [r for r in runs if (r["py"], r["workload"], r["cond"]) == (py, w, cond)]
                if not rs:
                    continue
                g = lambda k: med([num(r[k]) for r in rs])
                drops = [num(r["drops"]) for r in rs]
                print(f"| {py} | {w} | {cond[7:]} | {fmt(g('tool_cpu_window_s'))} | "
                      f"{fmt(g('tool_cpu_s'))} | {fmt(g('tool_rss_kb') / 1024, '.1f')} | "
                      f"{fmt(g('samples'), '.0f')} | {fmt(med(drops), '.0f')} (max "
                      f"{fmt(max([d for d in drops if d is not None], default=None), '.0f')}) | "
                      f"{fmt(g('errs_or_stacks'), '.0f')} |")
        au = [r for r in runs if r["cond"].startswith("austin")]
        if au:
            empty = [r for r in au if num(r["errs_or_stacks"]) is not None and
                     num(r["samples"]) and num(r["errs_or_stacks"]) < 0.5 * num(r["samples"])]
            print(f"\naustin runs: {len(au)}; runs where fewer than half of austin's samples had a "
                  f"Python stack: {len(empty)}"
                  + (" (" + ", ".join(f"round {r['round']} {r['py']} {r['workload']} {r['cond']}"
                                       for r in empty) + ")" if empty else "") + ".")
        print()
    bpath = os.path.join(out, "busy.tsv")
    if os.path.exists(bpath):
        b = rows(bpath)
        print("### pyhound record's CPU with busy Python processes (system-wide)\n")
        print("| -F | busy processes | rounds | window (s) | pyhound CPU % of one core, median"
              " [min-max] | CPU whole life (s) | peak RSS (MiB) | samples/run | drop_ringbuf"
              " (max) | err_* (max) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for f, nb in sorted({(r["freq"], r["busy"]) for r in b}, key=lambda k: (int(k[0]), int(k[1]))):
            rs = [r for r in b if (r["freq"], r["busy"]) == (f, nb)]
            pc = [num(r["pct_of_one_core"]) for r in rs]
            g = lambda k: med([num(r[k]) for r in rs])
            mx = lambda k: max([num(r[k]) for r in rs if num(r[k]) is not None], default=None)
            print(f"| {f} | {rs[0]['busy']} | {len(rs)} | {fmt(g('window_s'), '.1f')} | "
                  f"{med(pc):.2f} [{min(pc):.2f}-{max(pc):.2f}] | {fmt(g('cpu_total_s'))} | "
                  f"{fmt(g('rss_peak_kb') / 1024, '.1f')} | {fmt(g('samples'), '.0f')} | "
                  f"{fmt(mx('drops'), '.0f')} | {fmt(mx('errs'), '.0f')} |")
        ld = [num(r.get("load1")) for r in b if num(r.get("load1")) is not None]
        if ld:
            print(f"\nHost 1-min load average at the end of each window: median {med(ld):.2f} "
                  f"[{min(ld):.2f}-{max(ld):.2f}] (our busy processes included).")
        print()


def serve(out):
    sc = rows(os.path.join(out, "scrapes.tsv"))
    rd = rows(os.path.join(out, "rounds.tsv"))
    print(f"### pyhound serve, {rd[0]['idle_procs']} idle Python processes "
          f"({len(rd)} rounds)\n")
    print("| round | scrapes | scrape median (ms) | p99 (ms) | max (ms) | body bytes (median) |"
          " series lines | our idle processes in metrics | all processes in metrics |")
    print("|---|---|---|---|---|---|---|---|---|")
    allt = []
    bad = [s for s in sc if s.get("http_code", "200") != "200"]
    for r in rd:
        ok = [s for s in sc if s["round"] == r["round"] and s.get("http_code", "200") == "200"]
        ts = [num(s["time_total_s"]) * 1000 for s in ok]
        sz = [num(s["size_bytes"]) for s in ok]
        if not ts:
            print(f"| {r['round']} | 0 of {sum(1 for s in sc if s['round'] == r['round'])} "
                  f"answered | | | | | | | |")
            continue
        allt += ts
        print(f"| {r['round']} | {len(ts)} | {med(ts):.2f} | {pctl(ts, 99):.2f} | {max(ts):.2f} |"
              f" {med(sz):.0f} | {r['series_lines']} | {r['procs_in_metrics']} | {r['all_procs_in_metrics']} |")
    if allt:
        print(f"| all | {len(allt)} | {med(allt):.2f} | {pctl(allt, 99):.2f} | {max(allt):.2f} | | | | |")
    print(f"\nFailed scrapes (no HTTP 200 within 60 s): {len(bad)}"
          + (" (" + ", ".join(f"round {s['round']} #{s['scrape']}" for s in bad) + ")" if bad else "")
          + ".\n")
    print("From the last scrape of each round:\n")
    print("| round | pyhound_python_processes | sc_stats entries | io_stats entries |"
          " pyhound_dropped_total, all reasons summed |")
    print("|---|---|---|---|---|")
    for r in rd:
        m = {}
        drop = 0.0
        mp = os.path.join(out, f"metrics-r{r['round']}.txt")
        if not os.path.exists(mp):
            print(f"| {r['round']} | no scrape answered | | | |")
            continue
        with open(mp) as f:
            for line in f:
                if line.startswith("pyhound_python_processes "):
                    m["procs"] = line.split()[1]
                elif line.startswith('pyhound_map_entries{map="sc_stats"}'):
                    m["sc"] = line.split()[1]
                elif line.startswith('pyhound_map_entries{map="io_stats"}'):
                    m["io"] = line.split()[1]
                elif line.startswith("pyhound_dropped_total"):
                    drop += float(line.split()[1])
        print(f"| {r['round']} | {m.get('procs', 'n/a')} | {m.get('sc', 'n/a')} | "
              f"{m.get('io', 'n/a')} | {drop:.0f} |")
    print()
    print("| round | serve CPU idle, % of one core | serve CPU with busy procs, % of one core |"
          " busy procs | RSS after idle window (MiB) | RSS at end (MiB) | peak RSS (MiB) |"
          " BPF run time charged to traced processes during busy window (% of one core) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rd:
        print(f"| {r['round']} | {num(r['idle_pct']):.2f} | {num(r['busy_pct']):.2f} | "
              f"{r['busy_procs']} | {num(r['rss_idle_kb']) / 1024:.1f} | "
              f"{num(r['rss_end_kb']) / 1024:.1f} | {num(r['hwm_kb']) / 1024:.1f} | "
              f"{fmt(num(r['bpf_busy_pct']))} |")
    g = lambda k: med([num(r.get(k)) for r in rd])
    print(f"| median | {g('idle_pct'):.2f} | {g('busy_pct'):.2f} | | {g('rss_idle_kb') / 1024:.1f}"
          f" | {g('rss_end_kb') / 1024:.1f} | {g('hwm_kb') / 1024:.1f} | {fmt(g('bpf_busy_pct'))} |")
    if g("load1_idle") is not None:
        print(f"\nHost 1-min load average (2 CPUs) at the end of the idle window: median "
              f"{g('load1_idle'):.2f}; at the end of the busy window: median {g('load1_busy'):.2f}.")
    print()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("sampler", "serve"):
        sys.exit(__doc__)
    {"sampler": sampler, "serve": serve}[sys.argv[1]](sys.argv[2])
