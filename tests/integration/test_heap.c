// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound heap against real processes: on Debian's python3.11, every pyenv 3.8-3.13 and Debian
 * sid's python3.14, 3.14d, 3.15 and 3.15d (chrooted), a
 * workload holding a number of instances of a class without __slots__ (150,000-250,000: always
 * past the finding's 100,000), of one with __slots__ (30,000-70,000) and a dict of lists
 * (80,000-120,000), drawn per run (tests/common/draw.h; the seed is in the info line), is counted
 * exactly and its bytes match what the workload measured of
 * itself (sys.getsizeof over gc.get_objects(), tracemalloc for attribute storage) within 10%
 * (tests/workloads/heap_check.py); the __slots__ finding names the first class only; --diff sees
 * a growing list; refusals (not CPython, gone, bad options) are one line and exit 1/2; a
 * target killed mid-walk gives one line and exit 1; and CPython's test_gc (and test_weakref)
 * pass, output unchanged, with censuses taken against the test process over and over. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/draw.h"
#include "common/pythons.h"
#include "common/serve_util.h"

/* The population drawn for one workload: instances of Plain (past HEAP_SLOTS_MIN = 100,000 by
 * 50,000 at least), of Slotted, and lists in the dict; the same mean as the fixed 200,000 /
 * 50,000 / 100,000 it replaces, so the same test time. */
struct heap_example {
	char plain[16], slotted[16], lists[16];
};

static void draw_heap(uint64_t *st, struct heap_example *e)
{
	snprintf(e->plain, sizeof(e->plain), "%ld", test_draw(st, 150000, 250000));
	snprintf(e->slotted, sizeof(e->slotted), "%ld", test_draw(st, 30000, 70000));
	snprintf(e->lists, sizeof(e->lists), "%ld", test_draw(st, 80000, 120000));
}

/* the workload's truth line holds what was drawn: its own count of Plain and Slotted instances,
 * and at least the dict's lists */
static void expect_drawn(const char *label, const char *truth, const struct heap_example *e)
{
	long f[11];

	cr_assert_eq(sscanf(truth, "truth %ld %ld %ld %ld %ld %ld %ld", &f[0], &f[1], &f[2], &f[3],
			    &f[4], &f[5], &f[6]), 7, "%s: %s", label, truth);
	cr_expect(f[0] == atol(e->plain) && f[3] == atol(e->slotted) && f[6] >= atol(e->lists),
		  "%s: drew %s Plain, %s Slotted, %s lists; the workload holds %ld, %ld, %ld",
		  label, e->plain, e->slotted, e->lists, f[0], f[3], f[6]);
}

static void check_census(const struct test_python *py, uint64_t *state)
{
	struct heap_example e;
	char *args[] = { (char *)workload("heap_work.py"), e.plain, e.slotted, e.lists, NULL };
	char *argv[8], truth[512], cmd[2048], out[8192], json[96];
	struct child c;
	int rc, st;

	draw_heap(state, &e);
	python_argv(py, argv, args);
	cr_assert_eq(child_start(&c, argv), 0, "%s: cannot start the workload", py->label);
	cr_assert_gt(read_line(c.out_fd, truth, sizeof(truth), 120), 0, "%s: no truth line",
		     py->label);
	cr_assert(!strncmp(truth, "truth ", 6), "%s: %s", py->label, truth);
	expect_drawn(py->label, truth, &e);
	snprintf(json, sizeof(json), "/tmp/pyhound-heap-%d.json", (int)c.pid);
	snprintf(cmd, sizeof(cmd), "%s heap --pid %d --json > %s", bin(), (int)c.pid, json);
	rc = run_cmd(cmd, out, sizeof(out));
	cr_expect_eq(rc, 0, "%s: pyhound heap failed (%d): %s", py->label, rc, out);
	if (!rc) {
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3.11 %s %s '%s'",
			 workload("heap_check.py"), json, truth);
		rc = run_cmd(cmd, out, sizeof(out));
		cr_log_info("%s: %s Plain, %s Slotted, %s lists drawn:\n%s", py->label, e.plain,
			    e.slotted, e.lists, out);
		cr_expect_eq(rc, 0, "%s: census does not match the workload:\n%s", py->label, out);
	}
	unlink(json);
	st = child_wait(&c, out, sizeof(out)); /* closes stdin: the workload returns */
	cr_expect_eq(st, 0, "%s: workload exit %d", py->label, st);
}

