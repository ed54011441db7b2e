# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# For test_findings_code.c: reads `pyhound report --json` on stdin and checks, for each
# "PID:KIND:LABEL" argument, that the process has exactly one code finding, of that kind, at
# function FUNC and line LINE, or exactly one I/O finding of that kind on file fds (KIND
# "tiny-reads.socket": on socket fds; KIND "none": no code or I/O finding, with >= 50 samples;
# "noio": none, however many samples). Prints what is wrong.
import json
import os
import sys

CODE = {"linear-membership", "string-concat", "nested-loop", "numeric-loop", "deep-recursion",
        "repeated-arguments",
        "tiny-writes", "tiny-reads", "chatty-round-trips"}
IO = {"tiny-writes", "tiny-reads", "chatty-round-trips"}
# ARG_DISTINCT=N: the number of distinct argument tuples the workload used (drawn per run); a
# repeated-arguments finding may see no more than N, and all N once it has 20 sampled calls per
# tuple (missing one then has odds under N * e^-20)
DISTINCT = int(os.environ.get("ARG_DISTINCT") or 0)


def distinct_ok(f):
    d, calls = f.get("arg_distinct", -1), f.get("arg_calls", 0)
    return 0 < d <= DISTINCT and (d == DISTINCT or calls < 20 * DISTINCT)


func, line = sys.argv[1], int(sys.argv[2])
r = json.load(sys.stdin)
procs = {p["pid"]: p for p in r["processes"]}
bad = 0
for arg in sys.argv[3:]:
    pid, kind, label = arg.split(":", 2)
    kind, _, fd_kind = kind.partition(".")
    fd_kind = fd_kind or "file"
    p = procs.get(int(pid))
    if p is None:
        print("%s: not in the report" % label)
        bad += 1
        continue
    got = [f for f in p["findings"] if f["kind"] in CODE]
    desc = ", ".join("%s %s:%s" % (f["kind"], f.get("function"), f.get("line")) for f in got)
    hot = [(h["name"], h["self"], h["hot_line"], [(o["opcode"], o["samples"]) for o in h["hot_line_opcodes"]]) for h in p["hot_functions"][:3]]
    if kind == "noio":  # no finding at all, whatever the samples
        kind = "none"
    elif kind not in IO and p["samples"] < 50:
        print("%s: only %d samples" % (label, p["samples"]))
        bad += 1
    elif kind == "none":
        if got:
            print("%s: false finding: %s; hot %s" % (label, desc, hot))
            bad += 1
    elif kind in IO and (len(got) != 1 or got[0]["kind"] != kind or got[0]["fd_kind"] != fd_kind):
        print("%s: want exactly %s on %s fds, got [%s]" % (label, kind, fd_kind, desc))
        bad += 1
    elif kind not in IO and (len(got) != 1 or got[0]["kind"] != kind or
                             got[0]["function"] != func or got[0]["line"] != line):
        print("%s: want exactly %s %s:%d, got [%s]; %d samples; hot %s" % (label, kind, func, line, desc, p["samples"], hot))
        bad += 1
    elif kind == "repeated-arguments" and DISTINCT and not distinct_ok(got[0]):
        print("%s: the workload called %s with %d distinct argument tuples; the finding saw %d "
              "in %d sampled calls" % (label, func, DISTINCT, got[0].get("arg_distinct", -1),
                                       got[0].get("arg_calls", -1)))
        bad += 1
    else:
        print("%s: ok (%s)" % (label, got[0]["message"] if kind in IO else
                               "%s, %.0f%% of %d samples" % (kind, 100 * got[0]["share"], p["samples"])) +
              (" %d distinct of %d drawn in %d sampled calls" % (
                  got[0]["arg_distinct"], DISTINCT, got[0]["arg_calls"])
               if kind == "repeated-arguments" and DISTINCT else ""))
    if kind == "linear-membership":
        h = [h for h in p["hot_functions"] if h["name"] == func and h["hot_line"] == line]
        tot = h[0]["hot_line_on_cpu"] if h else 0
        mem = sum(o["samples"] for o in h[0]["hot_line_opcodes"]
                  if o["opcode"].startswith("CONTAINS_OP") or o["opcode"] in ("COMPARE_OP in",)) if h else 0
        if not tot or mem < 0.8 * tot:
            print("%s: membership line %d: %d of %d samples on CONTAINS_OP" % (label, line, mem, tot))
            bad += 1
sys.exit(1 if bad else 0)
