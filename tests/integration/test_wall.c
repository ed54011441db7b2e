// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Wall-clock sampling (--mode wall) on real processes with real BPF, on every CPython 3.8 ..
 * 3.13 under pyenv plus Debian's static 3.11 (and Debian sid's 3.14, 3.14d, 3.15, 3.15d, chrooted:
 * wall/threads_sid). tests/workloads/wall_threads.py runs three
 * CPU-bound threads, a sleeper, a pipe reader and a threading.Lock waiter, and measures its own
 * time; at 99 Hz for a few seconds:
 *  - every thread gets about the same number of samples (+-15% of the mean);
 *  - the reader's samples end in [syscall:read] (>= 90%), the lock waiter's in
 *    [syscall:futex] (>= 90%) and never in [gil] (its futex is not the GIL's);
 *  - the CPU-bound threads' samples in [gil] and in [runnable] match what the kernel says
 *    about them over the same window (/proc/PID/task/TID/schedstat: time on a CPU and waiting
 *    on a run queue; a spinner makes no other syscall, so the rest is its GIL wait), +-10
 *    points; on an idle host [gil] is about two thirds (one of three holds the GIL);
 *  - the sleeper's samples in its sleep syscall match the sleeps it timed itself (time.monotonic
 *    around each time.sleep, clipped to the window), +-10 points, and it is [gil] or [runnable]
 *    as much as it was off the CPU outside them (schedstat), +-10 points. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"
#include "host/discover.h"
#include "lib/log.h"
#include "collect/sampler.h"

#define MAX_TIDS 16
#define WALL_SECONDS 5.0
#define SLEEP_S 0.05 /* the sleeper's time.sleep() in wall_threads.py */

enum leaf { L_CPU, L_GIL, L_RUNNABLE, L_SLEEP, L_READ, L_FUTEX, L_OTHER, L_MAX };

struct tid_count {
	pid_t tid;
	uint64_t n[L_MAX], total;
	/* schedstat at the start and the end of the window: ns on a CPU, ns on a run queue */
	uint64_t cpu0, wait0, cpu1, wait1;
};

struct wall_run {
	pid_t pid;
	struct tid_count tids[MAX_TIDS];
	int ntids;
	uint64_t overflow;
};

static enum leaf classify(const char *leaf)
{
	if (!strcmp(leaf, "[gil]"))
		return L_GIL;
	if (!strcmp(leaf, "[runnable]"))
		return L_RUNNABLE;
	/* time.sleep: select() before 3.11 (pselect6 in glibc), clock_nanosleep() from 3.11 */
	if (!strcmp(leaf, "[syscall:clock_nanosleep]") || !strcmp(leaf, "[syscall:select]") ||
	    !strcmp(leaf, "[syscall:pselect6]"))
		return L_SLEEP;
	if (!strcmp(leaf, "[syscall:read]"))
		return L_READ;
	if (!strcmp(leaf, "[syscall:futex]"))
		return L_FUTEX;
	if (leaf[0] == '[')
		return L_OTHER;
	return L_CPU;
}

static void wall_cb(void *ctx, pid_t pid, pid_t tid, const struct prof_frame *f, uint32_t n,
		    bool truncated, bool in_syscall)
{
	struct wall_run *r = ctx;
	struct tid_count *t = NULL;

	if (pid != r->pid || !n)
		return;
	for (int i = 0; i < r->ntids; i++)
		if (r->tids[i].tid == tid)
			t = &r->tids[i];
	if (!t) {
		if (r->ntids == MAX_TIDS) {
			r->overflow++;
			return;
		}
		t = &r->tids[r->ntids++];
		t->tid = tid;
	}
	t->n[classify(f[n - 1].name)]++;
	t->total++;
}

static struct tid_count *find_tid(struct wall_run *r, pid_t tid)
{
	for (int i = 0; i < r->ntids; i++)
		if (r->tids[i].tid == tid)
			return &r->tids[i];
	return NULL;
}

static int read_schedstat(pid_t pid, pid_t tid, uint64_t *cpu, uint64_t *wait)
{
	char path[64];
	unsigned long long a, b;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fscanf(f, "%llu %llu", &a, &b) == 2;
	fclose(f);
	*cpu = a;
	*wait = b;
	return ok ? 0 : -1;
}

