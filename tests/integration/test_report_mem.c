// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The report's Memory section against the workload's own /proc/self/status readings
 * (tests/workloads/mem_grow.py): a process that keeps 160 MiB it allocates after pyhound
 * attached shows start and end resident memory within 4 MiB of what it read itself, a peak not
 * below the end, a positive growth rate and the steady-growth finding; one that allocates and
 * frees the same amount shows no finding. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

static void check(const char *python, const char *mode, bool expect_finding)
{
	char *argv[] = { (char *)python, (char *)workload("mem_grow.py"), (char *)mode, NULL };
	char line[256], truth[256], cmd[2048], out[8192], json[96], errf[96];
	struct child c;
	pid_t ph;
	int st;

	cr_assert_eq(child_start(&c, argv), 0);
	cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 60), 0);
	snprintf(json, sizeof(json), "/tmp/pyhound-mem-%d.json", (int)c.pid);
	snprintf(errf, sizeof(errf), "/tmp/pyhound-mem-%d.err", (int)c.pid);
	snprintf(cmd, sizeof(cmd), "exec %s report --pid %d --duration 8 --no-stacks --no-gc --json "
		 "> %s 2> %s", bin(), (int)c.pid, json, errf);
	ph = start_until_ready(cmd, errf, "watching", 60, out, sizeof(out));
	cr_assert_gt(ph, 0, "pyhound report did not start: %s", out);
	cr_assert_eq(write(c.in_fd, "go\n", 3), 3);
	cr_assert_gt(read_line(c.out_fd, truth, sizeof(truth), 60), 0, "no readings from the workload");
	st = wait_exit(ph, 60);
	cr_assert_eq(st, 0, "pyhound report exit %d", st);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3.11 -c 'import json,sys\n"
		 "r=json.load(open(\"%s\"))\n"
		 "p=[p for p in r[\"processes\"] if p[\"pid\"]==%d][0]\n"
		 "m=p[\"memory\"]; t=[int(x) for x in \"%s\".split() if x.isdigit()]\n"
		 "ba,bf,bs,aa,af,as_=t\n"
		 "MiB=1<<20\n"
		 "print(\"start anon\",m[\"start_bytes\"][\"anon\"],\"workload\",ba,"
		 "\"end anon\",m[\"end_bytes\"][\"anon\"],\"workload\",aa,\"peak\","
		 "m[\"peak_bytes\"][\"total\"],\"rate\",m[\"growth_bytes_per_s\"])\n"
		 "assert abs(m[\"start_bytes\"][\"anon\"]-ba)<=4*MiB, \"start\"\n"
		 "assert abs(m[\"end_bytes\"][\"anon\"]-aa)<=4*MiB, \"end\"\n"
		 "assert abs(m[\"end_bytes\"][\"file\"]-af)<=4*MiB, \"end file\"\n"
		 "assert m[\"peak_bytes\"][\"total\"]>=m[\"end_bytes\"][\"total\"], \"peak\"\n"
		 "f=[x for x in p[\"findings\"] if x[\"kind\"]==\"memory-growth\"]\n"
		 "assert bool(f)==%s, \"finding %%s\" %% f\n"
		 "assert (m[\"growth_bytes_per_s\"]>4*MiB)==%s, \"rate\"\n"
		 "print(\"OK\")'",
		 json, (int)c.pid, truth, expect_finding ? "True" : "False",
		 expect_finding ? "True" : "False");
	st = run_cmd(cmd, out, sizeof(out));
	cr_log_info("%s %s: %s", python, mode, out);
	cr_expect_eq(st, 0, "%s %s: %s (workload: %s)", python, mode, out, truth);
	unlink(json);
	unlink(errf);
	cr_expect_eq(child_wait(&c, out, sizeof(out)), 0);
}

Test(report_mem, steady_growth_debian_3_11, .timeout = 180)
{
	check(python_for(11, true), "grow", true);
}

