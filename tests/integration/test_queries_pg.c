// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Database queries on a real PostgreSQL server (Debian's postgresql, started by the test as
 * the postgres user on a private socket directory and port, stopped at the end) through
 * psycopg2 (libpq's PQexec) and psycopg 3 (PQsendQuery* and PQgetResult) under Debian's python3.11:
 * the billing job as an N+1 (exact counts N and 1: N = 500 with psycopg2, as the job;
 * drawn per run from 400-600 with psycopg 3, the
 * seed in the info line (tests/common/draw.h); the functions, the statement, the rows
 * ntups PQntuples reads, found from its code) and with one JOIN (no finding); and a Flask app under
 * gunicorn whose /report endpoint is an N+1 over 30-50 customers (drawn; the finding needs
 * QS_N1_MIN = 10 per call), driven by a bounded number of requests: the finding names its view
 * function, with exact per-request counts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cmd/cli.h"
#include "collect/queries_user.h"
#include "common/draw.h"
#include "common/pythons.h"
#include "host/tracker.h"

#define PG_BIN "/usr/lib/postgresql/15/bin"
#define PY "/usr/bin/python3.11"
/* customers in the billing job: drawn per test from NCUST_MIN-NCUST_MAX (the mean is the fixed
 * 500 it replaces: the same test time) */
#define NCUST_MIN 400
#define NCUST_MAX 600
static int ncust;
#define Q_ORDERS "SELECT total FROM orders WHERE customer_id = ?"
#define Q_CUSTOMERS "SELECT id, name FROM customers ORDER BY id"
#define Q_JOIN "SELECT c.id, o.total FROM customers c JOIN orders o ON o.customer_id = c.id " \
	       "ORDER BY c.id"

struct pg {
	char dir[64];
	int port;
};

static void pg_start(struct pg *pg)
{
	char cmd[1024], out[4096];
	int rc = -1;

	snprintf(pg->dir, sizeof(pg->dir), "/tmp/pyhound-pg-XXXXXX");
	cr_assert(mkdtemp(pg->dir));
	snprintf(cmd, sizeof(cmd), "chown postgres %s && runuser -u postgres -- %s/initdb -D %s/data "
		 "-A trust -U postgres", pg->dir, PG_BIN, pg->dir);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "initdb failed: %s", out);
	for (int attempt = 0; attempt < 5 && rc; attempt++) {
		pg->port = 20000 + (getpid() * 7 + attempt * 131) % 20000;
		snprintf(cmd, sizeof(cmd), "runuser -u postgres -- %s/pg_ctl -D %s/data -l %s/log -w "
			 "-t 120 -o \"-k %s -p %d -c listen_addresses=''\" start", PG_BIN, pg->dir,
			 pg->dir, pg->dir, pg->port);
		rc = run_cmd(cmd, out, sizeof(out));
	}
	cr_assert_eq(rc, 0, "pg_ctl start failed: %s", out);
}

static void pg_stop(struct pg *pg)
{
	char cmd[512], out[1024];

	snprintf(cmd, sizeof(cmd), "runuser -u postgres -- %s/pg_ctl -D %s/data -m fast -w stop; "
		 "rm -rf %s", PG_BIN, pg->dir, pg->dir);
	run_cmd(cmd, out, sizeof(out));
}

struct session {
	struct tracker *t;
	struct queries *q;
};

static void attach(struct session *s, pid_t pid)
{
	struct tracker_opts to = { .follow = false, .pids = &pid, .npids = 1, .max_procs = 64 };
	struct queries_opts qo = { .max_procs = 64 };
	struct tracker_hooks h;

	cr_assert_eq(bpf_prepare(), 0, "BPF prerequisites missing");
	cr_assert_eq(tracker_open(&to, &s->t), 0);
	qo.tracked_fd = tracker_map_fd(s->t);
	cr_assert_eq(queries_open(&qo, &s->q), 0);
	h = queries_tracker_hooks(s->q);
	cr_assert_eq(tracker_add_hooks(s->t, &h), 0);
	cr_assert_eq(queries_attach(s->q), 0);
	cr_assert_eq(tracker_start(s->t), 0);
}

static void detach(struct session *s)
{
	queries_free(s->q);
	tracker_free(s->t);
}

static void read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		char c;

		if (read(fd, &c, 1) <= 0 || c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = 0;
}

/* the job's own counts: queries issued, rows fetched per kind */
struct job {
	int issued;
	int rows_customers, rows_orders, rows_join;
	int execute_us; /* time inside orders_for's cur.execute calls */
};

static int json_int(const char *line, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(line, k);
	return p ? atoi(p + strlen(k)) : -1;
}