/* schedstat of every thread of pid, at the start (end false) or end of the window */
static void snap_threads(struct wall_run *r, bool end)
{
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)r->pid);
	dir = opendir(path);
	cr_assert(dir);
	while ((d = readdir(dir))) {
		pid_t tid = atoi(d->d_name);
		struct tid_count *t = NULL;
		uint64_t c, w;

		if (tid <= 0 || read_schedstat(r->pid, tid, &c, &w))
			continue;
		for (int i = 0; i < r->ntids; i++)
			if (r->tids[i].tid == tid)
				t = &r->tids[i];
		if (!t && !end && r->ntids < MAX_TIDS) {
			t = &r->tids[r->ntids++];
			t->tid = tid;
		}
		if (!t)
			continue;
		if (end) {
			t->cpu1 = c;
			t->wait1 = w;
		} else {
			t->cpu0 = c;
			t->wait0 = w;
		}
	}
	closedir(dir);
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * a / b : 0;
}

static void wait_ready(int fd, const char *label)
{
	char line[64];
	size_t got = 0;

	while (got < sizeof(line) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		cr_assert_gt(poll(&p, 1, 30000), 0, "%s: no \"ready\" within 30 s", label);
		n = read(fd, line + got, sizeof(line) - 1 - got);
		cr_assert_gt(n, 0, "%s: exited before \"ready\"", label);
		got += n;
		line[got] = 0;
		if (strstr(line, "ready\n"))
			return;
	}
}

/* argv for py: a sid one runs chrooted with its own /proc (wall_threads.py waits until its
 * lock waiter and reader are blocked by reading /proc/self/task/TID/syscall), mounted in a
 * private mount namespace that ends with the process; the same PID (unshare, sh and chroot
 * exec), host PIDs (no PID namespace). */
static void wall_argv(const struct test_python *py, char **argv, char *const args[])
{
	int n = 0;

	if (!py->root[0]) {
		python_argv(py, argv, args);
		return;
	}
	argv[n++] = "/usr/bin/unshare";
	argv[n++] = "--mount";
	argv[n++] = "--propagation";
	argv[n++] = "private";
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = "mount -t proc proc \"$0/proc\" && exec /usr/sbin/chroot \"$0\" \"$@\"";
	argv[n++] = (char *)py->root;
	argv[n++] = (char *)py->path;
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
}

