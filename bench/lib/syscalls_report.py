"""Summarise bench/syscalls.sh's measurements: Markdown on stdout and into bench/RESULTS.md.

Reads the TSV named by $TSV (one line per measurement, see syscalls.sh) and the run's
description from the environment. Only rounds marked kept=1 count; ratios are paired (each
condition divided by the baseline of the same round), then the median over rounds is taken.
"""
import os
import statistics as st

E = os.environ
HZ = int(E.get("HZ_TICKS", "100"))
ROUNDS_WANTED = int(E["ROUNDS"])
SYSCALLS = 2 * int(E["SYSCALL_ITERS"])
SYSCOUNT_OK = E.get("SYSCOUNT_OK") == "1"
INTRO = """# pyhound benchmarks

What pyhound costs the processes it watches, measured side by side with peer tools. Run them
all with `sudo make bench` (builds, installs what a benchmark needs from Debian's archive if
missing, runs every `bench/*.sh` and rewrites its section here). Numbers are medians of
alternating rounds (the conditions take turns within each round) on a 2-vCPU VM, so absolute
times drift between runs; compare the paired ratios, which are computed within each round.
"""

rows = []
with open(E["TSV"]) as f:
    head = f.readline().rstrip("\n").split("\t")
    for line in f:
        v = line.rstrip("\n").split("\t")
        rows.append(dict(zip(head, v)))
kept = [r for r in rows if r.get("kept") == "1"]
rounds = sorted({int(r["round"]) for r in kept})
by = {}
for r in kept:
    by[(int(r["round"]), r["workload"], r["tool"])] = r


def loop(rnd, wl, tool, key="loop_s"):
    r = by.get((rnd, wl, tool))
    return float(r[key]) if r and r.get(key) else None


def med(xs):
    xs = [x for x in xs if x is not None]
    return st.median(xs) if xs else None


