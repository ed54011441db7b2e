// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The syscall collector against real processes: exact counts and byte histograms on every
 * supported interpreter (sid's 3.14/3.15 chrooted included), processes that start late, exit early, are not Python, or live in
 * their own mount namespace. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cmd/cli.h"
#include "common/pythons.h"
#include "fdkind.h"
#include "hist.h"
#include "lib/histo.h"
#include "lib/log.h"
#include "collect/syscalls_user.h"
#include "host/tracker.h"

struct session {
	struct tracker *t;
	struct sc_collector *sc;
	struct sc_snapshot snap;
};

static void on_reject(const struct tracked_proc *tp, void *ctx)
{
	sc_purge_pid(ctx, tp->info.pid);
}

/* as report and serve do: an exited process's data leaves the kernel maps */
static void on_exit_(const struct tracked_proc *tp, void *ctx)
{
	cr_expect_eq(sc_retire_pid(ctx, tp->info.pid), 0);
}

static void session_open(struct session *s, const pid_t *pids, int npids)
{
	struct tracker_opts to = { .follow = npids == 0, .pids = pids, .npids = npids,
				   .max_procs = 1024 };
	struct sc_collector_opts so = {};
	struct tracker_hooks h = { .on_reject = on_reject, .on_exit = on_exit_ };

	memset(s, 0, sizeof(*s));
	log_setup_libbpf();
	cr_assert_eq(tracker_open(&to, &s->t), 0, "tracker_open");
	so.tracked_fd = tracker_map_fd(s->t);
	cr_assert_eq(sc_open(&so, &s->sc), 0, "sc_open");
	h.ctx = s->sc;
	tracker_add_hooks(s->t, &h);
	cr_assert_eq(sc_attach(s->sc), 0, "sc_attach");
	cr_assert_eq(tracker_start(s->t), 0, "tracker_start");
}

static void session_close(struct session *s)
{
	sc_snapshot_free(&s->snap);
	sc_free(s->sc);
	tracker_free(s->t);
}

/* Poll lifecycle events until the child exits; returns its exit status. */
static int poll_until_exit(struct session *s, struct child *c, char *out, size_t len)
{
	int st, n = 0;

	while (waitpid(c->pid, &st, WNOHANG) == 0 && n++ < 3000)
		tracker_poll(s->t, 10);
	if (n >= 3000) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &st, 0);
	}
	for (n = 0; n < 10; n++)
		tracker_poll(s->t, 5);
	if (out) {
		ssize_t r = read(c->out_fd, out, len - 1);

		out[r > 0 ? r : 0] = '\0';
	}
	close(c->out_fd);
	if (c->in_fd >= 0)
		close(c->in_fd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const struct io_stats *find_io(const struct sc_snapshot *snap, pid_t pid, unsigned int nr,
				      unsigned int kind)
{
	size_t i;

	for (i = 0; i < snap->nio; i++)
		if (snap->io[i].key.pid == (unsigned int)pid && snap->io[i].key.nr == nr &&
		    snap->io[i].key.kind == kind)
			return &snap->io[i].s;
	return NULL;
}

static const struct sc_stats *find_sc(const struct sc_snapshot *snap, pid_t pid, unsigned int nr)
{
	size_t i;

	for (i = 0; i < snap->nsc; i++)
		if (snap->sc[i].key.pid == (unsigned int)pid && snap->sc[i].key.nr == nr)
			return &snap->sc[i].s;
	return NULL;
}

static size_t entries_for(const struct sc_snapshot *snap, pid_t pid)
{
	size_t i, n = 0;

	for (i = 0; i < snap->nsc; i++)
		n += snap->sc[i].key.pid == (unsigned int)pid;
	for (i = 0; i < snap->nio; i++)
		n += snap->io[i].key.pid == (unsigned int)pid;
	return n;
}

/* The workload's known I/O, exactly. */
static void assert_known_io(const struct sc_snapshot *snap, pid_t pid, const char *label)
{
	const struct io_stats *w = find_io(snap, pid, 1 /* write */, FD_KIND_FILE);
	const struct io_stats *tx = find_io(snap, pid, 44 /* sendto */, FD_KIND_SOCKET);
	const struct io_stats *rx = find_io(snap, pid, 45 /* recvfrom */, FD_KIND_SOCKET);
	unsigned int s16 = ph_log2_slot(16, IO_SIZE_SLOTS), s1k = ph_log2_slot(1024, IO_SIZE_SLOTS);

	cr_assert_not_null(w, "%s: no write/file stats", label);
	cr_expect_eq(w->calls, 20000, "%s: write/file calls %llu", label, w->calls);
	cr_expect_eq(w->bytes, 20000 * 16, "%s: write/file bytes %llu", label, w->bytes);
	cr_expect_eq(w->size[s16], 20000, "%s: 16-byte bucket %llu", label, w->size[s16]);
	cr_expect_eq(w->min_bytes, 16, "%s", label);
	cr_expect_eq(w->max_bytes, 16, "%s", label);
	cr_assert_not_null(tx, "%s: no sendto/socket stats", label);
	cr_expect_eq(tx->calls, 5000, "%s: sendto calls %llu", label, tx->calls);
	cr_expect_eq(tx->bytes, 5000 * 1024, "%s: sendto bytes %llu", label, tx->bytes);
	cr_expect_eq(tx->size[s1k], 5000, "%s: 1 KiB bucket %llu", label, tx->size[s1k]);
	cr_assert_not_null(rx, "%s: no recvfrom/socket stats", label);
	cr_expect_eq(rx->calls, 5000, "%s: recvfrom calls %llu", label, rx->calls);
	cr_expect_eq(rx->bytes, 5000 * 1024, "%s: recvfrom bytes %llu", label, rx->bytes);
	/* the latency side agrees with the I/O side */
	cr_expect_geq(find_sc(snap, pid, 1)->count, 20000, "%s", label);
	cr_expect_eq(find_sc(snap, pid, 44)->count, 5000, "%s: sendto syscalls", label);
	cr_expect_eq(hist_total(find_sc(snap, pid, 44)->lat, SC_LAT_SLOTS), 5000, "%s", label);
}


/* One interpreter (a sid one chrooted: chroot execs it, same PID) running the known I/O. */
static void check_exact_counts(const struct test_python *py)
{
	char *args[] = { (char *)workload("io_batching.py"), NULL }, *argv[8];
	struct session s;
	struct child c;
	char out[256];

	python_argv(py, argv, args);
	cr_assert_eq(child_start(&c, argv), 0);
	usleep(300 * 1000); /* let the interpreter map libpython */
	session_open(&s, &c.pid, 1);
	cr_assert_eq(tracker_count(s.t), 1, "%s not tracked", py->label);
	cr_assert_eq(tracker_find(s.t, c.pid)->info.minor, py->minor, "%s version", py->label);
	cr_assert_eq(tracker_find(s.t, c.pid)->info.static_build, py->debian, "%s build",
		     py->label);
	child_go(&c);
	cr_assert_eq(poll_until_exit(&s, &c, out, sizeof(out)), 0, "%s failed: %s", py->label,
		     out);
	cr_assert(tracker_find(s.t, c.pid)->exited, "%s exit not seen", py->label);
	cr_assert_eq(sc_snapshot(s.sc, &s.snap), 0);
	assert_known_io(&s.snap, c.pid, py->label);
	cr_expect_eq(s.snap.drops[SC_DROP_STATS_FULL] + s.snap.drops[SC_DROP_IO_FULL], 0);
	cr_expect_eq(s.snap.kernel_nio, 0, "an exited process's entries left the kernel map");
	session_close(&s);
}

Test(syscalls, exact_counts_on_every_interpreter, .timeout = 180)
{
	struct test_python py[16];
	char missing[256];
	int n = test_pythons(py, 16, missing, sizeof(missing)), i;

	cr_assert_str_empty(missing, "interpreters missing:%s", missing);
	cr_assert_geq(n, 7, "expected Debian 3.11 and pyenv 3.8-3.13, found %d", n);
	for (i = 0; i < n; i++)
		check_exact_counts(&py[i]);
}

/* Debian sid's 3.14, 3.14d, 3.15 and 3.15d, chrooted: the same exact counts */
Test(syscalls, exact_counts_sid, .timeout = 180)
{
	struct test_python py[8];
	char missing[256] = "";
	int n = test_sid_pythons(py, 8, missing, sizeof(missing));

	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	cr_assert_eq(n, 4);
	for (int i = 0; i < n; i++)
		check_exact_counts(&py[i]);
}

/* Started 100 ms after pyhound: followed from exec, so its counts are exact too. */
Test(syscalls, process_started_later_is_followed, .timeout = 60)
{
	char *argv[] = { (char *)python_for(11, true), (char *)workload("io_batching.py"), "--now",
			 NULL };
	struct session s;
	struct child c;
	const struct tracked_proc *tp;

	session_open(&s, NULL, 0);
	usleep(100 * 1000);
	cr_assert_eq(child_start(&c, argv), 0);
	cr_assert_eq(poll_until_exit(&s, &c, NULL, 0), 0);
	tp = tracker_find(s.t, c.pid);
	cr_assert_not_null(tp, "process started later was not picked up");
	cr_assert(tp->exited);
	cr_assert_eq(sc_snapshot(s.sc, &s.snap), 0);
	assert_known_io(&s.snap, c.pid, "started-later");
	session_close(&s);
}

/* Same writes from processes that are not CPython, one of them named python3: never tracked,
 * and nothing of theirs is left in the maps. */
Test(syscalls, non_python_processes_are_ignored, .timeout = 60)
{
	const char *perl = "open(F, '>', '/tmp/pyhound-nonpy.out') or die; "
			   "syswrite(F, '0123456789abcdef') for 1..20000; close F; "
			   "unlink '/tmp/pyhound-nonpy.out';";
	char *argv1[] = { "/usr/bin/perl", "-e", (char *)perl, NULL };
	char *argv2[] = { "/tmp/pyhound-fake/python3", "-e", (char *)perl, NULL };
	struct session s;
	struct child c1, c2;
	char out[256];

	cr_assert_eq(run_cmd("mkdir -p /tmp/pyhound-fake && cp /usr/bin/perl "
			     "/tmp/pyhound-fake/python3", out, sizeof(out)), 0, "%s", out);
	session_open(&s, NULL, 0);
	cr_assert_eq(child_start(&c1, argv1), 0);
	cr_assert_eq(child_start(&c2, argv2), 0);
	cr_assert_eq(poll_until_exit(&s, &c1, NULL, 0), 0);
	cr_assert_eq(poll_until_exit(&s, &c2, NULL, 0), 0);
	cr_assert_null(tracker_find(s.t, c1.pid));
	cr_assert_null(tracker_find(s.t, c2.pid), "a non-Python process named python3 was tracked");
	cr_assert_eq(sc_snapshot(s.sc, &s.snap), 0);
	cr_expect_eq(entries_for(&s.snap, c1.pid), 0, "perl's syscalls left in the maps");
	cr_expect_eq(entries_for(&s.snap, c2.pid), 0, "fake python3's syscalls left in the maps");
	session_close(&s);
}

/* A process in its own mount namespace, running an interpreter at a path that exists only
 * there: found and counted through /proc/PID/root. */
Test(syscalls, process_in_own_mount_namespace, .timeout = 60)
{
	char script[1024];
	char *argv[] = { "/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
			 script, NULL };
	struct session s;
	struct child c;
	const struct tracked_proc *tp = NULL;
	char out[256];
	pid_t pypid = 0;
	int tries;

	snprintf(script, sizeof(script),
		 "mkdir -p /tmp/pyhound-ns && mount -t tmpfs none /tmp/pyhound-ns && "
		 "cp /usr/bin/python3.11 /tmp/pyhound-ns/nspython && cp %s /tmp/pyhound-ns/w.py && "
		 "exec /tmp/pyhound-ns/nspython /tmp/pyhound-ns/w.py",
		 workload("io_batching.py"));
	cr_assert_eq(child_start(&c, argv), 0);
	/* wait until the interpreter runs (the shell exec'd it, so the PID stays the same) */
	for (tries = 0; tries < 200; tries++) {
		char exe[256] = "", f[64];
		ssize_t r;

		snprintf(f, sizeof(f), "/proc/%d/exe", (int)c.pid);
		r = readlink(f, exe, sizeof(exe) - 1);
		if (r > 0 && (exe[r] = '\0', strstr(exe, "nspython")))
			break;
		usleep(10000);
	}
	pypid = c.pid;
	cr_assert_eq(access("/tmp/pyhound-ns/nspython", F_OK), -1,
		     "the interpreter path must not exist outside the namespace");
	session_open(&s, &pypid, 1);
	tp = tracker_find(s.t, pypid);
	cr_assert_not_null(tp);
	cr_assert_str_eq(tp->info.obj_path, "/tmp/pyhound-ns/nspython");
	cr_assert_eq(tp->info.minor, 11);
	child_go(&c);
	cr_assert_eq(poll_until_exit(&s, &c, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(sc_snapshot(s.sc, &s.snap), 0);
	assert_known_io(&s.snap, pypid, "mount-namespace");
	session_close(&s);
}

/* An application that embeds a shared libpython counts as a CPython process. */
Test(syscalls, embedded_libpython_counts, .timeout = 120)
{
	struct test_python py[16];
	char missing[256], cmd[4 * PATH_MAX + 512], out[4096], prefix[PATH_MAX];
	char *argv[] = { "/tmp/pyhound-embed/appserver", (char *)workload("io_batching.py"), NULL };
	int n = test_pythons(py, 16, missing, sizeof(missing)), i;
	const struct test_python *p = NULL;
	const struct tracked_proc *tp;
	struct session s;
	struct child c;

	for (i = 0; i < n; i++)
		if (!py[i].debian && py[i].minor == 12)
			p = &py[i];
	cr_assert_not_null(p, "pyenv 3.12 not found");
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(strstr(p->path, "/bin/") - p->path), p->path);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p /tmp/pyhound-embed && cc -o /tmp/pyhound-embed/appserver %s "
		 "-I%s/include/python3.12 -L%s/lib -lpython3.12 -Wl,-rpath,%s/lib",
		 workload("embedded.c"), prefix, prefix, prefix);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(child_start(&c, argv), 0);
	usleep(300 * 1000);
	session_open(&s, &c.pid, 1);
	tp = tracker_find(s.t, c.pid);
	cr_assert_not_null(tp);
	cr_expect_eq(tp->info.minor, 12);
	cr_expect(!tp->info.static_build);
	cr_expect(strstr(tp->info.obj_path, "libpython3.12.so"), "%s", tp->info.obj_path);
	child_go(&c);
	cr_assert_eq(poll_until_exit(&s, &c, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(sc_snapshot(s.sc, &s.snap), 0);
	assert_known_io(&s.snap, c.pid, "embedded");
	session_close(&s);
}