/* One interpreter: returns the number of failed checks (each printed). */
static int check_one(const struct test_python *py)
{
	struct wall_run r = {};
	struct sampler_opts o = { .freq_hz = 99, .mode = PH_MODE_WALL, .cb = wall_cb, .ctx = &r };
	char *args[] = { (char *)workload("wall_threads.py"), "120", NULL }, *argv[16];
	struct sampler_stats st;
	struct sampler *s;
	struct child c;
	struct py_proc p;
	static char out[1 << 16];
	char *line, *save = NULL;
	double t0, t1, asleep = 0;
	int fails = 0, err, nspin = 0;
	uint64_t sum = 0;

	wall_argv(py, argv, args);
	cr_assert_eq(child_start(&c, argv), 0);
	child_go(&c);
	wait_ready(c.out_fd, py->label);
	r.pid = c.pid;
	cr_assert_eq(sampler_open(&o, -1, &s), 0, "%s: sampler_open", py->label);
	err = py_proc_inspect(c.pid, &p);
	cr_assert_eq(err, 0, "%s: inspect: %s", py->label, strerror(-err));
	err = sampler_add_process(s, &p);
	cr_assert_eq(err, 0, "%s: sampler_add_process: %s", py->label, strerror(-err));
	snap_threads(&r, false);
	cr_assert_eq(sampler_attach(s), 0);
	t0 = mono_seconds();
	while (mono_seconds() - t0 < WALL_SECONDS) {
		int n = sampler_poll(s, 100);

		cr_assert(n >= 0 || n == -EINTR, "sampler_poll: %s", strerror(-n));
	}
	/* stop sampling before the threads wind down */
	sampler_stats(s, &st);
	sampler_free(s);
	t1 = mono_seconds();
	snap_threads(&r, true);
	kill(c.pid, SIGUSR1);
	cr_assert_eq(child_wait(&c, out, sizeof(out)), 0, "%s: workload failed: %s", py->label,
		     out);
	cr_log_info("%s: wall runs %llu (%.0f us each), late %llu, errors %llu, samples %llu, "
		    "err_read %llu, no_tstate %llu", py->label, (unsigned long long)st.wall_runs,
		    st.wall_runs ? st.wall_run_ns / 1e3 / st.wall_runs : 0.0,
		    (unsigned long long)st.wall_late, (unsigned long long)st.wall_errors,
		    (unsigned long long)st.bpf[SMP_SAMPLES], (unsigned long long)st.bpf[SMP_ERR_READ],
		    (unsigned long long)st.bpf[SMP_ERR_NO_TSTATE]);
	cr_expect_eq(st.wall_errors, 0, "%s: iterator runs failed", py->label);
	cr_expect_eq(r.overflow, 0);

	/* every thread about the same number of samples */
	for (int i = 0; i < r.ntids; i++)
		sum += r.tids[i].total;
	printf("wall %-12s threads %d samples %llu\n", py->label, r.ntids,
	       (unsigned long long)sum);
	if (r.ntids != 7) {
		printf("  FAIL: %d threads sampled, expected 7\n", r.ntids);
		fails++;
	}
	for (int i = 0; i < r.ntids; i++) {
		struct tid_count *t = &r.tids[i];
		double mean = (double)sum / (r.ntids ? r.ntids : 1);

		printf("  tid %d samples %llu: cpu %.1f%% gil %.1f%% runnable %.1f%% sleep %.1f%% "
		       "read %.1f%% futex %.1f%% other %.1f%%\n", (int)t->tid,
		       (unsigned long long)t->total, pct(t->n[L_CPU], t->total),
		       pct(t->n[L_GIL], t->total), pct(t->n[L_RUNNABLE], t->total),
		       pct(t->n[L_SLEEP], t->total), pct(t->n[L_READ], t->total),
		       pct(t->n[L_FUTEX], t->total), pct(t->n[L_OTHER], t->total));
		if (t->total < 0.85 * mean || t->total > 1.15 * mean || t->total < 100) {
			printf("  FAIL: tid %d has %llu samples, mean %.0f\n", (int)t->tid,
			       (unsigned long long)t->total, mean);
			fails++;
		}
	}

	/* the sleeps the sleeper timed, clipped to the window */
	for (line = out; (line = strstr(line, "\nsleep ")); line++) {
		double b, a;

		if (sscanf(line + 1, "sleep %lf %lf", &b, &a) == 2) {
			a = b + SLEEP_S; /* the kernel's part; the rest is waking up */
			b = b > t0 ? b : t0;
			a = a < t1 ? a : t1;
			asleep += a > b ? a - b : 0;
		}
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int tid, rd, lk;
		double wall, cpu, slept;
		struct tid_count *t;

		if (sscanf(line, "spin %d wall=%lf cpu=%lf", &tid, &wall, &cpu) == 3) {
			double win_ns = (t1 - t0) * 1e9, k_cpu, k_rq, k_gil, g, q;

			nspin++;
			t = find_tid(&r, tid);
			cr_assert(t, "%s: spinner %d not sampled", py->label, tid);
			k_cpu = 100.0 * (t->cpu1 - t->cpu0) / win_ns;
			k_rq = 100.0 * (t->wait1 - t->wait0) / win_ns;
			k_gil = 100 - k_cpu - k_rq;
			g = pct(t->n[L_GIL], t->total);
			q = pct(t->n[L_RUNNABLE], t->total);
			printf("  spin %d: [gil] %.1f%% (kernel: off CPU and off run queue %.1f%%), "
			       "[runnable] %.1f%% (kernel %.1f%%), running %.1f%% (kernel %.1f%%)\n",
			       tid, g, k_gil, q, k_rq, pct(t->n[L_CPU], t->total), k_cpu);
			/* a spinner makes no syscall but the GIL's futex: anything else (a page
			 * fault: [blocked]) must be rare */
			if (g < k_gil - 10 || g > k_gil + 10 || q < k_rq - 10 || q > k_rq + 10 ||
			    pct(t->n[L_OTHER] + t->n[L_FUTEX], t->total) > 1) {
				printf("  FAIL: spinner %d (other leaves %.1f%%)\n", tid,
				       pct(t->n[L_OTHER] + t->n[L_FUTEX], t->total));
				fails++;
			}
		} else if (sscanf(line, "sleeper %d wall=%lf slept=%lf", &tid, &wall, &slept) == 3) {
			double win_ns = (t1 - t0) * 1e9, want_sleep = 100.0 * asleep / (t1 - t0);
			double k_off, s_got, w_got;

			t = find_tid(&r, tid);
			cr_assert(t, "%s: sleeper %d not sampled", py->label, tid);
			k_off = 100 - 100.0 * (t->cpu1 - t->cpu0) / win_ns - want_sleep;
			s_got = pct(t->n[L_SLEEP], t->total);
			w_got = pct(t->n[L_GIL] + t->n[L_RUNNABLE], t->total);
			printf("  sleeper %d: asleep %.1f%% (own clocks %.1f%%), waking: [gil]+[runnable] "
			       "%.1f%% (off CPU outside its sleeps %.1f%%)\n", tid, s_got, want_sleep,
			       w_got, k_off);
			if (s_got < want_sleep - 10 || s_got > want_sleep + 10 || w_got < k_off - 10 ||
			    w_got > k_off + 10) {
				printf("  FAIL: sleeper %d\n", tid);
				fails++;
			}
		} else if (sscanf(line, "tids reader=%d lock=%d", &rd, &lk) == 2) {
			struct tid_count *tr = find_tid(&r, rd), *tl = find_tid(&r, lk);

			cr_assert(tr && tl, "%s: reader or lock waiter not sampled", py->label);
			if (pct(tr->n[L_READ], tr->total) < 90) {
				printf("  FAIL: reader in read() %.1f%%\n", pct(tr->n[L_READ], tr->total));
				fails++;
			}
			if (tl->n[L_GIL] || pct(tl->n[L_FUTEX], tl->total) < 90) {
				printf("  FAIL: lock waiter [gil] %llu samples, futex %.1f%%\n",
				       (unsigned long long)tl->n[L_GIL], pct(tl->n[L_FUTEX], tl->total));
				fails++;
			}
		}
	}
	if (nspin != 3) {
		printf("  FAIL: %d spinners reported\n", nspin);
		fails++;
	}
	fflush(stdout);
	return fails;
}

