# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/args.sh's summary of OUT/runs.tsv: python3 bench/lib/args_summary.py OUT
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1] + "/runs.tsv"), delimiter="\t")
        if float(r["bpf_ns"]) > 0]
def col(m, k):
    return [float(r[k]) for r in rows if r["mode"] == m and r[k] != "-"]
print("| argument sampling | BPF ns per sample, median [min-max] | pyhound CPU us per sample | samples per run |")
print("|---|---|---|---|")
for m, label in (("on", "on (default)"), ("off", "off (PYHOUND_SAMPLER_NO_ARGS=1)")):
    b, u, s = col(m, "bpf_ns_per_sample"), col(m, "cpu_us_per_sample"), col(m, "samples")
    print("| %s | %.0f [%.0f-%.0f] | %.1f [%.1f-%.1f] | %d |" % (label, statistics.median(b), min(b), max(b),
          statistics.median(u), min(u), max(u), statistics.median(s)))
pairs = {}
for r in rows:
    pairs.setdefault(r["round"], {})[r["mode"]] = r
for k, unit in (("bpf_ns_per_sample", "ns"), ("cpu_us_per_sample", "us")):
    d = [float(p["on"][k]) - float(p["off"][k]) for p in pairs.values() if "on" in p and "off" in p]
    print("\nPaired difference on - off (same round), %s: median %.2f %s [%.2f to %.2f], %d rounds"
          % (k, statistics.median(d), unit, min(d), max(d), len(d)))
t = col("timed", "decode_us")
if t:
    print("\nDecoding timed inside pyhound (process_vm_readv reads + hash), mean per decoded sample: "
          "median %.2f us [%.2f-%.2f] over %d runs" % (statistics.median(t), min(t), max(t), len(t)))
dec = [float(r["decoded"]) / float(r["samples"]) for r in rows if r["mode"] == "on" and r["decoded"] != "-" and float(r["samples"])]
if dec:
    print("Share of samples decoded (mode on): median %.0f%%" % (100 * statistics.median(dec)))
