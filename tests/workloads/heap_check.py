# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Check `pyhound heap --json` against the truth heap_work.py printed about itself.
usage: heap_check.py CENSUS.json "truth ..." ; prints the comparison, exits 1 on a mismatch."""
import json
import sys

census = json.load(open(sys.argv[1]))["census"]
f = [int(x) for x in sys.argv[2].split()[1:]]
(n_plain, s_plain, tm_plain, n_slotted, s_slotted, tm_slotted, n_list, s_list, n_dict, s_dict,
 slotted_each) = f
types = {t["type"]: t for t in census["types"]}
skipped = census["skipped_total"]
bad = []


def near(what, ours, truth, tol=0.10):
    ok = truth > 0 and abs(ours - truth) <= tol * truth
    print("%-44s pyhound %12d  workload %12d  %+.2f%%" % (
        what, ours, truth, 100.0 * (ours - truth) / truth if truth else 0))
    if not ok:
        bad.append(what)


def exact(what, ours, truth, slack=0):
    print("%-44s pyhound %12d  workload %12d" % (what, ours, truth))
    if abs(ours - truth) > slack:
        bad.append(what)


def get(name):
    return types.get(name, {"count": 0, "bytes": 0, "own_bytes": 0})


print("skipped objects: %d, lists: %s" % (skipped, [
    (l["generation"], l["objects"], l["stop"]) for l in census["lists"]]))
exact("__main__.Plain count", get("__main__.Plain")["count"], n_plain)
exact("__main__.Slotted count", get("__main__.Slotted")["count"], n_slotted)
exact("list count", get("list")["count"], n_list, skipped)
exact("dict count", get("dict")["count"], n_dict, skipped)
near("__main__.Plain own bytes vs getsizeof", get("__main__.Plain")["own_bytes"], s_plain)
near("__main__.Plain bytes vs tracemalloc", get("__main__.Plain")["bytes"], tm_plain)
near("__main__.Slotted bytes vs getsizeof", get("__main__.Slotted")["bytes"], s_slotted)
near("__main__.Slotted bytes vs tracemalloc", get("__main__.Slotted")["bytes"], tm_slotted)
near("list bytes vs getsizeof", get("list")["bytes"], s_list)
near("dict bytes vs getsizeof", get("dict")["bytes"], s_dict)
slots = [x for x in census["findings"] if x["kind"] == "slots"]
print("slots findings:", [(x["type"], x["instances"], x["saving_bytes"]) for x in slots])
if [x["type"] for x in slots] != ["__main__.Plain"]:
    bad.append("slots finding for __main__.Plain only")
else:
    near("slots saving vs tracemalloc - getsizeof(slotted)", slots[0]["saving_bytes"],
         tm_plain - n_plain * slotted_each)
    exact("slots finding instances", slots[0]["instances"], n_plain)
for l in census["lists"]:
    if l["stop"] != "complete":
        bad.append("generation %d list %s" % (l["generation"], l["stop"]))
if bad:
    print("MISMATCH:", ", ".join(bad))
    sys.exit(1)
print("OK")