Test(wall, threads, .timeout = 300)
{
	struct test_python py[16];
	char missing[256];
	int n = test_pythons(py, 16, missing, sizeof(missing)), fails = 0;

	cr_assert_str_empty(missing, "interpreters missing:%s", missing);
	cr_assert_geq(n, 7, "expected Debian 3.11 and pyenv 3.8-3.13, found %d", n);
	log_setup_libbpf();
	for (int i = 0; i < n; i++)
		fails += check_one(&py[i]);
	cr_expect_eq(fails, 0, "%d wall-mode checks failed (see stdout)", fails);
}

/* gil mode through the CLI: every sample is the thread holding the GIL, about one per tick
 * (99 Hz), and with three spinners and nothing else running Python, a spinner */
static int check_gil_mode(const struct test_python *py)
{
	char *args[] = { (char *)workload("wall_threads.py"), "60", NULL }, *argv[16];
	static char out[1 << 16];
	char cmd[1024], path[96];
	unsigned long long total = 0, spin = 0, n;
	struct child c;
	FILE *f;
	int fails = 0;

	wall_argv(py, argv, args);
	cr_assert_eq(child_start(&c, argv), 0);
	child_go(&c);
	wait_ready(c.out_fd, py->label);
	snprintf(path, sizeof(path), "/tmp/pyhound-gil-%d.collapsed", (int)c.pid);
	snprintf(cmd, sizeof(cmd), "%s record --mode gil -d 2 --pid %d -o %s", bin(), (int)c.pid,
		 path);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s: %s", py->label, out);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: no output: %s", py->label, out);
	while (fgets(out, sizeof(out), f)) {
		char *sp = strrchr(out, ' ');

		if (!sp || sscanf(sp, "%llu", &n) != 1)
			continue;
		total += n;
		if (strstr(out, " (spin_"))
			spin += n;
	}
	fclose(f);
	unlink(path);
	kill(c.pid, SIGUSR1);
	child_wait(&c, out, sizeof(out));
	printf("gil %-12s samples %llu, in a spinner %llu\n", py->label, total, spin);
	if (total < 100 || spin < 0.9 * total) {
		printf("  FAIL: %s gil mode: %llu samples, %llu in spinners\n", py->label, total,
		       spin);
		fails++;
	}
	return fails;
}

/* 3.14 and 3.15 (sid, chrooted): the GIL from the interpreter's own _Py_DebugOffsets. The
 * thread checks on one release and one -dbg build (one of each minor: their GIL lies at other
 * offsets of the interpreter), gil mode on the other two. */
Test(wall, threads_sid, .timeout = 300)
{
	struct test_python py[8];
	char missing[256] = "";
	int n = test_sid_pythons(py, 8, missing, sizeof(missing)), fails = 0;

	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	cr_assert_eq(n, 4);
	log_setup_libbpf();
	for (int i = 0; i < n; i++) {
		bool dbg = py[i].label[strlen(py[i].label) - 1] == 'd'; /* "sid-3.14d" */
		bool minor14 = strstr(py[i].label, "3.14") != NULL;

		if (dbg != minor14) /* sid-3.14 and sid-3.15d */
			fails += check_one(&py[i]);
		else
			fails += check_gil_mode(&py[i]);
	}
	cr_expect_eq(fails, 0, "%d wall-mode checks failed (see stdout)", fails);
}

