// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* report --mode wall's findings on real processes:
 *  - blocked-event-loop, one report over them all: tests/workloads/wall_loop.py block (a
 *    handler calling time.sleep(0.3) on the loop) fires on every interpreter, naming handler
 *    as the blocking function, the block 100 ms-1 s (its end may wait for a CPU on a loaded
 *    host); wall_loop.py await (awaits asyncio.sleep(0.3), then time.sleep(0.03): the loop is
 *    blocked 30 ms at a time) never fires though its loop is seen;
 *  - cpu-bound-one-core: tests/workloads/wall_cpu.py spin (one thread always on a CPU), watched
 *    alone, fires when the host had idle CPUs over the window (measured here from /proc/stat,
 *    outside pyhound: >= 0.6 CPUs idle: must fire; under 0.4: must not; the host is shared, so
 *    between the two nothing is asserted), and its own thread_time says it was CPU-bound;
 *    wall_cpu.py duty (the loop 45% of the time) and a process of two sleeping I/O threads,
 *    watched together afterwards, never fire. */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"
#include "host/hostcpu.h"

#define MAX_PROCS 24

static void wait_ready(struct child *c, const char *label)
{
	char line[64];
	size_t got = 0;

	while (got < sizeof(line) - 1) {
		struct pollfd p = { .fd = c->out_fd, .events = POLLIN };
		ssize_t n;

		cr_assert_gt(poll(&p, 1, 30000), 0, "%s: no \"ready\" within 30 s", label);
		n = read(c->out_fd, line + got, sizeof(line) - 1 - got);
		cr_assert_gt(n, 0, "%s: exited before \"ready\"", label);
		got += n;
		line[got] = 0;
		if (strstr(line, "ready\n"))
			return;
	}
}