Test(heap, census_every_python, .timeout = 900)
{
	struct test_python pys[16];
	char missing[256] = "";
	int n = test_pythons(pys, 16, missing, sizeof(missing));

	uint64_t seed = test_seed(), state = seed;

	cr_log_info("seed %llu (PYHOUND_TEST_SEED replays it)", (unsigned long long)seed);
	cr_assert(!missing[0], "interpreters missing: %s", missing);
	cr_assert_geq(n, 7);
	for (int i = 0; i < n; i++)
		check_census(&pys[i], &state);
}

/* 3.14 and 3.15: laid out by their own _Py_DebugOffsets plus the layout measured from the -dbg
 * builds' DWARF; the same workload, the same exact counts */
Test(heap, census_sid, .timeout = 600)
{
	struct test_python sid[8];
	char missing[256] = "";
	int n = test_sid_pythons(sid, 8, missing, sizeof(missing));

	uint64_t seed = test_seed(), state = seed;

	cr_log_info("seed %llu (PYHOUND_TEST_SEED replays it)", (unsigned long long)seed);
	cr_assert(!missing[0], "sid interpreters missing: %s", missing);
	cr_assert_eq(n, 4);
	for (int i = 0; i < n; i++)
		check_census(&sid[i], &state);
}

/* 3.14 and 3.15 censused over and over while the collector runs many times a second
 * (tests/workloads/heap_churn.py): every census exits 0, every one whose lists were all walked
 * completely counts the 10,000 Keep instances exactly, and the workload's objects and output are
 * intact. */
Test(heap, sid_census_while_collecting, .timeout = 300)
{
	struct test_python sid[8];
	char missing[256] = "";
	int n = test_sid_pythons(sid, 8, missing, sizeof(missing));

	cr_assert(!missing[0], "sid interpreters missing: %s", missing);
	for (int i = 0; i < n; i++) {
		char *args[] = { (char *)workload("heap_churn.py"), NULL }, *argv[8];
		char line[64], cmd[2048], out[8192], json[96];
		int complete = 0, censuses = 0, exact = 0, rc;
		long colls = -1;
		struct child c;
		char *p;

		if (sid[i].label[strlen(sid[i].label) - 1] == 'd')
			continue; /* release builds: the -dbg ones are censused in census_sid */
		python_argv(&sid[i], argv, args);
		cr_assert_eq(child_start(&c, argv), 0);
		cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 60), 0, "%s", sid[i].label);
		snprintf(json, sizeof(json), "/tmp/pyhound-heap-churn-%d.json", (int)c.pid);
		for (; censuses < 10; censuses++) {
			snprintf(cmd, sizeof(cmd), "%s heap --pid %d --json > %s", bin(), (int)c.pid,
				 json);
			rc = run_cmd(cmd, out, sizeof(out));
			cr_expect_eq(rc, 0, "%s: census %d: %s", sid[i].label, censuses, out);
			if (rc)
				continue;
			snprintf(cmd, sizeof(cmd),
				 "python3.11 -c \"import json,sys; c=json.load(open(sys.argv[1]))"
				 "['census']; t={x['type']:x['count'] for x in c['types']}; print("
				 "int(all(l['stop']=='complete' for l in c['lists'])), "
				 "t.get('__main__.Keep', 0))\" %s", json);
			if (run_cmd(cmd, out, sizeof(out)) == 0) {
				int all = 0;
				long k = -1;

				if (sscanf(out, "%d %ld", &all, &k) == 2 && all) {
					complete++;
					exact += k == 10000;
					cr_expect_eq(k, 10000, "%s: a complete census counted %ld Keep",
						     sid[i].label, k);
				}
			}
			usleep(50000);
		}
		unlink(json);
		cr_expect_eq(child_wait(&c, out, sizeof(out)), 0, "%s: workload: %s", sid[i].label,
			     out);
		p = strstr(out, "collections ");
		if (p)
			colls = atol(p + 12);
		cr_log_info("%s: %d censuses, %d with every list complete (%d exact), %ld "
			    "collections meanwhile", sid[i].label, censuses, complete, exact, colls);
		cr_expect_geq(complete, 3, "%s: %d complete censuses of %d", sid[i].label, complete,
			      censuses);
		cr_expect_gt(colls, 20, "%s: the collector ran %ld times", sid[i].label, colls);
	}
}