/* The CLI: record --mode wall writes the pseudo-frames as leaves, report says it is wall
 * clock, top --mode gil shows GIL%, and a bad mode is a usage error. */
Test(wall, cli_modes, .timeout = 120)
{
	char *argv[] = { (char *)python_for(12, false), (char *)workload("wall_threads.py"), "60",
			 NULL };
	static char out[1 << 16];
	char cmd[1024], path[64];
	struct child c;
	int rc;

	cr_assert_eq(child_start(&c, argv), 0);
	child_go(&c);
	wait_ready(c.out_fd, "3.12");
	snprintf(path, sizeof(path), "/tmp/pyhound-wall-%d.collapsed", (int)getpid());
	snprintf(cmd, sizeof(cmd), "(%s record --mode wall -d 2 --pid %d -o %s && grep -c "
		 "';\\[syscall:read\\] [0-9]*$' %s && grep -c ';\\[syscall:futex\\] [0-9]*$' %s)",
		 bin(), (int)c.pid, path, path, path);
	rc = run_cmd(cmd, out, sizeof(out));
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "per thread (wall clock)"), "%s", out);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "%s report --mode wall --no-gc -d 2 --pid %d", bin(),
		 (int)c.pid);
	rc = run_cmd(cmd, out, sizeof(out));
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "Hot paths, wall clock"), "%s", out);
	cr_expect(strstr(out, "[syscall:read]"), "%s", out);
	/* the GIL-contention finding, and the per-thread table in JSON */
	snprintf(cmd, sizeof(cmd), "%s report --mode wall --no-gc --json -d 3 --pid %d | python3 -c "
		 "\"import json,sys; r=json.load(sys.stdin); p=r['processes'][0]; "
		 "assert len(p['wall_threads']) == 7, p['wall_threads']; "
		 "f=[f for f in p['findings'] if f['kind']=='gil-contention']; "
		 "assert f and f[0]['holder_function']=='spin_work', p['findings']\"",
		 bin(), (int)c.pid);
	rc = run_cmd(cmd, out, sizeof(out));
	cr_expect_eq(rc, 0, "GIL contention finding: %s", out);
	snprintf(cmd, sizeof(cmd), "%s top --mode gil -d 2.5 -i 2 --pid %d", bin(), (int)c.pid);
	rc = run_cmd(cmd, out, sizeof(out));
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "GIL%"), "%s", out);
	cr_expect(strstr(out, "spin_work"), "the GIL holder's function: %s", out);
	snprintf(cmd, sizeof(cmd), "%s record --mode bogus -o /dev/null", bin());
	rc = run_cmd(cmd, out, sizeof(out));
	cr_expect_eq(rc, 2, "%s", out);
	cr_expect(strstr(out, "invalid --mode 'bogus' (expected cpu, wall or gil)"), "%s", out);
	kill(c.pid, SIGUSR1);
	child_wait(&c, out, sizeof(out));
}

/* Two I/O-bound threads (short sleeps) do not make a GIL-contention finding. */
Test(wall, no_gil_finding_for_io_threads, .timeout = 60)
{
	char *argv[] = { (char *)python_for(12, false), "-c",
			 "import sys, threading, time\n"
			 "def io():\n    while True: time.sleep(0.005)\n"
			 "for _ in range(2): threading.Thread(target=io, daemon=True).start()\n"
			 "print('ready', flush=True)\nsys.stdin.readline()\n", NULL };
	static char out[1 << 16];
	char cmd[1024];
	struct child c;
	int rc;

	cr_assert_eq(child_start(&c, argv), 0);
	wait_ready(c.out_fd, "3.12");
	snprintf(cmd, sizeof(cmd), "%s report --mode wall --no-gc --json -d 3 --pid %d | python3 -c "
		 "\"import json,sys; r=json.load(sys.stdin); p=r['processes'][0]; "
		 "assert len(p['wall_threads']) == 3, p['wall_threads']; "
		 "assert not [f for f in p['findings'] if f['kind']=='gil-contention'], "
		 "p['findings']\"", bin(), (int)c.pid);
	rc = run_cmd(cmd, out, sizeof(out));
	cr_expect_eq(rc, 0, "%s", out);
	child_go(&c);
	child_wait(&c, out, sizeof(out));
}