static int run_job(struct pg *pg, const char *mode, const char *driver, struct session *s,
		   struct job *job)
{
	char port[16], n[16], line[512];
	char *argv[] = { PY, (char *)workload("queries_pg.py"), (char *)mode, pg->dir, port, n,
			 (char *)driver, NULL };
	struct child c;
	double deadline;
	int issued = -1, st = 0;
	pid_t w = 0;

	snprintf(port, sizeof(port), "%d", pg->port);
	snprintf(n, sizeof(n), "%d", ncust);
	cr_assert_eq(child_start(&c, argv), 0);
	read_line(c.out_fd, line, sizeof(line));
	cr_assert_str_eq(line, "ready", "workload did not start: %s", line);
	attach(s, c.pid);
	/* "go" without closing stdin: the job prints its count, then stays until stdin closes,
	 * so that its queries are read (their frames named from its memory) while it lives */
	cr_assert_eq(write(c.in_fd, "go\n", 3), 3);
	read_line(c.out_fd, line, sizeof(line));
	cr_assert_eq(sscanf(line, "{\"issued\": %d", &issued), 1, "job said %s", line);
	job->issued = issued;
	job->rows_customers = json_int(line, "customers");
	job->rows_orders = json_int(line, "orders");
	job->rows_join = json_int(line, "join");
	job->execute_us = json_int(line, "execute_us");
	deadline = mono_seconds() + 120;
	while (mono_seconds() < deadline) {
		size_t ne;
		const struct qs_entry *e;
		uint64_t seen = 0;

		tracker_poll(s->t, 0);
		queries_poll(s->q, 50);
		e = querystats_entries(queries_stats(s->q), &ne);
		for (size_t k = 0; k < ne; k++)
			seen += e[k].count;
		if (seen >= (uint64_t)issued)
			break;
	}
	close(c.in_fd);
	while (mono_seconds() < deadline) {
		tracker_poll(s->t, 0);
		queries_poll(s->q, 50);
		w = waitpid(c.pid, &st, WNOHANG);
		if (w == c.pid)
			break;
	}
	if (w != c.pid) {
		kill(c.pid, SIGKILL);
		waitpid(c.pid, &st, 0);
		cr_assert_fail("the job did not finish in 120 s");
	}
	tracker_poll(s->t, 0);
	queries_poll(s->q, 0);
	querystats_flush(queries_stats(s->q));
	close(c.out_fd);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "job failed");
	return issued;
}

static const struct qs_entry *find_entry(struct querystats *qs, const char *stmt)
{
	size_t n;
	const struct qs_entry *e = querystats_entries(qs, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].stmt, stmt))
			return &e[i];
	return NULL;
}

static void print_entries(struct querystats *qs)
{
	size_t n;
	const struct qs_entry *e = querystats_entries(qs, &n);

	for (size_t i = 0; i < n; i++)
		cr_log_info("%s: %llu x, %llu rows, site %s, parent %s", e[i].stmt,
			    (unsigned long long)e[i].count, (unsigned long long)e[i].rows,
			    e[i].site.name, e[i].parent.name);
}

/* The N+1 job and the JOIN job through one driver. psycopg 3 prepares a statement at its 6th
 * run (prepare_threshold 5): orders_for's 500 queries are 5 PQsendQueryParams and 495
 * PQsendQueryPrepared of the same statement, plus one PREPARE in the same call. */
