#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Turn the Grafana dashboard's PromQL into a Prometheus rules file, so that
# `promtool check rules` validates every query (tests/integration/test_serve.c does).
import json
import sys

dash = json.load(open(sys.argv[1]))
print("groups:\n  - name: pyhound-dashboard\n    rules:")
for p in dash["panels"]:
    for t in p["targets"]:
        expr = t["expr"].replace("$__rate_interval", "5m")
        print("      - record: pyhound:dashboard:panel%d_%s" % (p["id"], t["refId"].lower()))
        print("        expr: %s" % json.dumps(expr))
