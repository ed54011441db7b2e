# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Check `pyhound calls --json` output against tests/workloads/calls.py.
# usage: calls_check.py REPORT.json PID G_MEAN_NS SOURCE [counts-only]
#        (exit 0, or 1 with the reasons)
import json
import re
import sys

rep = json.load(open(sys.argv[1]))
pid, g_mean, source = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
fail = []
procs = [p for p in rep["processes"] if p["pid"] == pid]
if not procs:
    fail.append("process %d not in the report" % pid)
elif procs[0]["source"] != source:
    fail.append("source %s, expected %s" % (procs[0]["source"], source))
fn = {}
for e in rep["functions"]:
    if e["pid"] == pid and e["file"].endswith("calls.py"):
        # 3.11+ report qualified names: the lambda is main.<locals>.<lambda>
        fn[e["function"].split(".")[-1] if "<lambda>" in e["function"] else e["function"]] = e
want = {"f": 100000, "g": 2500, "h": 1000, "k": 1000, "gen": 500, "coro": 300, "runner": 1,
        "<lambda>": 2000, "naïve_función": 100, "函数": 100}
for name, n in want.items():
    got = fn.get(name, {}).get("calls")
    if got != n:
        fail.append("%s: %s calls, expected %d" % (name, got, n))
# functions made by exec() and freed right after their one call: every call named, none
# under another function's name (a freed code object's address is often reused)
made, rows, unknown = {}, 0, 0
for e in rep["functions"]:
    if e["pid"] != pid:
        continue
    if e["function"].startswith("<unknown"):
        unknown += e["calls"]
    elif e["file"] == "<string>" and re.fullmatch(r"g\d+", e["function"]):
        made[e["function"]] = made.get(e["function"], 0) + e["calls"]
        rows += 1
bad = {k: v for k, v in made.items() if v != 40}
if len(made) != 50 or bad:
    fail.append("exec'd functions: %d names (want g0..g49), counts not 40: %s" %
                (len(made), dict(list(bad.items())[:5])))
if rows != len(made):
    fail.append("%d rows for %d exec'd functions: one row per function expected" % (rows, len(made)))
if unknown:
    fail.append("%d calls of unnamed code objects" % unknown)
counts_only = sys.argv[5:6] == ["counts-only"]
timed = source != "usdt:function__return" and not counts_only
if counts_only and any(e["timed"] for e in rep["functions"] if e["pid"] == pid):
    fail.append("--counts-only, yet calls were timed")
if timed and not fail:
    for name in ("f", "g", "k"):  # k runs right after h raised: pairing must hold
        if fn[name]["timed"] != want[name]:
            fail.append("%s: %d timed of %d" % (name, fn[name]["timed"], want[name]))
    if fn["h"]["timed"] != 0:
        fail.append("h: %d timed, but it always raises" % fn["h"]["timed"])
    elif not fn["h"].get("no_latency"):
        fail.append("h: no latency, and no reason why")
    if fn["gen"]["timed"] != 0 and fn["gen"]["timed"] > 500:
        fail.append("gen: %d timed" % fn["gen"]["timed"])
    # 3.11+ (RESUME): generators and coroutines timed from first start to final return, across
    # suspensions (issue 16 item 3); coro awaits asyncio.sleep(0) once, so each of its calls
    # spans at least a turn of the event loop, longer than f's
    if source == "uprobe:RESUME+RETURN":
        for name, n in (("gen", 500), ("coro", 300)):
            if fn[name]["timed"] != n:
                fail.append("%s: %d timed of %d" % (name, fn[name]["timed"], n))
        if fn["coro"]["timed"] and not fn["coro"]["mean_ns"] > fn["f"]["mean_ns"]:
            fail.append("coro: mean %.0f ns, not above f's %.0f ns" %
                        (fn["coro"]["mean_ns"], fn["f"]["mean_ns"]))
    m = fn["g"]["mean_ns"]
    if abs(m - g_mean) > 0.1 * g_mean:
        fail.append("g: mean %.0f ns, workload measured %.0f ns" % (m, g_mean))
    if fn["g"]["max_ns"] < m or fn["g"]["p99_ns"] < fn["g"]["p50_ns"]:
        fail.append("g: inconsistent max/p50/p99 %s" % fn["g"])
# percentiles are log2 bucket bounds capped at the largest latency measured (issue 16 item 2)
over = [(e["function"], e["p50_ns"], e["p99_ns"], e["max_ns"]) for e in rep["functions"]
        if e["pid"] == pid and e["timed"] and max(e["p50_ns"], e["p99_ns"]) > e["max_ns"]]
if over:
    fail.append("percentile bounds above the max: %s" % over[:3])
if rep["coverage"] < 0.99:
    fail.append("coverage %.3f with --budget 100" % rep["coverage"])
if fail:
    print("; ".join(fail))
    sys.exit(1)