static void n1_and_join(const char *driver)
{
	uint64_t seed = test_seed(), state = seed;
	bool pg3 = !strcmp(driver, "psycopg");
	struct pg pg;
	struct session s = {};
	struct job job;
	const struct qs_entry *o, *c, *p;
	const struct qs_n1 *x;
	size_t nn1, ne;
	int issued;

	/* psycopg2 runs the job (1 + 500 queries), psycopg 3 a drawn N */
	ncust = pg3 ? (int)test_draw(&state, NCUST_MIN, NCUST_MAX) : 500;
	cr_log_info("seed %llu (PYHOUND_TEST_SEED replays it): %d customers",
		    (unsigned long long)seed, ncust);
	pg_start(&pg);
	issued = run_job(&pg, "n1", driver, &s, &job);
	cr_expect_eq(issued, 1 + ncust);
	cr_expect_eq(job.rows_customers, ncust);
	cr_expect_eq(job.rows_orders, 3 * ncust);
	print_entries(queries_stats(s.q));
	o = find_entry(queries_stats(s.q), Q_ORDERS);
	c = find_entry(queries_stats(s.q), Q_CUSTOMERS);
	p = find_entry(queries_stats(s.q), "PREPARE " Q_ORDERS);
	cr_expect(o && c, "statements not seen");
	if (o && c) {
		cr_expect_eq(o->count, (uint64_t)ncust, "%llu", (unsigned long long)o->count);
		cr_expect_eq(o->rows, (uint64_t)job.rows_orders, "%llu rows",
			     (unsigned long long)o->rows);
		cr_expect_eq(o->lib, Q_LIB_PQ);
		cr_expect_str_eq(o->site.name, "orders_for");
		cr_expect_str_eq(o->parent.name, "billing_n1");
		/* each query's time lies inside its cur.execute call (the job's own clock) */
		cr_expect(o->total_ns <= (uint64_t)job.execute_us * 1000 + 1000000 &&
				  o->total_ns * 10 >= (uint64_t)job.execute_us * 1000,
			  "%llu us in libpq, %d us in cur.execute",
			  (unsigned long long)o->total_ns / 1000, job.execute_us);
		cr_expect_eq(c->count, 1);
		cr_expect(!o->errors && !c->errors, "errors counted for queries that succeeded");
		cr_expect_eq(c->rows, (uint64_t)job.rows_customers, "%llu rows",
			     (unsigned long long)c->rows);
		cr_expect_str_eq(c->site.name, "load_customers");
	}
	if (pg3) {
		cr_expect(p && p->count == 1, "psycopg 3's one PREPARE not seen once");
		if (p)
			cr_expect_str_eq(p->site.name, "orders_for");
	} else {
		cr_expect(!p, "psycopg2 prepares nothing");
	}
	x = querystats_n1(queries_stats(s.q), &nn1);
	cr_expect_eq(nn1, 1, "%zu N+1 findings", nn1);
	if (nn1 == 1) {
		cr_expect_str_eq(x->stmt, Q_ORDERS);
		cr_expect_str_eq(x->site.name, "orders_for");
		cr_expect_str_eq(x->parent.name, "billing_n1");
		cr_expect_eq(x->queries, (uint64_t)ncust);
		cr_expect_eq(x->max_per_call, (uint64_t)ncust);
		cr_expect_eq(x->min_per_call, (uint64_t)ncust);
		cr_expect_eq(x->parent_calls, 1);
		/* the customers query, and psycopg 3's PREPARE */
		cr_expect_eq(x->other_queries, pg3 ? 2 : 1, "%llu",
			     (unsigned long long)x->other_queries);
	}
	detach(&s);

	memset(&s, 0, sizeof(s));
	issued = run_job(&pg, "join", driver, &s, &job);
	cr_expect_eq(issued, 2); /* the JOIN, then a query on a missing table (the server fails it) */
	querystats_entries(queries_stats(s.q), &ne);
	querystats_n1(queries_stats(s.q), &nn1);
	cr_expect_eq(ne, 2, "%zu statements for one JOIN and one failed query", ne);
	o = find_entry(queries_stats(s.q), Q_JOIN);
	cr_expect(o, "the JOIN not seen");
	if (o) {
		cr_expect_eq(o->count, 1);
		cr_expect_eq(o->errors, 0);
		cr_expect_eq(o->rows, (uint64_t)job.rows_join, "%llu rows of %d",
			     (unsigned long long)o->rows, job.rows_join);
		cr_expect_str_eq(o->site.name, "billing_join");
	}
	/* PGRES_FATAL_ERROR (relation does not exist): counted as an error, not as done */
	p = find_entry(queries_stats(s.q), "SELECT total FROM no_such_table");
	cr_expect(p, "the failed query not seen");
	if (p) {
		cr_expect_eq(p->count, 1);
		cr_expect_eq(p->errors, 1, "%llu errors", (unsigned long long)p->errors);
		cr_expect_str_eq(p->site.name, "missing_table");
	}
	cr_expect_eq(nn1, 0, "%zu N+1 findings for one JOIN", nn1);
	detach(&s);
	pg_stop(&pg);
}

Test(queries_pg, psycopg2_n1_and_join, .timeout = 300)
{
	n1_and_join("psycopg2");
}

Test(queries_pg, psycopg3_n1_and_join, .timeout = 300)
{
	n1_and_join("psycopg");
}

/* the first child of pid (gunicorn's worker), or 0 */
static pid_t first_child(pid_t pid)
{
	char path[64];
	FILE *f;
	int c = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &c) != 1)
		c = 0;
	fclose(f);
	return c;
}

static uint64_t count_of(struct querystats *qs, const char *stmt)
{
	size_t n;
	const struct qs_entry *e = querystats_entries(qs, &n);
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].stmt, stmt))
			sum += e[i].count;
	return sum;
}

/* customers per /report request: drawn per run (the mean is the fixed 40 it replaces) */
#define APP_CUST_MIN 30
#define APP_CUST_MAX 50
#define APP_REPORTS 15
#define APP_HEALTH 15

