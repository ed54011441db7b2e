// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound serve in wall and gil modes, scraped over HTTP while tests/workloads/wall_threads.py
 * runs (three CPU-bound threads, a sleeper, a pipe reader, a threading.Lock waiter, the main
 * thread on an Event: 7 Python threads):
 *  - mode = wall (config key): between two scrapes, the process's
 *    pyhound_thread_wall_seconds_total over all states grows by ~7 thread-seconds per second;
 *    the reader's function series is state="syscall:read" for about the whole interval, the
 *    lock waiter never state="gil", the spinners wait for the GIL; promtool accepts the text;
 *  - --mode gil (flag): pyhound_function_gil_seconds_total grows by at most ~1 s per second
 *    (one holder at a time), almost all of it spin_work running; no wall families;
 *  - a bad mode is refused (flag: usage error; config: the file and line). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

static char text[4 << 20];

static void serve_start(struct server *s, const char *extra)
{
	serve_start_as(s, "pyhound-wserve", extra, 60); /* a host with hundreds of interpreters: slow */
}

static void serve_stop(struct server *s)
{
	int st = 0;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "serve exit status %d", st);
	unlink(s->err);
}

/* /metrics into text; returns the monotonic time in the middle of the request */
static double scrape(const struct server *s)
{
	char cmd[256];
	double t0 = mono_seconds(), t1;

	snprintf(cmd, sizeof(cmd), "curl -s -m 60 http://127.0.0.1:%d/metrics", s->port);
	cr_assert_eq(run_cmd(cmd, text, sizeof(text)), 0, "scrape failed: %s", text);
	t1 = mono_seconds();
	return (t0 + t1) / 2;
}

/* Sum of the values of family's series of pid whose labels contain every needle (NULL-ended). */
static double sum_of(const char *family, pid_t pid, const char *const *needles)
{
	char head[128];
	const char *p = text;
	double sum = 0;
	size_t n;

	n = snprintf(head, sizeof(head), "%s{pid=\"%d\",", family, (int)pid);
	while ((p = strstr(p, head))) {
		const char *eol = strchr(p, '\n'), *close = strstr(p, "} ");
		bool ok = p == text || p[-1] == '\n';

		if (!eol || !close || close > eol)
			break;
		for (int i = 0; ok && needles && needles[i]; i++) {
			const char *q = strstr(p, needles[i]);

			ok = q && q < close;
		}
		if (ok)
			sum += atof(close + 2);
		p += n;
	}
	return sum;
}

/* Is there a series of family for pid whose labels contain every needle? */
static bool has_series(const char *family, pid_t pid, const char *const *needles)
{
	char head[128];
	const char *p = text;
	size_t n = snprintf(head, sizeof(head), "%s{pid=\"%d\",", family, (int)pid);

	while ((p = strstr(p, head))) {
		const char *close = strstr(p, "} ");
		bool ok = close && (p == text || p[-1] == '\n');

		for (int i = 0; ok && needles[i]; i++) {
			const char *q = strstr(p, needles[i]);

			ok = q && q < close;
		}
		if (ok)
			return true;
		p += n;
	}
	return false;
}

static void wait_ready(int fd)
{
	char line[64];
	size_t got = 0;

	while (got < sizeof(line) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		cr_assert_gt(poll(&p, 1, 30000), 0, "no \"ready\" within 30 s");
		n = read(fd, line + got, sizeof(line) - 1 - got);
		cr_assert_gt(n, 0, "workload exited before \"ready\"");
		got += n;
		line[got] = 0;
		if (strstr(line, "ready\n"))
			return;
	}
}

static void start_workload(struct child *c)
{
	char *argv[] = { (char *)python_for(12, false), (char *)workload("wall_threads.py"), "60",
			 NULL };

	cr_assert_eq(child_start(c, argv), 0);
	child_go(c);
	wait_ready(c->out_fd);
}

static void stop_workload(struct child *c)
{
	static char out[1 << 16];

	kill(c->pid, SIGUSR1);
	child_wait(c, out, sizeof(out));
}

#define WINDOW_S 4.0