Test(heap, text_and_findings, .timeout = 300)
{
	uint64_t seed = test_seed(), state = seed;
	struct heap_example e;
	char *argv[] = { (char *)python_for(12, false), (char *)workload("heap_work.py"), e.plain,
			 e.slotted, e.lists, NULL };
	char truth[512], cmd[512], out[16384], want[96], *f;
	struct child c;

	draw_heap(&state, &e);
	cr_log_info("seed %llu (PYHOUND_TEST_SEED replays it): %s Plain, %s Slotted, %s lists",
		    (unsigned long long)seed, e.plain, e.slotted, e.lists);
	cr_assert_eq(child_start(&c, argv), 0);
	cr_assert_gt(read_line(c.out_fd, truth, sizeof(truth), 120), 0);
	expect_drawn("3.12", truth, &e);
	snprintf(cmd, sizeof(cmd), "%s heap --pid %d --top 5", bin(), (int)c.pid);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "CPython 3.12"), "%s", out);
	snprintf(want, sizeof(want), " %s ", e.plain);
	cr_expect(strstr(out, want) && strstr(out, "__main__.Plain\n"), "%s: %s", want, out);
	cr_expect(strstr(out, "skipped: 0 objects"), "%s", out);
	f = strstr(out, "Findings");
	cr_assert_not_null(f, "no findings:\n%s", out);
	snprintf(want, sizeof(want), "! __slots__: %s instances of __main__.Plain", e.plain);
	cr_expect(strstr(f, want), "%s: %s", want, out);
	cr_expect(!strstr(f, "Slotted"), "a __slots__ class was named in a finding:\n%s", out);
	/* --top 0: every type; Slotted is in the table */
	snprintf(cmd, sizeof(cmd), "%s heap --pid %d --top 0", bin(), (int)c.pid);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "__main__.Slotted\n") && !strstr(out, "more types"), "%s", out);
	cr_expect_eq(child_wait(&c, out, sizeof(out)), 0);
}

Test(heap, diff_sees_growth, .timeout = 300)
{
	char *argv[] = { (char *)python_for(11, true), (char *)workload("heap_work.py"), "grow",
			 NULL };
	char line[256], cmd[512], out[16384];
	struct child c;

	cr_assert_eq(child_start(&c, argv), 0);
	cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 60), 0);
	cr_assert_eq(child_go(&c), 0);
	snprintf(cmd, sizeof(cmd), "%s heap --pid %d --diff 2 --top 5", bin(), (int)c.pid);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "Changes over 2.0 s"), "%s", out);
	/* 20,000 lists every 0.1 s: far more than 10,000 more lists in 2 s, whatever the load */
	cr_expect(strstr(out, "! growth: list grew from"), "%s", out);
	cr_expect(strstr(out, "! growth: one list (at 0x"), "the holding list's growth:\n%s", out);
	kill(c.pid, SIGKILL);
	child_wait(&c, out, sizeof(out));
}

Test(heap, refusals)
{
	char cmd[1024], out[4096];

	/* bad options: usage, exit 2 */
	snprintf(cmd, sizeof(cmd), "%s heap", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	cr_expect(strstr(out, "--pid is required"), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s heap --pid 1 --top x", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	/* a process that is not CPython, and one that does not exist: exit 1, one line */
	snprintf(cmd, sizeof(cmd), "%s heap --pid %d", bin(), (int)getpid());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "is not running CPython") && !strchr(strchr(out, '\n') + 1, '\n'),
		  "%s", out);
	snprintf(cmd, sizeof(cmd), "%s heap --pid 4194000", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "no such process"), "%s", out);
}

/* A large heap walked while the target is killed: either the census completed first, or one
 * line says the process exited; never a crash or a partial table. */
Test(heap, target_exits_mid_walk, .timeout = 300)
{
	char *argv[] = { (char *)python_for(12, false), "-c",
			 "import sys\nx=[[i] for i in range(3000000)]\nprint('ready',flush=True)\n"
			 "sys.stdin.readline()", NULL };
	int mid = 0;

	for (int attempt = 0; attempt < 6 && !mid; attempt++) {
		char line[64], cmd[512], out[8192], errf[64];
		struct child c;
		pid_t ph;
		int st, rc;

		cr_assert_eq(child_start(&c, argv), 0);
		cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 120), 0);
		snprintf(errf, sizeof(errf), "/tmp/pyhound-heap-exit-%d.err", (int)c.pid);
		snprintf(cmd, sizeof(cmd), "exec %s heap --pid %d > /dev/null 2> %s", bin(),
			 (int)c.pid, errf);
		ph = fork();
		cr_assert_geq(ph, 0);
		if (!ph) {
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		usleep(40000 + 40000 * attempt);
		kill(c.pid, SIGKILL);
		cr_assert_eq(waitpid(ph, &st, 0), ph);
		rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		snprintf(cmd, sizeof(cmd), "cat %s", errf);
		run_cmd(cmd, out, sizeof(out));
		unlink(errf);
		cr_log_info("attempt %d: exit %d: %s", attempt, rc, out);
		cr_expect(rc == 0 || rc == 1, "pyhound heap exit %d: %s", rc, out);
		if (rc == 1) {
			/* killed during the walk, or (on a loaded host) before or while pyhound
			 * inspected it */
			cr_expect(strstr(out, "exited") || strstr(out, "no such process"), "%s", out);
			cr_expect(!strchr(out, '\n') || !strchr(strchr(out, '\n') + 1, '\n'),
				  "more than one line: %s", out);
			mid += strstr(out, "exited during the heap walk") != NULL;
		}
		child_wait(&c, out, sizeof(out));
	}
	cr_expect(mid, "no attempt killed the target during the walk");
}

