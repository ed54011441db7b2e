// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names and threads of sampled frames, through `pyhound record`, on every interpreter at once:
 * generators, asyncio coroutines, lambdas and exec'd code created and freed in a loop,
 * non-ASCII names, and each sample on the right thread. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/pythons.h"

#define SHAPES 7

static const char *const shape[SHAPES] = { "gen", "coro", "exec", "nonascii", "one", "two",
					   "idle" };
/* a function that only runs on that shape's thread */
static const char *const marker[SHAPES] = { "gen_work (", "coro_leaf (", "exec_loop (",
					    "non_ascii (", "thread_one_work (",
					    "thread_two_work (", NULL };

struct target {
	const struct test_python *py;
	struct child c;
	int tid[SHAPES];
	long seen[SHAPES];
	long wrong_thread, dyn, foreign_in_exec, coro_without_main, gen_without_consumer;
	long nonascii1, nonascii2;
};

static void parse_ids(struct target *t, char *line)
{
	char *tok, *save = NULL;
	int i;

	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		for (i = 0; i < SHAPES; i++) {
			size_t n = strlen(shape[i]);

			if (!strncmp(tok, shape[i], n) && tok[n] == '=')
				t->tid[i] = atoi(tok + n + 1);
		}
}

/* the thread id in a collapsed line's second field ("main thread N" / "thread N (comm)") */
static int line_tid(const char *line)
{
	const char *p = strchr(line, ';'), *q;

	if (!p)
		return -1;
	q = strstr(p, "thread ");
	return q ? atoi(q + 7) : -1;
}

static void check_line(struct target *t, const char *line)
{
	int tid = line_tid(line), i;
	const char *sp = strrchr(line, ' ');
	long w = sp ? atol(sp + 1) : 0; /* samples on this stack */

	for (i = 0; i < SHAPES; i++) {
		if (!marker[i] || !strstr(line, marker[i]))
			continue;
		t->seen[i] += w;
		if (tid != t->tid[i])
			t->wrong_thread += w;
	}
	if (tid == t->tid[2]) { /* the exec'd-code thread: never another shape's names */
		for (i = 0; i < SHAPES; i++)
			if (i != 2 && marker[i] && strstr(line, marker[i]))
				t->foreign_in_exec++;
		if (strstr(line, ";naïve_función") || strstr(line, ";函数") ||
		    strstr(line, ";coro_main"))
			t->foreign_in_exec++;
		if (strstr(line, ";dyn_") || strstr(line, ";<lambda> ("))
			t->dyn++;
	}
	if (strstr(line, "coro_leaf (") && !strstr(line, "coro_main ("))
		t->coro_without_main++;
	if (strstr(line, "gen_work (") && !strstr(line, "consume_gen ("))
		t->gen_without_consumer++;
	t->nonascii1 += strstr(line, ";naïve_función (") ? w : 0;
	t->nonascii2 += strstr(line, ";函数 (") ? w : 0;
}

static void run_batch(struct target *t, int n, int hz)
{
	char cmd[2048], line[16384], needle[32];
	FILE *f;
	int i;

	for (i = 0; i < n; i++) {
		char *args[] = { (char *)workload("shapes2.py"), "6", NULL }, *argv[8];
		char buf[512] = "";
		ssize_t r, off = 0;

		python_argv(t[i].py, argv, args);
		cr_assert_eq(child_start(&t[i].c, argv), 0);
		while (off < (ssize_t)sizeof(buf) - 1 && !strstr(buf, "ready") &&
		       (r = read(t[i].c.out_fd, buf + off, sizeof(buf) - 1 - off)) > 0) {
			off += r;
			buf[off] = '\0';
		}
		cr_assert(strstr(buf, "ready"), "%s: no ready: %s", t[i].py->label, buf);
		parse_ids(&t[i], buf);
	}
	snprintf(cmd, sizeof(cmd), "%s record -F %d -d 4 -o /tmp/pyhound-naming.collapsed --pid ",
		 getenv("PYHOUND") ? getenv("PYHOUND") : "build/pyhound", hz);
	for (i = 0; i < n; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%d", i ? "," : "",
			 (int)t[i].c.pid);
	cr_assert_eq(run_cmd(cmd, line, sizeof(line)), 0, "%s", line);
	f = fopen("/tmp/pyhound-naming.collapsed", "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < n; i++) {
			snprintf(needle, sizeof(needle), "(%d);", (int)t[i].c.pid);
			if (strstr(line, needle))
				check_line(&t[i], line);
		}
	}
	fclose(f);
	for (i = 0; i < n; i++) {
		kill(t[i].c.pid, SIGKILL);
		child_wait(&t[i].c, NULL, 0);
	}
}