Test(wall, serve_wall_mode, .timeout = 120)
{
	static const char *const any[] = { NULL };
	static const char *const gil[] = { "state=\"gil\"", NULL };
	static const char *const reader[] = { "function=\"reader\"", "state=\"syscall:read\"", NULL };
	static const char *const lock_gil[] = { "function=\"lock_waiter\"", "state=\"gil\"", NULL };
	static const char *const spin_gil[] = { "function=\"spin_work\"", "state=\"gil\"", NULL };
	const char *conf = "/tmp/pyhound-wall-serve.conf";
	double t0, t1, threads, rd, total0, rd0, sg0;
	struct server s;
	struct child c;
	char extra[256];
	FILE *f = fopen(conf, "w");

	cr_assert(f);
	fputs("mode = wall\nfrequency = 99\ncache_seconds = 0\n", f);
	fclose(f);
	snprintf(extra, sizeof(extra), "--config %s", conf);
	serve_start(&s, extra);
	start_workload(&c);
	/* a scrape admits each process's top (function, state) series, which count from then
	 * on: wait for the reader's and the spinners' GIL series (the process may be found late
	 * on a crowded host) */
	for (double w0 = mono_seconds();;) {
		sleep(1);
		t0 = scrape(&s);
		if (has_series("pyhound_function_wall_seconds_total", c.pid, reader) &&
		    has_series("pyhound_function_wall_seconds_total", c.pid, spin_gil))
			break;
		cr_assert_lt(mono_seconds() - w0, 30, "no reader or spin_work series: %s", text);
	}
	total0 = sum_of("pyhound_thread_wall_seconds_total", c.pid, any);
	rd0 = sum_of("pyhound_function_wall_seconds_total", c.pid, reader);
	sg0 = sum_of("pyhound_function_wall_seconds_total", c.pid, spin_gil);
	cr_assert(strstr(text, "pyhound_sample_mode{mode=\"wall\"} 1"), "%s", text);
	cr_assert(!strstr(text, "pyhound_cpu_samples_total{"), "no CPU families in wall mode");
	usleep(WINDOW_S * 1e6);
	t1 = scrape(&s);
	threads = (sum_of("pyhound_thread_wall_seconds_total", c.pid, any) - total0) / (t1 - t0);
	rd = (sum_of("pyhound_function_wall_seconds_total", c.pid, reader) - rd0) / (t1 - t0);
	cr_log_info("serve wall: %.2f threads sampled per second of wall time (7 threads), reader "
		    "in read() %.2f, window %.2f s", threads, rd, t1 - t0);
	/* Poisson ticks: ~400 runs in the window, one sigma 5%; the rest is the scrape's timing */
	cr_expect(threads > 7 * 0.75 && threads < 7 * 1.25, "thread-seconds per second %.2f", threads);
	cr_expect(rd > 0.75 && rd < 1.25, "reader's read() seconds per second %.2f", rd);
	cr_expect_gt(sum_of("pyhound_thread_wall_seconds_total", c.pid, gil), 0, "no GIL wait");
	cr_expect_gt(sum_of("pyhound_function_wall_seconds_total", c.pid, spin_gil) - sg0, 0,
		     "spin_work never waited for the GIL");
	cr_expect_eq(sum_of("pyhound_function_wall_seconds_total", c.pid, lock_gil), 0,
		     "the lock waiter is never [gil]");
	{
		FILE *m = fopen("/tmp/pyhound-wall-metrics.txt", "w");

		cr_assert(m);
		fputs(text, m);
		fclose(m);
		cr_expect_eq(run_cmd("promtool check metrics < /tmp/pyhound-wall-metrics.txt", text,
				     sizeof(text)), 0, "promtool: %s", text);
		unlink("/tmp/pyhound-wall-metrics.txt");
	}
	stop_workload(&c);
	serve_stop(&s);
	unlink(conf);
}

Test(wall, serve_gil_mode, .timeout = 120)
{
	static const char *const any[] = { NULL };
	static const char *const spin[] = { "function=\"spin_work\"", NULL };
	double t0, t1, held, spin_held, any0, spin0;
	struct server s;
	struct child c;

	serve_start(&s, "--mode gil -F 99");
	start_workload(&c);
	for (double w0 = mono_seconds();;) {
		sleep(1);
		t0 = scrape(&s);
		if (has_series("pyhound_function_gil_seconds_total", c.pid, spin))
			break;
		cr_assert_lt(mono_seconds() - w0, 30, "no spin_work series: %s", text);
	}
	any0 = sum_of("pyhound_function_gil_seconds_total", c.pid, any);
	spin0 = sum_of("pyhound_function_gil_seconds_total", c.pid, spin);
	cr_assert(strstr(text, "pyhound_sample_mode{mode=\"gil\"} 1"), "%s", text);
	usleep(WINDOW_S * 1e6);
	t1 = scrape(&s);
	held = (sum_of("pyhound_function_gil_seconds_total", c.pid, any) - any0) / (t1 - t0);
	spin_held = (sum_of("pyhound_function_gil_seconds_total", c.pid, spin) - spin0) / (t1 - t0);
	cr_log_info("serve gil: GIL held %.2f s per s, by spin_work %.2f", held, spin_held);
	/* three spinners keep the GIL taken nearly all the time, one holder at a time */
	cr_expect(held > 0.6 && held < 1.2, "GIL-held seconds per second %.2f", held);
	cr_expect_gt(spin_held, 0.8 * held, "spin_work holds it: %.2f of %.2f", spin_held, held);
	cr_expect(!strstr(text, "pyhound_thread_wall_seconds_total{"), "wall family in gil mode");
	stop_workload(&c);
	serve_stop(&s);
}

Test(wall, serve_bad_mode, .timeout = 30)
{
	static char out[4096];
	char cmd[512];
	const char *conf = "/tmp/pyhound-wall-bad.conf";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s serve --mode fast 2>&1", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	cr_expect(strstr(out, "bad --mode"), "%s", out);
	f = fopen(conf, "w");
	cr_assert(f);
	fputs("frequency = 19\nmode = fast\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s serve --config %s 2>&1", bin(), conf);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, ":2: bad value for 'mode': 'fast' (cpu, wall or gil)"), "%s", out);
	unlink(conf);
}
