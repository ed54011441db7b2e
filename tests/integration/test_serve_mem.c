// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound serve's pyhound_process_resident_bytes{kind} against the workload's own
 * /proc/self/status readings (tests/workloads/mem_grow.py, idle after keeping 160 MiB), and
 * pyhound_memory_growth_bytes_total{function} against the growth it made while watched. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

static char out[1 << 20];

/* the value of the resident_bytes series of pid and kind, or -1 */
static double resident(const char *text, pid_t pid, const char *kind)
{
	char pidl[32], kindl[32];
	const char *p = text;

	snprintf(pidl, sizeof(pidl), "pid=\"%d\"", (int)pid);
	snprintf(kindl, sizeof(kindl), "kind=\"%s\"}", kind);
	while ((p = strstr(p, "\npyhound_process_resident_bytes{"))) {
		const char *eol = strchr(p + 1, '\n'), *lab = strstr(p, pidl), *k = strstr(p, kindl);

		if (lab && k && (!eol || (lab < eol && k < eol)))
			return atof(strchr(k, ' ') + 1);
		p++;
	}
	return -1;
}

Test(serve_mem, resident_bytes_match_the_workload, .timeout = 120)
{
	char *argv[] = { (char *)python_for(12, false), (char *)workload("mem_grow.py"), "grow",
			 NULL };
	char line[256], cmd[512], errf[64], buf[4096];
	unsigned long long ba, bf, bs, aa, af, as;
	double anon = -1, file = -1;
	struct child c;
	pid_t sv;
	int port = free_port();

	cr_assert_eq(child_start(&c, argv), 0);
	cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 60), 0);
	cr_assert_eq(write(c.in_fd, "go\n", 3), 3);
	cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 60), 0);
	cr_assert_eq(sscanf(line, "before %llu %llu %llu after %llu %llu %llu", &ba, &bf, &bs, &aa,
			    &af, &as), 6, "%s", line);
	snprintf(errf, sizeof(errf), "/tmp/pyhound-serve-mem-%d.err", port);
	snprintf(cmd, sizeof(cmd), "exec %s serve --listen 127.0.0.1:%d 2>%s", bin(), port, errf);
	sv = start_until_ready(cmd, errf, "serving on", 30, buf, sizeof(buf));
	cr_assert_gt(sv, 0, "serve did not start: %s", buf);
	for (int i = 0; i < 50 && anon < 0; i++) {
		snprintf(cmd, sizeof(cmd), "curl -s -m 10 http://127.0.0.1:%d/metrics", port);
		if (!run_cmd(cmd, out, sizeof(out))) {
			anon = resident(out, c.pid, "anon");
			file = resident(out, c.pid, "file");
		}
		if (anon < 0)
			usleep(200000);
	}
	kill(sv, SIGTERM);
	cr_expect_eq(wait_exit(sv, 10), 0);
	unlink(errf);
	cr_assert_geq(anon, 0, "no pyhound_process_resident_bytes series for PID %d", (int)c.pid);
	cr_log_info("anon %.0f (workload %llu), file %.0f (workload %llu)", anon, aa, file, af);
	cr_expect(anon >= (double)aa - 4 * 1048576.0 && anon <= (double)aa + 4 * 1048576.0,
		  "anon %.0f, the workload read %llu", anon, aa);
	cr_expect(file >= (double)af - 4 * 1048576.0 && file <= (double)af + 4 * 1048576.0,
		  "file %.0f, the workload read %llu", file, af);
	cr_expect(resident(out, c.pid, "shmem") >= 0);
	cr_expect(strstr(out, "# TYPE pyhound_process_resident_bytes gauge"));
	child_wait(&c, buf, sizeof(buf));
}

/* the value of the first series named name (followed by '{') of pid with label, or -1 */
static double series(const char *text, const char *name, pid_t pid, const char *label)
{
	char pidl[32], head[128];
	const char *p = text;

	snprintf(pidl, sizeof(pidl), "pid=\"%d\"", (int)pid);
	snprintf(head, sizeof(head), "\n%s{", name);
	while ((p = strstr(p, head))) {
		const char *eol = strchr(p + 1, '\n'), *lab = strstr(p, pidl), *l = strstr(p, label);

		if (lab && l && eol && lab < eol && l < eol)
			return atof(strrchr(l, ' ') ? strchr(l, '}') + 2 : "-1");
		p++;
	}
	return -1;
}

