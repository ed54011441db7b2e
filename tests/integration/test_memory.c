// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* record --mode memory against the workload's own memory_profiler-style measurement
 * (tests/workloads/mem_funcs.py: the VmRSS delta around each call of five functions, one of
 * which frees what it made on return and one of which reuses memory the allocator kept): each
 * function's share of the resident growth pyhound attributes to its stacks agrees with the
 * workload's share within 8 points on every interpreter (pyenv 3.8-3.13, Debian's 3.11, sid's
 * 3.14 and 3.15 chrooted), checked by tests/workloads/mem_check.py; and the pprof output has
 * one `space` sample type in bytes that `go tool pprof` reads. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

/* Read the workload's lines until its truth line; answer "rss?" (asked in a chroot without
 * /proc) with its resident bytes from the host's /proc/PID/statm. */
static int serve_rss(struct child *c, char *truth, size_t tlen)
{
	char path[64], ans[64];
	long pages = -1, size;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)c->pid);
	for (;;) {
		FILE *f;

		if (read_line(c->out_fd, truth, tlen, 120) <= 0)
			return -1;
		if (!strncmp(truth, "truth ", 6))
			return 0;
		if (strcmp(truth, "rss?"))
			continue;
		f = fopen(path, "r");
		if (!f || fscanf(f, "%ld %ld", &size, &pages) != 2)
			pages = -1;
		if (f)
			fclose(f);
		snprintf(ans, sizeof(ans), "%ld\n", pages * 4096);
		if (pages < 0 || write(c->in_fd, ans, strlen(ans)) != (ssize_t)strlen(ans))
			return -1;
	}
}

/* Run mem_funcs.py under py with `record --mode memory -o OUT` attached; the truth line in
 * truth. 0, or -1 with why in out. */
static int record_workload(const struct test_python *py, const char *outfile, char *truth,
			   size_t tlen, char *out, size_t olen)
{
	char *args[] = { (char *)workload("mem_funcs.py"), "10", NULL };
	char *argv[8], line[256], cmd[1024], errf[96];
	struct child c;
	pid_t ph;
	int st, ret = -1;

	python_argv(py, argv, args);
	if (child_start(&c, argv)) {
		snprintf(out, olen, "cannot start %s", py->label);
		return -1;
	}
	if (read_line(c.out_fd, line, sizeof(line), 60) <= 0) {
		snprintf(out, olen, "%s: the workload did not start", py->label);
		goto out;
	}
	snprintf(errf, sizeof(errf), "/tmp/pyhound-memrec-%d.err", (int)c.pid);
	snprintf(cmd, sizeof(cmd), "exec %s record --mode memory --pid %d -d 120 -o %s -v 2> %s",
		 bin(), (int)c.pid, outfile, errf);
	ph = start_until_ready(cmd, errf, "recording", 60, out, olen);
	if (ph <= 0) {
		ret = -1;
		goto out;
	}
	if (write(c.in_fd, "go\n", 3) != 3 || serve_rss(&c, truth, tlen)) {
		snprintf(out, olen, "%s: no truth line from the workload", py->label);
		kill(ph, SIGKILL);
		wait_exit(ph, 10);
		goto out;
	}
	/* stop while the workload still holds everything (its exit frees it) */
	kill(ph, SIGINT);
	st = wait_exit(ph, 60);
	{
		FILE *f = fopen(errf, "r");
		size_t n = f ? fread(out, 1, olen - 1, f) : 0;

		out[n] = 0;
		if (f)
			fclose(f);
	}
	unlink(errf);
	ret = st == 0 ? 0 : -1;
out:
	close(c.in_fd);
	c.in_fd = -1;
	/* the target is never harmed: it ends as it would alone */
	st = child_wait(&c, line, sizeof(line));
	if (!ret && st != 0) {
		snprintf(out, olen, "%s: the workload exited with %d", py->label, st);
		ret = -1;
	}
	return ret;
}

static bool check_shares(const struct test_python *py, char *report, size_t rlen)
{
	char file[96], truth[512] = "", out[8192], cmd[1024];
	int st;

	snprintf(file, sizeof(file), "/tmp/pyhound-mem-%.31s.collapsed", py->label);
	if (record_workload(py, file, truth, sizeof(truth), out, sizeof(out))) {
		snprintf(report, rlen, "%.31s: record failed: %.3000s", py->label, out);
		unlink(file);
		return false;
	}
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3.11 %.300s %.90s '%.500s' 8",
		 workload("mem_check.py"), file, truth);
	st = run_cmd(cmd, out, sizeof(out));
	snprintf(report, rlen, "%.31s:\n%.3000s", py->label, out);
	unlink(file);
	return st == 0;
}