static void check_targets(const struct test_python *py, struct target *t, int n)
{
	int i, k;

	for (i = 0; i < n; i++) {
		const char *l = py[i].label;

		fprintf(stderr, "naming %-12s gen %ld coro %ld exec %ld (dyn/lambda %ld) nonascii %ld/%ld "
			"one %ld two %ld; wrong thread %ld, misnamed %ld\n", l, t[i].seen[0],
			t[i].seen[1], t[i].seen[2], t[i].dyn, t[i].nonascii1, t[i].nonascii2,
			t[i].seen[4], t[i].seen[5], t[i].wrong_thread, t[i].foreign_in_exec);

		for (k = 0; k < SHAPES; k++)
			if (marker[k])
				cr_expect_gt(t[i].seen[k], 10, "%s: %s: %ld samples", l, marker[k],
					     t[i].seen[k]);
		cr_expect_eq(t[i].wrong_thread, 0, "%s: %ld samples on the wrong thread", l,
			     t[i].wrong_thread);
		cr_expect_eq(t[i].foreign_in_exec, 0, "%s: exec'd code misnamed %ld times", l,
			     t[i].foreign_in_exec);
		cr_expect_gt(t[i].dyn, 0, "%s: no exec'd/lambda frames named", l);
		cr_expect_eq(t[i].coro_without_main, 0, "%s: coroutine chain broken", l);
		cr_expect_eq(t[i].gen_without_consumer, 0, "%s: generator without its caller", l);
		cr_expect_gt(t[i].nonascii1, 0, "%s: naïve_función not named", l);
		cr_expect_gt(t[i].nonascii2, 0, "%s: 函数 not named", l);
	}
}

Test(naming, shapes_threads_and_names_on_every_interpreter, .timeout = 180)
{
	struct test_python py[16];
	struct target t[16] = {};
	char missing[256];
	int n = test_pythons(py, 16, missing, sizeof(missing)), i;

	cr_assert_str_empty(missing, "interpreters missing:%s", missing);
	for (i = 0; i < n; i++)
		t[i].py = &py[i];
	/* two batches on two cores: every batch mixes interpreter versions */
	run_batch(t, n / 2, 499);
	run_batch(t + n / 2, n - n / 2, 499);
	check_targets(py, t, n);
}

/* Debian sid's 3.14/3.15, release and -dbg, chrooted (a missing root fails) */
Test(naming, sid_interpreters, .timeout = 120)
{
	struct test_python py[4];
	struct target t[4] = {};
	char missing[1024];
	int n = test_sid_pythons(py, 4, missing, sizeof(missing)), i;

	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	cr_assert_eq(n, 4);
	for (i = 0; i < n; i++)
		t[i].py = &py[i];
	/* two batches, 3.14 and 3.15 side by side in each */
	{
		struct target a[2] = { t[0], t[2] }, b[2] = { t[1], t[3] };

		/* 999 Hz: the coroutine thread gets little CPU on a loaded host */
		run_batch(a, 2, 999);
		run_batch(b, 2, 999);
		t[0] = a[0];
		t[2] = a[1];
		t[1] = b[0];
		t[3] = b[1];
	}
	check_targets(py, t, n);
}