Test(serve_mem, growth_per_function_matches_the_workload, .timeout = 120)
{
	char *argv[] = { (char *)python_for(11, true), (char *)workload("mem_grow.py"), "grow",
			 NULL };
	char line[256], cmd[512], errf[64], buf[4096];
	unsigned long long ba, bf, bs, aa, af, as;
	double main_b = -1, other = -1;
	struct child c;
	pid_t sv;
	int port = free_port(), st;

	snprintf(errf, sizeof(errf), "/tmp/pyhound-serve-memg-%d.err", port);
	snprintf(cmd, sizeof(cmd), "exec %s serve --listen 127.0.0.1:%d 2>%s", bin(), port, errf);
	sv = start_until_ready(cmd, errf, "serving on", 30, buf, sizeof(buf));
	cr_assert_gt(sv, 0, "serve did not start: %s", buf);
	cr_assert_eq(child_start(&c, argv), 0);
	cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 60), 0);
	/* tracked (its resident series shows) before it grows */
	snprintf(cmd, sizeof(cmd), "curl -s -m 10 http://127.0.0.1:%d/metrics", port);
	for (int i = 0; i < 100 && resident(out, c.pid, "anon") < 0; i++)
		if (run_cmd(cmd, out, sizeof(out)) || resident(out, c.pid, "anon") < 0)
			usleep(100000);
	cr_assert_geq(resident(out, c.pid, "anon"), 0, "PID %d not tracked", (int)c.pid);
	cr_assert_eq(write(c.in_fd, "go\n", 3), 3);
	/* scrapes while it grows: its growing function gets a series (counting from then on,
	 * what came before stays in "other", as for CPU samples) */
	for (int i = 0; i < 300 && read_line(c.out_fd, line, sizeof(line), 0.2) <= 0; i++)
		run_cmd(cmd, out, sizeof(out));
	cr_assert_eq(sscanf(line, "before %llu %llu %llu after %llu %llu %llu", &ba, &bf, &bs, &aa,
			    &af, &as), 6, "%s", line);
	for (int i = 0; i < 50; i++) {
		if (!run_cmd(cmd, out, sizeof(out))) {
			main_b = series(out, "pyhound_memory_growth_bytes_total", c.pid,
					"function=\"main\"");
			other = series(out, "pyhound_memory_growth_bytes_total", c.pid,
				       "function=\"other\"");
		}
		/* the last samples reach the exporter within a poll */
		if (main_b + other >= (double)(aa - ba) - 4 * 1048576.0)
			break;
		usleep(200000);
	}
	kill(sv, SIGTERM);
	cr_expect_eq(wait_exit(sv, 10), 0);
	unlink(errf);
	cr_log_info("main %.0f other %.0f, the workload's anon growth %llu", main_b, other,
		    aa - ba);
	cr_expect(main_b + other >= (double)(aa - ba) - 4 * 1048576.0 &&
		  main_b + other <= (double)(aa - ba) + 4 * 1048576.0,
		  "main %.0f + other %.0f, the workload grew %llu", main_b, other, aa - ba);
	cr_expect(main_b >= 0.5 * (double)(aa - ba), "main %.0f of %llu", main_b, aa - ba);
	cr_expect(strstr(out, "# TYPE pyhound_memory_growth_bytes_total counter"));
	cr_expect(series(out, "pyhound_memory_released_bytes_total", c.pid, "pid=") >= 0);
	{
		FILE *f = fopen("/tmp/pyhound-serve-memg.prom", "w");

		cr_assert(f);
		fputs(out, f);
		fclose(f);
		st = run_cmd("promtool check metrics < /tmp/pyhound-serve-memg.prom 2>&1 | "
			     "grep -v 'counter metrics should have \"_total\" suffix' | "
			     "grep -iE 'error|memory_' ; test $? -eq 1", buf, sizeof(buf));
		cr_expect_eq(st, 0, "promtool: %s", buf);
		unlink("/tmp/pyhound-serve-memg.prom");
	}
	child_wait(&c, buf, sizeof(buf));
}