Test(memory, shares_every_python, .timeout = 900)
{
	struct test_python pys[24];
	char missing[1024] = "", report[4096], failed[16384] = "";
	int n = test_pythons(pys, 16, missing, sizeof(missing)), k, bad = 0;

	cr_assert(!missing[0], "interpreters missing: %s", missing);
	k = test_sid_pythons(pys + n, 8, missing, sizeof(missing));
	cr_assert(!missing[0], "sid interpreters missing: %s", missing);
	n += k;
	cr_assert_geq(n, 9);
	for (int i = 0; i < n; i++) {
		if (pys[i].debug)
			continue; /* the -dbg builds walk as the release ones; time */
		if (check_shares(&pys[i], report, sizeof(report))) {
			cr_log_info("%s", report);
		} else {
			bad++;
			strncat(failed, report, sizeof(failed) - strlen(failed) - 1);
		}
	}
	cr_assert_eq(bad, 0, "%d interpreter(s) off:\n%s", bad, failed);
}

Test(memory, pprof_space_bytes, .timeout = 300)
{
	struct test_python py = { .minor = 12 };
	char truth[512], out[8192], cmd[1024];
	const char *file = "/tmp/pyhound-mem-test.pb.gz";

	snprintf(py.label, sizeof(py.label), "pyenv-3.12");
	snprintf(py.path, sizeof(py.path), "%s", python_for(12, false));
	cr_assert_eq(record_workload(&py, file, truth, sizeof(truth), out, sizeof(out)), 0, "%s",
		     out);
	cr_expect(strstr(out, "MiB of resident growth held"), "%s", out);
	snprintf(cmd, sizeof(cmd), "go tool pprof -raw %s 2>&1 | head -5; "
		 "go tool pprof -top -unit=MB %s 2>&1", file, file);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_log_info("%s", out);
	cr_expect(strstr(out, "space/bytes"), "no space/bytes sample type:\n%s", out);
	cr_expect(strstr(out, "keep_big"), "keep_big missing:\n%s", out);
	unlink(file);
}

/* top --mode memory: a process that keeps 2 MiB more every 50 ms in keep_growing() (and only
 * computes in busy()) shows keep_growing first among its functions, with most of the interval's
 * growth, in every full interval after the first (tests/workloads/mem_top.py, Debian's 3.11). */
Test(memory, top_shows_the_growing_function, .timeout = 120)
{
	char *argv[] = { "/usr/bin/python3.11", (char *)workload("mem_top.py"), NULL };
	char line[256], cmd[1024], out[16384], pidcol[16];
	int blocks = 0, first_grow = 0, i;
	struct child c;
	char *p;

	cr_assert_eq(child_start(&c, argv), 0);
	cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 60), 0);
	snprintf(cmd, sizeof(cmd), "%s top --mode memory -i 1 -d 3.6 --pid %d < /dev/null", bin(),
		 (int)c.pid);
	i = run_cmd(cmd, out, sizeof(out));
	cr_assert_eq(write(c.in_fd, "stop\n", 5), 5);
	read_line(c.out_fd, line, sizeof(line), 30);
	kill(c.pid, SIGKILL);
	cr_log_info("%s", out);
	cr_assert_eq(i, 0, "top exit %d: %s", i, out);
	/* each interval: the header, the process's line, then its functions by self share */
	snprintf(pidcol, sizeof(pidcol), "%8d ", (int)c.pid);
	for (p = strstr(out, "pyhound top - "); p; p = strstr(p + 1, "pyhound top - ")) {
		char *proc = strstr(p, pidcol), *fn, *next = strstr(p + 1, "pyhound top - ");
		double grow = 0, self = 0;

		if (!proc || (next && proc > next))
			continue;
		blocks++;
		fn = strchr(proc, '\n');
		if (!fn || sscanf(proc + 8, " %*s %*d %lfM", &grow) != 1 ||
		    sscanf(fn + 1, " %lf%%", &self) != 1)
			continue;
		/* the first function line only */
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(fn + 1, "\n"), fn + 1);
		if (grow >= 2 && self >= 80 && strstr(line, "keep_growing (mem_top.py:"))
			first_grow++;
	}
	cr_expect_geq(blocks, 3, "%d intervals shown:\n%s", blocks, out);
	cr_expect_geq(first_grow, blocks - 1, "keep_growing first (>= 2 MiB/s, >= 80%% self) in "
		      "%d of %d intervals:\n%s", first_grow, blocks, out);
}