Test(queries_pg, gunicorn_flask_n1_endpoint_named, .timeout = 300)
{
	struct pg pg;
	struct session s = {};
	char cmd[PATH_MAX + 1024], buf[8192], errfile[128], dir[PATH_MAX];
	const struct qs_n1 *x;
	pid_t master, worker = 0;
	double deadline;
	size_t nn1;
	int hport, rc;
	uint64_t seed = test_seed(), state = seed, app_cust;

	app_cust = (uint64_t)test_draw(&state, APP_CUST_MIN, APP_CUST_MAX);
	ncust = 500; /* the tables, as before: more customers than any request reads */
	cr_log_info("seed %llu (PYHOUND_TEST_SEED replays it): %llu customers per report",
		    (unsigned long long)seed, (unsigned long long)app_cust);
	pg_start(&pg);
	/* the tables */
	snprintf(cmd, sizeof(cmd), "echo | %s %s join %s %d %d", PY, workload("queries_pg.py"),
		 pg.dir, pg.port, ncust);
	cr_assert_eq(run_cmd(cmd, buf, sizeof(buf)), 0, "%s", buf);
	snprintf(dir, sizeof(dir), "%s", workload("queries_app.py"));
	*strrchr(dir, '/') = 0;
	snprintf(errfile, sizeof(errfile), "%s/gunicorn.err", pg.dir);
	/* port 0: the kernel picks a free one when gunicorn binds, which it logs (a port chosen
	 * beforehand can be taken meanwhile, and gunicorn then gives up) */
	snprintf(cmd, sizeof(cmd), "cd %s && PYHOUND_PG_SOCK=%s PYHOUND_PG_PORT=%d "
		 "PYHOUND_APP_CUSTOMERS=%d exec %s -m gunicorn -w 1 -b 127.0.0.1:0 "
		 "queries_app:app 2>%s", dir, pg.dir, pg.port, (int)app_cust, PY, errfile);
	master = start_until_ready(cmd, errfile, "Booting worker", 120, buf, sizeof(buf));
	cr_assert(master > 0, "gunicorn did not start: %s", buf);
	{
		const char *at = strstr(buf, "Listening at: http://127.0.0.1:");

		hport = at ? atoi(at + strlen("Listening at: http://127.0.0.1:")) : 0;
		cr_assert(hport > 0 && hport < 65536, "gunicorn's port not logged: %s", buf);
	}
	deadline = mono_seconds() + 60;
	while (!worker && mono_seconds() < deadline) {
		worker = first_child(master);
		usleep(50000);
	}
	cr_assert(worker > 0, "no gunicorn worker");
	/* one request first: the app is imported and connected (libpq mapped) */
	snprintf(cmd, sizeof(cmd), "curl -sf -m 60 --retry 20 --retry-connrefused --retry-delay 1 "
		 "http://127.0.0.1:%d/health", hport);
	rc = run_cmd(cmd, buf, sizeof(buf));
	cr_assert_eq(rc, 0, "first request failed: %s", buf);
	attach(&s, worker);
	/* the bounded load: requests one after another, both endpoints interleaved */
	snprintf(cmd, sizeof(cmd), "for i in $(seq %d); do curl -sf -m 60 -o /dev/null "
		 "http://127.0.0.1:%d/report || exit 1; curl -sf -m 60 -o /dev/null "
		 "http://127.0.0.1:%d/health || exit 1; done", APP_REPORTS, hport, hport);
	rc = run_cmd(cmd, buf, sizeof(buf));
	cr_expect_eq(rc, 0, "load failed: %s", buf);
	deadline = mono_seconds() + 60;
	while (mono_seconds() < deadline &&
	       (count_of(queries_stats(s.q), Q_ORDERS) < APP_REPORTS * app_cust ||
		count_of(queries_stats(s.q), "SELECT ?") < APP_HEALTH)) {
		tracker_poll(s.t, 0);
		queries_poll(s.q, 50);
	}
	querystats_flush(queries_stats(s.q));
	cr_expect_eq(count_of(queries_stats(s.q), Q_ORDERS), APP_REPORTS * app_cust);
	cr_expect_eq(count_of(queries_stats(s.q), "SELECT ?"), APP_HEALTH);
	x = querystats_n1(queries_stats(s.q), &nn1);
	cr_expect_eq(nn1, 1, "%zu N+1 findings", nn1);
	if (nn1 == 1) {
		cr_expect_str_eq(x->parent.name, "customer_report", "named %s", x->parent.name);
		cr_expect_str_eq(x->site.name, "orders_for");
		cr_expect_str_eq(x->stmt, Q_ORDERS);
		cr_expect_eq(x->parent_calls, APP_REPORTS, "%llu calls",
			     (unsigned long long)x->parent_calls);
		cr_expect_eq(x->min_per_call, app_cust);
		cr_expect_eq(x->max_per_call, app_cust);
		cr_expect_eq(x->other_queries, APP_REPORTS);
	}
	detach(&s);
	kill(master, SIGTERM);
	if (wait_exit(master, 30) < 0)
		kill(master, SIGKILL);
	pg_stop(&pg);
}
