// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `pyhound calls` on Debian sid's CPython 3.14 and 3.15, release (stripped: the handler table
 * found by decoding the eval loop) and -dbg builds (by its symbol), run chrooted: `list`
 * shows how each one's calls are seen, and one `pyhound calls --budget 100` counts
 * tests/workloads/calls.py exactly on all four at once (latency too: f, g, k timed, g's mean
 * against the workload's own, generators and coroutines). 3.15's USDT probe function__return
 * (--usdt) counts exactly too. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

#define NSID 4

/* calls.py on each interpreter of py[0..n), one pyhound calls ARGS over all of them; each
 * checked by calls_check.py against source */
static void exact_on(const struct test_python *py, int n, const char *args, const char *source,
		     bool check_list)
{
	char *wargs[] = { (char *)workload("calls.py"), NULL };
	char *argv[NSID][8];
	struct child c[NSID];
	char cmd[2048], buf[4096], json[128], err[128], out[4096], res[4096];
	long g_mean[NSID];
	bool failed = false;
	pid_t ph;
	int i, rc;

	for (i = 0; i < n; i++) {
		python_argv(&py[i], argv[i], wargs);
		cr_assert_eq(child_start(&c[i], argv[i]), 0);
	}
	snprintf(json, sizeof(json), "/tmp/pyhound-calls-sid-%d.json", (int)c[0].pid);
	snprintf(err, sizeof(err), "/tmp/pyhound-calls-sid-%d.err", (int)c[0].pid);
	snprintf(cmd, sizeof(cmd), "exec %s calls %s --budget 100 --duration 150 --json", bin(),
		 args);
	for (i = 0; i < n; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " --pid %d", (int)c[i].pid);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " > %s 2> %s", json, err);
	ph = start_until_ready(cmd, err, "counting calls", 30, buf, sizeof(buf));
	cr_assert_gt(ph, 0, "pyhound calls did not attach: %s", buf);
	if (check_list) {
		/* the CALLS column: how `calls` sees each one, its sites proved as calls does */
		snprintf(cmd, sizeof(cmd), "%s list", bin());
		cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
		for (i = 0; i < n; i++) {
			char line[32];
			const char *l;

			snprintf(line, sizeof(line), "\n%-8d 3.%d.", (int)c[i].pid, py[i].minor);
			l = strstr(out, line);
			cr_expect(l && !strncmp(l + 1 + 8 + 1 + 9 + 23, "uprobe:RESUME+RETURN ", 21),
				  "%s: calls column not uprobe:RESUME+RETURN: %.120s", py[i].label,
				  l ? l + 1 : out);
		}
	}
	for (i = 0; i < n; i++)
		cr_assert_eq(child_go(&c[i]), 0);
	for (i = 0; i < n; i++) {
		const char *g;

		rc = child_wait(&c[i], out, sizeof(out));
		cr_expect_eq(rc, 0, "%s: workload failed: %s", py[i].label, out);
		/* the result line is the same on every version (each exact test of
		 * test_calls.c compares it with an untraced run): unchanged by the probes */
		cr_expect(!strncmp(out, "result 155850 1000\n", 19), "%s: output changed: %s",
			  py[i].label, out);
		g = strstr(out, "g_mean_ns ");
		cr_assert_not_null(g, "%s", out);
		g_mean[i] = strtol(g + 10, NULL, 10);
	}
	cr_assert_eq(wait_exit(ph, 60), 0, "pyhound calls failed");
	for (i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3.11 %s %s %d %ld %s",
			 workload("calls_check.py"), json, (int)c[i].pid, g_mean[i], source);
		rc = run_cmd(cmd, res, sizeof(res));
		cr_expect_eq(rc, 0, "%s: %s", py[i].label, res);
		failed |= rc != 0;
	}
	if (!failed) {
		unlink(err);
		unlink(json);
	}
}

Test(calls_sid, exact_314_315_release_and_dbg, .timeout = 240)
{
	struct test_python py[NSID];
	char missing[1024];
	int n = test_sid_pythons(py, NSID, missing, sizeof(missing));

	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	cr_assert_eq(n, NSID);
	exact_on(py, n, "", "uprobe:RESUME+RETURN", true);
}

/* 3.15's dtrace hook saves and restores the pending exception (no harm to the target): its
 * USDT probe function__return, asked for, counts exactly too (yields told apart) */
Test(calls_sid, exact_315_usdt, .timeout = 180)
{
	struct test_python py[NSID];
	char missing[1024];
	int n = test_sid_pythons(py, NSID, missing, sizeof(missing)), i;

	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	for (i = 0; i < n && strcmp(py[i].label, "sid-3.15"); i++)
		;
	cr_assert_lt(i, n, "no sid-3.15");
	exact_on(&py[i], 1, "--usdt", "usdt:function__return", false);
}