/* `report --mode wall --json` over pids, checked by a Python script reading it from stdin */
static int report_check(const pid_t *pids, int n, double secs, const char *script, char *out,
			size_t len)
{
	char cmd[8192], list[512] = "";
	size_t off = 0;

	for (int i = 0; i < n; i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%d", i ? "," : "", (int)pids[i]);
	snprintf(cmd, sizeof(cmd), "%s report --mode wall --no-gc --no-queries --json -d %.1f "
		 "--pid %s | python3 -c '%s'", bin(), secs, list, script);
	return run_cmd(cmd, out, len);
}

Test(wall, blocked_loop_finding, .timeout = 120)
{
	struct test_python py[16], sid[4];
	struct child c[MAX_PROCS];
	pid_t pids[MAX_PROCS] = {};
	char missing[1024], script[4096];
	static char out[1 << 18];
	size_t off;
	int n = test_pythons(py, 16, missing, sizeof(missing)), np = 0, rc, k;

	cr_assert_str_empty(missing, "interpreters missing:%s", missing);
	cr_assert_geq(n, 7);
	/* and sid's release 3.14 and 3.15 (their -dbg builds walk the same way) */
	k = test_sid_pythons(sid, 4, missing, sizeof(missing));
	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	for (int i = 0; i < k && n < 16; i++)
		if (sid[i].label[strlen(sid[i].label) - 1] != 'd')
			py[n++] = sid[i];
	for (int i = 0; i < n && np + 2 <= MAX_PROCS; i++)
		for (int k = 0; k < 2; k++) {
			char *args[] = { (char *)workload("wall_loop.py"), k ? "await" : "block",
					 NULL };
			char *argv[8];

			python_argv(&py[i], argv, args);
			cr_assert_eq(child_start(&c[np], argv), 0);
			wait_ready(&c[np], py[i].label);
			pids[np] = c[np].pid;
			np++;
		}
	/* block processes are the even ones */
	off = snprintf(script, sizeof(script),
		       "import json, sys\n"
		       "r = json.load(sys.stdin)\n"
		       "block = {%d", (int)pids[0]);
	for (int i = 2; i < np; i += 2)
		off += snprintf(script + off, sizeof(script) - off, ", %d", (int)pids[i]);
	snprintf(script + off, sizeof(script) - off,
		 "}\n"
		 "bad = []\n"
		 "for p in r[\"processes\"]:\n"
		 "    f = [f for f in p[\"findings\"] if f[\"kind\"] == \"blocked-event-loop\"]\n"
		 "    w = p.get(\"wall\", {})\n"
		 "    print(p[\"pid\"], p[\"pid\"] in block, w.get(\"loop_samples\"), "
		 "w.get(\"loop_blocks\"), f and f[0][\"longest_s\"], f and f[0][\"blocking_function\"])\n"
		 "    if not w.get(\"loop_samples\"):\n"
		 "        bad.append((p[\"pid\"], \"loop not seen\"))\n"
		 "    elif p[\"pid\"] in block and not (f and f[0][\"blocking_function\"]"
		 ".startswith(\"handler (\") and 0.1 <= f[0][\"longest_s\"] <= 1.0):\n"
		 "        bad.append((p[\"pid\"], \"no or wrong finding\", f))\n"
		 "    elif p[\"pid\"] not in block and f:\n"
		 "        bad.append((p[\"pid\"], \"near miss fired\", f))\n"
		 "if len(r[\"processes\"]) != %d:\n"
		 "    bad.append((\"processes\", len(r[\"processes\"])))\n"
		 "print(bad)\n"
		 "sys.exit(1 if bad else 0)\n", np);
	rc = report_check(pids, np, 4, script, out, sizeof(out));
	cr_log_info("%s", out);
	cr_expect_eq(rc, 0, "blocked-event-loop: %s", out);
	for (int i = 0; i < np; i++) {
		char buf[256];

		child_go(&c[i]);
		child_wait(&c[i], buf, sizeof(buf));
	}
}

static double idle_now(struct host_cpu *a)
{
	struct host_cpu b;

	cr_assert_eq(host_cpu_read(&b), 0);
	return host_idle_cpus(a, &b);
}

Test(wall, one_core_finding, .timeout = 120)
{
	char *spin[] = { (char *)python_for(12, false), (char *)workload("wall_cpu.py"), "spin",
			 NULL };
	char *duty[] = { (char *)python_for(12, false), (char *)workload("wall_cpu.py"), "duty",
			 NULL };
	char *io[] = { (char *)python_for(12, false), "-c",
		       "import sys, threading, time\n"
		       "def io():\n    while True: time.sleep(0.005)\n"
		       "for _ in range(2): threading.Thread(target=io, daemon=True).start()\n"
		       "print('ready', flush=True)\nsys.stdin.readline()\n", NULL };
	static char out[1 << 16];
	char script[2048], buf[256];
	struct child c[3];
	struct host_cpu h0;
	pid_t pids[3];
	double idle, share = 0;
	const char *s;
	int rc, fired;

	/* the spinner alone: the near misses would take the idle CPU it needs to fire */
	cr_assert_eq(child_start(&c[0], spin), 0);
	wait_ready(&c[0], "3.12");
	pids[0] = c[0].pid;
	snprintf(script, sizeof(script),
		 "import json, sys\n"
		 "r = json.load(sys.stdin)\n"
		 "p = r[\"processes\"][0]\n"
		 "f = [f for f in p[\"findings\"] if f[\"kind\"] == \"cpu-bound-one-core\"]\n"
		 "print(p[\"pid\"], p.get(\"wall\"), f)\n"
		 "assert not f or 0.85 <= f[0][\"cpus_wanted\"] <= 1.3, f\n"
		 "print(\"FIRED\" if f else \"QUIET\")\n");
	cr_assert_eq(host_cpu_read(&h0), 0);
	rc = report_check(pids, 1, 3, script, out, sizeof(out));
	idle = idle_now(&h0);
	cr_log_info("host idle %.2f CPUs over the report; %s", idle, out);
	cr_expect_eq(rc, 0, "cpu-bound-one-core: %s", out);
	fired = strstr(out, "FIRED") != NULL;
	child_go(&c[0]);
	child_wait(&c[0], buf, sizeof(buf));
	s = strstr(buf, "cpu_share ");
	if (s)
		share = atof(s + 10);
	cr_log_info("spinner's own CPU share %.3f", share);
	if (idle >= 0.6) {
		cr_expect(fired, "host had %.2f CPUs idle: the spinner must make the finding", idle);
		cr_expect_geq(share, 0.85, "the spinner was CPU-bound by its own clocks");
	} else if (idle < 0.4) {
		cr_expect(!fired, "host had only %.2f CPUs idle: no finding", idle);
	}

	/* the near misses, whatever the host's idle CPUs */
	cr_assert_eq(child_start(&c[1], duty), 0);
	cr_assert_eq(child_start(&c[2], io), 0);
	for (int i = 1; i < 3; i++) {
		wait_ready(&c[i], "3.12");
		pids[i - 1] = c[i].pid;
	}
	snprintf(script, sizeof(script),
		 "import json, sys\n"
		 "r = json.load(sys.stdin)\n"
		 "fired = {p[\"pid\"]: [f for f in p[\"findings\"] if f[\"kind\"] == "
		 "\"cpu-bound-one-core\"] for p in r[\"processes\"]}\n"
		 "for p in r[\"processes\"]: print(p[\"pid\"], p.get(\"wall\"), fired[p[\"pid\"]])\n"
		 "assert len(fired) == 2 and not any(fired.values()), \"near miss fired\"\n");
	rc = report_check(pids, 2, 3, script, out, sizeof(out));
	cr_log_info("near misses: %s", out);
	cr_expect_eq(rc, 0, "cpu-bound-one-core near misses: %s", out);
	for (int i = 1; i < 3; i++) {
		child_go(&c[i]);
		child_wait(&c[i], buf, sizeof(buf));
	}
}
