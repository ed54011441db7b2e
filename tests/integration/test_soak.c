// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound serve against 50 short-lived Python processes started and stopped in a loop: RSS
 * stays bounded and no series of a dead process outlives process_max_age.
 * PYHOUND_SOAK_SECONDS sets the length (default 60: RSS is steady within ~10 s at process_max_age 5, and serve_robust/process_storm_soak runs the fast storm; `make soak` runs 600). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common/pythons.h"

#define NPROCS 50
#define MAX_SPAWNED 100000

static char out[4 << 20];

static pid_t spawn_short(int i)
{
	const char *py = python_for(11, true); /* looked up before fork: cached for later */
	char code[256];
	pid_t p;

	/* lives 0.5-2.5 s, writes a little, then exits */
	snprintf(code, sizeof(code),
		 "import os, time\nfor _ in range(200): os.write(1, b'x')\ntime.sleep(%.2f)\n",
		 0.5 + (i * 37 % 200) / 100.0);
	p = fork();
	if (!p) {
		freopen("/dev/null", "w", stdout);
		execl(py, "python3.11", "-c", code, NULL);
		_exit(127);
	}
	return p;
}

Test(soak, fifty_short_lived_processes, .timeout = 1200)
{
	const char *pyhound = getenv("PYHOUND") ? getenv("PYHOUND") : "build/pyhound";
	double secs = getenv("PYHOUND_SOAK_SECONDS") ? atof(getenv("PYHOUND_SOAK_SECONDS")) : 60;
	pid_t kids[NPROCS] = { 0 }, serve;
	/* RSS: the highest in the first and in the second half of the run. Steady state means
	 * the second half stays near the first (no leak), and both under an absolute bound. */
	long rss_first = 0, rss_second = 0, rss;
	double t0, next_sample;
	static pid_t spawned[MAX_SPAWNED];
	int nspawned = 0;
	int i, started = 0, failed = 0, port = 20000 + getpid() % 20000;
	char cmd[512], line[256];
	FILE *f;

	f = fopen("/tmp/pyhound-soak.conf", "w");
	fprintf(f, "process_max_age = 5\ncache_seconds = 0\nmax_procs = 1024\n");
	fclose(f);
	serve = fork();
	if (!serve) {
		snprintf(cmd, sizeof(cmd), "127.0.0.1:%d", port);
		freopen("/tmp/pyhound-soak.err", "w", stderr);
		execl(pyhound, "pyhound", "-v", "serve", "--listen", cmd, "--config",
		      "/tmp/pyhound-soak.conf", NULL);
		_exit(127);
	}
	sleep(2);
	cr_assert_eq(waitpid(serve, NULL, WNOHANG), 0, "serve did not start");
	t0 = mono_seconds();
	next_sample = t0 + 10;
	while (mono_seconds() - t0 < secs) {
		for (i = 0; i < NPROCS; i++) {
			int st;

			if (kids[i] > 0 && waitpid(kids[i], &st, WNOHANG) == 0)
				continue;
			if (kids[i] > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
				failed++;
			kids[i] = spawn_short(started++);
			if (kids[i] > 0 && nspawned < MAX_SPAWNED)
				spawned[nspawned++] = kids[i];
			if (kids[i] < 0)
				failed++;
		}
		if (mono_seconds() >= next_sample) {
			snprintf(cmd, sizeof(cmd), "curl -s -m 10 -o /dev/null http://127.0.0.1:%d/metrics",
				 port);
			cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "scrape failed");
			rss = rss_kb(serve);
			if (mono_seconds() - t0 < secs / 2) {
				if (rss > rss_first)
					rss_first = rss;
			} else if (rss > rss_second) {
				rss_second = rss;
			}
			next_sample += 10;
		}
		usleep(20000);
	}
	for (i = 0; i < NPROCS; i++)
		if (kids[i])
			waitpid(kids[i], NULL, 0);
	/* every child is gone: after process_max_age nothing of them may remain */
	sleep(7);
	snprintf(cmd, sizeof(cmd), "curl -s -m 10 http://127.0.0.1:%d/metrics", port);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0);
	{
		int lingering = 0;
		char *p = out;

		/* only our own children: other processes on the host may have just exited */
		while ((p = strstr(p, "\npyhound_python_process_info{pid=\""))) {
			int pid = atoi(p + 34), k;

			for (k = 0; k < nspawned; k++)
				if (spawned[k] == pid)
					break;
			if (k < nspawned) {
				lingering++;
				fprintf(stderr, "lingering: %.300s\n", p + 1);
			}
			p += 34;
		}
		cr_expect_eq(lingering, 0, "%d series of dead processes lingered", lingering);
	}
	snprintf(line, sizeof(line), "%s", strstr(out, "\npyhound_python_processes_seen_total ")
					     ? strstr(out, "\npyhound_python_processes_seen_total ") + 1
					     : "none");
	line[strcspn(line, "\n")] = '\0';
	fprintf(stderr, "soak: %.0f s, %d processes started (%d failed), %s, RSS max %ld kB in the first "
		"half, %ld kB in the second\n", secs, started, failed, line, rss_first, rss_second);
	cr_expect_geq(atof(line + strlen("pyhound_python_processes_seen_total ")), started * 0.95,
		      "processes missed: %s of %d", line, started);
	cr_expect_lt(rss_second, rss_first * 5 / 4 + 4096, "RSS kept growing: %ld kB, then %ld kB",
		     rss_first, rss_second);
	cr_expect_lt(rss_second > rss_first ? rss_second : rss_first, 128 * 1024,
		     "RSS reached %ld / %ld kB", rss_first, rss_second);
	kill(serve, SIGTERM);
	waitpid(serve, NULL, 0);
}