/* CPython's own test_gc (and test_weakref on one interpreter) with a census taken against the
 * test process every ~0.2 s (test_gc collects most of the time: many censuses find a list
 * changing under every walk and say so; each must still exit 0): the tests pass and report the
 * same as without pyhound. */
#define RESULT_LINES "grep -E '^(Tests result|Result|== Tests result|All [0-9]+ tests? OK)'"

/* baseline: run the tests once without pyhound first (test_weakref's threaded tests take about
 * 90 s here, so it is compared with a plain success instead) */
static void check_regrtest(const char *python, const char *tests, bool baseline)
{
	char cmd[2048], out[8192], base[8192] = "", log[96], hp[96];
	pid_t sh;
	int censuses = 0, ok = 0, failed = 0, last_failed = 0, rc, r;
	char fail[512] = "";

	if (baseline) {
		snprintf(cmd, sizeof(cmd), "%s -m test %s 2>&1 | " RESULT_LINES, python, tests);
		rc = run_cmd(cmd, base, sizeof(base));
		cr_assert_eq(rc, 0);
		cr_assert(strstr(base, "SUCCESS"), "%s %s fails without pyhound: %s", python, tests,
			  base);
	}

	snprintf(log, sizeof(log), "/tmp/pyhound-heap-regr-%d.log", (int)getpid());
	snprintf(cmd, sizeof(cmd), "exec %s %s %s > %s 2>&1", python, workload("regrtest_wait.py"),
		 tests, log);
	{
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };
		struct child c;

		cr_assert_eq(child_start(&c, argv), 0);
		sh = c.pid;
		usleep(300000);
		cr_assert_eq(child_go(&c), 0);
		while (waitpid(sh, &rc, WNOHANG) == 0) {
			snprintf(hp, sizeof(hp), "%s heap --pid %d --top 3 -v", bin(), (int)sh);
			snprintf(cmd, sizeof(cmd), "{ %s > /dev/null; }", hp);
			r = run_cmd(cmd, out, sizeof(out));

			censuses++;
			if (r == 0) {
				ok++;
			} else {
				/* only while the process exits (the last census): one line, exit 1 */
				cr_expect(r == 1 && strchr(out, '\n') == out + strlen(out) - 1,
					  "census %d: exit %d: %s", censuses, r, out);
				failed++;
				last_failed = censuses;
				snprintf(fail, sizeof(fail), "%s", out);
			}
			usleep(50000); /* test_gc alone takes about 1.5 s on a quiet host */
		}
		close(c.in_fd);
		close(c.out_fd);
	}
	cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s %s exit status %d under censuses",
		  python, tests, rc);
	snprintf(cmd, sizeof(cmd), RESULT_LINES " %s", log);
	run_cmd(cmd, out, sizeof(out));
	if (baseline)
		cr_expect_str_eq(out, base, "output differs under censuses");
	else
		cr_expect(strstr(out, "SUCCESS") && !strstr(out, "FAIL"), "%s", out);
	cr_log_info("%s %s: %d censuses, %d complete%s%s", python, tests, censuses, ok,
		    failed ? "; the last: " : "", fail);
	cr_expect(failed == 0 || (failed == 1 && last_failed == censuses),
		  "%d censuses failed before the process exited; the last at %d of %d: %s", failed,
		  last_failed, censuses, fail);
	cr_expect_geq(ok, 3, "only %d of %d censuses completed", ok, censuses);
	unlink(log);
}

Test(heap, regrtest_gc_debian_3_11, .timeout = 600)
{
	check_regrtest(python_for(11, true), "test_gc test_gc", true); /* twice: ~3 s */
}

Test(heap, regrtest_gc_pyenv_3_12, .timeout = 600)
{
	check_regrtest(python_for(12, false), "test_gc test_gc", true);
}

Test(heap, regrtest_weakref_pyenv_3_12, .timeout = 900)
{
	check_regrtest(python_for(12, false), "test_weakref", false);
}