Test(report_mem, no_growth_pyenv_3_12, .timeout = 180)
{
	check(python_for(12, false), "flat", false);
}

/* With stacks (the default), the Memory section says which stack made the growth: mem_grow.py
 * keeps forty 4 MiB bytearrays made in main(): main's stack holds the workload's own anon
 * growth within 4 MiB, forty large mappings of 4 MiB each, and the finding names main. */
Test(report_mem, growth_stacks_pyenv_3_9, .timeout = 180)
{
	char *argv[] = { (char *)python_for(9, false), (char *)workload("mem_grow.py"), "grow",
			 NULL };
	char line[256], truth[256], cmd[2048], out[8192], json[96], errf[96];
	struct child c;
	pid_t ph;
	int st;

	cr_assert_eq(child_start(&c, argv), 0);
	cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 60), 0);
	snprintf(json, sizeof(json), "/tmp/pyhound-memst-%d.json", (int)c.pid);
	snprintf(errf, sizeof(errf), "/tmp/pyhound-memst-%d.err", (int)c.pid);
	snprintf(cmd, sizeof(cmd), "exec %s report --pid %d --duration 7 --no-gc --json > %s 2> %s",
		 bin(), (int)c.pid, json, errf);
	ph = start_until_ready(cmd, errf, "watching", 60, out, sizeof(out));
	cr_assert_gt(ph, 0, "pyhound report did not start: %s", out);
	cr_assert_eq(write(c.in_fd, "go\n", 3), 3);
	cr_assert_gt(read_line(c.out_fd, truth, sizeof(truth), 60), 0, "no readings from the workload");
	st = wait_exit(ph, 60);
	cr_assert_eq(st, 0, "pyhound report exit %d", st);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3.11 -c 'import json,sys\n"
		 "r=json.load(open(\"%s\"))\n"
		 "p=[p for p in r[\"processes\"] if p[\"pid\"]==%d][0]\n"
		 "m=p[\"memory\"]; t=[int(x) for x in \"%s\".split() if x.isdigit()]\n"
		 "grown=t[3]-t[0]; MiB=1<<20\n"
		 "s=m[\"growth_stacks\"]\n"
		 "print(\"held\",m[\"growth_held_bytes\"],\"workload anon\",grown,\"top\",s[0][\"stack\"],"
		 "s[0][\"bytes\"],\"maps\",m[\"large_mappings\"],m[\"large_mapping_bytes\"])\n"
		 "assert abs(m[\"growth_held_bytes\"]-grown)<=4*MiB, \"held\"\n"
		 "assert s[0][\"frames\"][-1][\"name\"]==\"main\", \"top stack\"\n"
		 "assert s[0][\"bytes\"]>=m[\"growth_held_bytes\"]*0.95, \"top share\"\n"
		 "assert m[\"large_mappings\"]==40, \"mappings\"\n"
		 "assert 160*MiB<=m[\"large_mapping_bytes\"]<=161*MiB, \"mapping bytes\"\n"
		 "mp=m[\"top_large_mappings\"][0]\n"
		 "assert mp[\"count\"]==40 and mp[\"frames\"][-1][\"name\"]==\"[mmap]\", mp\n"
		 "f=[x for x in p[\"findings\"] if x[\"kind\"]==\"memory-growth\"]\n"
		 "assert f and f[0][\"stacks\"][0][\"frames\"][-1][\"name\"]==\"main\", f\n"
		 "assert \"Held growth by stack: main (mem_grow.py:\" in f[0][\"message\"], f\n"
		 "print(\"OK\")'",
		 json, (int)c.pid, truth);
	st = run_cmd(cmd, out, sizeof(out));
	cr_log_info("%s", out);
	cr_expect_eq(st, 0, "%s (workload: %s)", out, truth);
	unlink(json);
	unlink(errf);
	cr_expect_eq(child_wait(&c, out, sizeof(out)), 0);
}