def rng(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def ratios(wl, tool, key="loop_s"):
    out = []
    for rnd in rounds:
        b, w = loop(rnd, wl, "none", key), loop(rnd, wl, tool, key)
        if b and w:
            out.append(w / b)
    return out


def tool_cpu(r):
    """(user s, sys s) of the tool over the workload's run."""
    u = (int(r["tool_u1"]) - int(r["tool_u0"])) / HZ
    s = (int(r["tool_s1"]) - int(r["tool_s0"])) / HZ
    return u, s


def f2(x, fmt="{:.3f}"):
    return "n/a" if x is None else fmt.format(x)


def fr(xs):
    if not xs:
        return "n/a"
    lo, hi = min(xs), max(xs)
    return f"**{st.median(xs):.3f}×** ({lo:.3f}–{hi:.3f})"


conds = [("sys", "none"), ("sys", "pyhound")]
if SYSCOUNT_OK:
    conds.append(("sys", "syscount"))
conds += [("cpu", "none"), ("cpu", "pyhound")]
label_wl = {
    "sys": f"syscall-heavy: {int(E['SYSCALL_ITERS']):,} × (getppid + 16-byte os.write to a file) = {SYSCALLS:,} syscalls",
    "cpu": f"pure CPU: {int(E['CPU_ITERS']):,} iterations of integer arithmetic, no syscalls",
}
label_tool = {
    "none": "baseline (nothing running)",
    "pyhound": "`pyhound report` system-wide",
    "syscount": "bcc `syscount-bpfcc` system-wide",
}

L = []
L.append(f"Measured {E['DATE_UTC']} by `bench/syscalls.sh` ({E.get('PYHOUND_VERSION') or 'pyhound ?'}"
         f"{', commit ' + E['GIT_REV'] if E.get('GIT_REV') else ''}): kernel {E['KERNEL']}, "
         f"{E['NCPU']} vCPUs ({E['CPU_MODEL']}), Debian's `{E['PY']}` (CPython {E['PY_VERSION']}), "
         f"bcc {E.get('BCC_VERSION') or 'not installed'}. **{len(rounds)} rounds** kept"
         f" (wanted {ROUNDS_WANTED}); {E.get('discarded', '0')} measurements were discarded and taken again"
         f" because other processes or tracers were active during them. Times are the workload's own `perf_counter` around its"
         f" loop (interpreter start-up excluded); ratios are per-round paired ratios vs that round's"
         f" baseline, median (min–max).")
L.append("")
if not SYSCOUNT_OK:
    L.append(f"**bcc syscount could not run, so it is missing from the table:** {E.get('SYSCOUNT_WHY')}")
    L.append("")

L.append("| workload | condition | median loop wall time | paired ratio vs baseline (wall) | paired ratio (loop CPU time) | cost per syscall (wall) |")
L.append("|---|---|---|---|---|---|")
ns_per = {}
for wl, tool in conds:
    times = [loop(r, wl, tool) for r in rounds]
    if tool == "none":
        ratio = cratio = "1 (reference)"
        cost = "–"
    else:
        ratio = fr(ratios(wl, tool))
        cratio = fr(ratios(wl, tool, "loop_cpu_s")).replace("**", "")
        if wl == "sys":
            d = [(loop(r, wl, tool) - loop(r, wl, "none")) / SYSCALLS * 1e9
                 for r in rounds if loop(r, wl, tool) and loop(r, wl, "none")]
            ns_per[tool] = d
            cost = f"**{st.median(d):.0f} ns** ({min(d):.0f}–{max(d):.0f})" if d else "n/a"
        else:
            cost = "n/a (no syscalls)"
    L.append(f"| {label_wl[wl] if tool == 'none' else ''} | {label_tool[tool]} | "
             f"{f2(med(times))} s | {ratio} | {cratio} | {cost} |")
L.append("")
L.append("Loop CPU time = the workload's user+sys time over its loop (`time.process_time`),"
         " which is less sensitive than wall time to other processes competing for the CPUs; the"
         " tools' in-kernel work is charged to it as system time.")
L.append("")
L.append("Cost per syscall = (loop time with the tool − baseline loop time of the same round) / "
         f"{SYSCALLS:,} syscalls, median (min–max) over rounds. It is the in-kernel cost of the"
         " tool's sys_enter/sys_exit programs, which the traced process pays as system time.")
L.append("")

# the same, from the measurements taken while the machine was quiet only
quiet = {(int(r["round"]), r["workload"], r["tool"]) for r in kept if r["disturbed"] == "0"}
if len(quiet) < len(kept):
    L.append("Only the measurements taken while the machine was quiet (no other tracer loaded, other"
             f" processes under {E.get('FOREIGN_MAX', '?')} CPUs): ratio of medians vs the quiet baselines,"
             " and paired ratios over the rounds whose baseline and condition were both quiet:")
    L.append("")
    L.append("| workload | condition | quiet measurements | median loop wall time | ratio of medians | paired ratios (both quiet) | cost per syscall (medians) |")
    L.append("|---|---|---|---|---|---|---|")
    for wl, tool in conds:
        t = [loop(r, wl, tool) for r in rounds if (r, wl, tool) in quiet]
        b = [loop(r, wl, "none") for r in rounds if (r, wl, "none") in quiet]
        pr = [loop(r, wl, tool) / loop(r, wl, "none") for r in rounds
              if (r, wl, tool) in quiet and (r, wl, "none") in quiet]
        if tool == "none" or not t or not b:
            rom = "1 (reference)" if tool == "none" else "n/a"
            cost = "–"
        else:
            rom = f"{st.median(t) / st.median(b):.3f}×"
            cost = f"{(st.median(t) - st.median(b)) / SYSCALLS * 1e9:.0f} ns" if wl == "sys" else "n/a"
        prs = (f"{st.median(pr):.3f}× (n={len(pr)})" if pr else "none") if tool != "none" else "–"
        L.append(f"| {wl} | {label_tool[tool]} | {len(t)} of {len(rounds)} | {f2(med(t))} s | {rom} | {prs} | {cost} |")
    L.append("")
    L.append("Another pyhound (or bcc/bpftrace) watching system-wide taxes every syscall of the workload in"
             " *all* conditions, baseline included: that adds to both sides of the difference"
             " (so the cost per syscall stays about right) but inflates the baseline, which pulls the ratios"
             " towards 1. The quiet-only figures are the ones to trust when they disagree.")
    L.append("")

# the tools' own cost during the syscall-heavy run
L.append("Cost of the tool process itself during the syscall-heavy run (user+sys from"
         " `/proc/PID/stat`, between the workload's start and its exit; peak RSS = `VmHWM`),"
         " median (min–max) over rounds:")
L.append("")
L.append("| tool | CPU during the run (user + sys) | share of one CPU | CPU over its whole life | peak RSS (VmHWM) |")
L.append("|---|---|---|---|---|")
for tool in ["pyhound"] + (["syscount"] if SYSCOUNT_OK else []):
    rs = [by[(r, "sys", tool)] for r in rounds if (r, "sys", tool) in by]
    if not rs:
        continue
    us = [tool_cpu(r) for r in rs]
    tot = [u + s for u, s in us]
    share = [(u + s) / (int(r["wall_us"]) / 1e6) for (u, s), r in zip(us, rs)]
    life = [(int(r["tool_utot"]) + int(r["tool_stot"])) / HZ for r in rs]
    hwm = [int(r["tool_hwm_kb"]) / 1024 for r in rs]
    L.append(f"| {label_tool[tool]} | {st.median(tot) * 1e3:.0f} ms ({min(tot) * 1e3:.0f}–{max(tot) * 1e3:.0f}; "
             f"user {st.median([u for u, _ in us]) * 1e3:.0f} + sys {st.median([s for _, s in us]) * 1e3:.0f}) | "
             f"{st.median(share) * 100:.1f}% | {st.median(life) * 1e3:.0f} ms | "
             f"{st.median(hwm):.1f} MiB (max {max(hwm):.1f}) |")
L.append("")
L.append(f"CPU times come in clock ticks of {1000 // HZ} ms. A tool's \"whole life\" includes"
         " loading and attaching its BPF programs (bcc compiles them with clang at start) and"
         " printing its report.")
L.append("")

# goals
if not quiet:
    L.append("- **No measurement of this run was taken on a quiet machine, so it cannot judge the goals**"
             " (under 1.3× on the pure-syscall loop; no measurable slowdown without syscalls): other"
             " tracers taxed every condition and other processes competed for both CPUs. The verdicts"
             " below are what the disturbed numbers say, for the record only.")
sys_r = ratios("sys", "pyhound")
cpu_r = ratios("cpu", "pyhound")
base_cpu = [loop(r, "cpu", "none") for r in rounds]
if sys_r:
    m = st.median(sys_r)
    L.append(f"- Goal 1, under 1.3× on the pure-syscall loop: **{'met' if m < 1.3 else 'NOT met'}**"
             f" (median paired ratio {m:.3f}×, {sum(x < 1.3 for x in sys_r)} of {len(sys_r)} rounds under 1.3×).")
if cpu_r:
    m = st.median(cpu_r)
    lo, hi = rng(base_cpu)
    spread = (hi / lo - 1) * 100 if lo else 0
    ok = abs(m - 1) <= 0.02
    L.append(f"- Goal 2, no measurable slowdown on a no-syscall process: **{'met' if ok else 'NOT met'}**"
             f" (median paired ratio {m:.3f}×, range {min(cpu_r):.3f}–{max(cpu_r):.3f}; counted as"
             f" measurable above ±2%, the run-to-run noise of steady workloads here; the baseline's own"
             f" spread this run was {spread:.1f}%).")
L.append("")

# sanity check + noise
counted = [by[(r, "sys", "pyhound")].get("counted", "") for r in rounds if (r, "sys", "pyhound") in by]
if counted:
    L.append(f"Check: in every pyhound round its report for the workload PID counted "
             f"{'; '.join(sorted(set(c or 'nothing (!)' for c in counted)))}"
             f" (the loop makes {SYSCALLS // 2:,} of each; the extra writes are the interpreter's own).")
fc = [float(r["foreign_cores"]) for r in kept]
dist_rounds = sorted({int(r["round"]) for r in kept if r["disturbed"] == "1"})
if dist_rounds:
    nd = sum(r["disturbed"] == "1" for r in kept)
    L.append(f"**{nd} kept measurement(s), in round(s) {', '.join(map(str, dist_rounds))}, ran while the"
             " machine was not quiet** (other activity above the threshold, or another tracer loaded;"
             " retries or the time budget ran out), so treat those rounds with care: see the per-round"
             " table.")
steal = sum(int(r["steal_jiffies"]) for r in kept)
ns = sum(r.get("bpf_stats") == "1" for r in kept)
if ns:
    L.append(f"BPF run-time statistics were switched on by someone else during {ns} of the {len(kept)} kept"
             " measurements (a held BPF_ENABLE_STATS or kernel.bpf_stats_enabled): every BPF program,"
             " pyhound's and syscount's included, then also pays two clock reads per run.")
L.append(f"Other activity during the kept measurements: median {st.median(fc):.3f}, max {max(fc):.3f}"
         f" CPUs used by anything but the workload and the tool; {steal} jiffies of steal time in all.")
L.append("")

# raw data
L.append("<details><summary>Per-round loop wall times (s); order = the order the round ran them in</summary>")
L.append("")
hdr = ["round", "order"] + [f"{wl} {t}" for wl, t in conds] + ["pyhound CPU (ms)", "pyhound VmHWM (MiB)", "other CPU use (max, CPUs)", "quiet"]
L.append("| " + " | ".join(hdr) + " |")
L.append("|" + "---|" * len(hdr))
for rnd in rounds:
    rs = [r for r in kept if int(r["round"]) == rnd]
    order = " → ".join(f"{r['workload']}/{r['tool']}" for r in rs)
    vals = [f2(loop(rnd, wl, t)) for wl, t in conds]
    p = by.get((rnd, "sys", "pyhound"))
    pc = f"{sum(tool_cpu(p)) * 1e3:.0f}" if p else "n/a"
    ph = f"{int(p['tool_hwm_kb']) / 1024:.1f}" if p else "n/a"
    oc = max(float(r["foreign_cores"]) for r in rs)
    q = "no" if any(r["disturbed"] == "1" for r in rs) else "yes"
    L.append(f"| {rnd} | {order} | " + " | ".join(vals) + f" | {pc} | {ph} | {oc:.2f} | {q} |")
L.append("")
L.append("</details>")
L.append("")
if E.get("KHEADERS_NOTE") and SYSCOUNT_OK:
    L.append(f"bcc setup: {E['KHEADERS_NOTE']}; tracefs mounted on /sys/kernel/tracing (bcc's"
             " TRACEPOINT_PROBE reads the tracepoint formats there).")
    L.append("")
L.append(f"Reproduce: `sudo make bench` or `sudo ROUNDS={ROUNDS_WANTED} bench/syscalls.sh build/pyhound`"
         f" (knobs: ROUNDS, SYSCALL_ITERS, CPU_ITERS, QUIET_WAIT, FOREIGN_MAX, SKIP_SYSCOUNT).")

body = "\n".join(L).rstrip() + "\n"
print()
print(E["SECTION"])
print()
print(body)

# ---- write RESULTS.md: replace our section, keep the others
path = E["RESULTS"]
try:
    with open(path) as f:
        old = f.read().splitlines()
except FileNotFoundError:
    old = INTRO.rstrip("\n").splitlines()
out, i, done = [], 0, False
while i < len(old):
    if old[i].strip() == E["SECTION"]:
        out += [E["SECTION"], ""] + body.rstrip("\n").splitlines() + [""]
        done = True
        i += 1
        while i < len(old) and not old[i].startswith("## "):
            i += 1
        continue
    out.append(old[i])
    i += 1
if not done:
    while out and not out[-1].strip():
        out.pop()
    out += ["", E["SECTION"], ""] + body.rstrip("\n").splitlines() + [""]
while out and not out[-1].strip():
    out.pop()
with open(path, "w") as f:
    f.write("\n".join(out) + "\n")
print(f"(written to {path}; raw measurements in {E['LOG']})")
