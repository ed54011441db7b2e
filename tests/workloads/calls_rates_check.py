# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Check `pyhound calls --json` at a budget below 100 against a workload's own counts: every
# function named is in the table (none vanishes between windows), its calls estimated over the
# run (estimated_calls) within a factor 2 of the workload's count (a lower bound: between the
# calls counted and 1.25 times the truth), and the probes' modelled cost
# within the budget (10% slack for the hit rate changing between windows).
# The windows must cover less than max_coverage of the run (default 0.5: a CPU-bound workload,
# whose probes cost much; an I/O-bound one on a quiet host may be covered far more within the
# same budget, and is checked with max_coverage=1: windowed at all).
# usage: calls_rates_check.py REPORT.json PID BUDGET [max_coverage=X] FUNC=COUNT ...
# (exit 0, or 1 with reasons)
import json
import sys

rep = json.load(open(sys.argv[1]))
pid, budget = int(sys.argv[2]), float(sys.argv[3])
args = dict(kv.split("=", 1) for kv in sys.argv[4:])
max_coverage = float(args.pop("max_coverage", "0.5"))
want = dict((k, int(v)) for k, v in args.items())
fail = []
fn = dict((e["function"], e) for e in rep["functions"] if e["pid"] == pid)
if rep["windows"] < 2:
    fail.append("windows %d" % rep["windows"])
if not 0 < rep["coverage"] < max_coverage:
    fail.append("coverage %.3f" % rep["coverage"])
for name, n in want.items():
    e = fn.get(name)
    if not e:
        fail.append("%s: missing (it made %d calls)" % (name, n))
        continue
    est = e["estimated_calls"]
    # a lower bound may be low, but not above the truth (25% slack: the workload counts from
    # before pyhound attached, and the estimate is a sample)
    lo, hi = (e["calls"], 1.25 * n) if e["rate_is_lower_bound"] else (0.5 * n, 2 * n)
    if not 0 < e["calls"] <= n or not lo <= est <= hi:
        fail.append("%s: %d counted, %.0f estimated (%s%s), made %d" %
                    (name, e["calls"], est, e["rate_basis"],
                     ", lower bound" if e["rate_is_lower_bound"] else "", n))
    rate = est / rep["duration_s"]
    if abs(e["calls_per_s"] - rate) > 0.01 * rate + 1:
        fail.append("%s: %.0f calls/s, not per second of the run (%.0f)" %
                    (name, e["calls_per_s"], rate))
if not 0 < rep["probe_cost_pct"] <= 1.1 * budget:
    fail.append("probes took %.2f%% of the run, budget %g%%" % (rep["probe_cost_pct"], budget))
print("; ".join(fail) or "ok: windows %d coverage %.3f cost %.2f%% %s" %
      (rep["windows"], rep["coverage"], rep["probe_cost_pct"],
       ", ".join("%s %d/%.0f/%d" % (k, fn[k]["calls"], fn[k]["estimated_calls"], v)
                 for k, v in want.items() if k in fn)))
sys.exit(1 if fail else 0)
