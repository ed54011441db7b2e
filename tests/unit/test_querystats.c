// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Query aggregation and the N+1 grouping: calls of the enclosing function told apart by its
 * line going back to the first query's, a changed parent, several threads. */
#include <criterion/criterion.h>
#include <string.h>
#include "model/querystats.h"

#define LOAD "SELECT id FROM customers"
#define PER "SELECT total FROM orders WHERE customer_id = ?"

static struct prof_frame fr(const char *name, int line, int first)
{
	struct prof_frame f = { .name = name, .file = "/srv/shop.py", .line = line,
				.first_line = first };
	return f;
}

/* one request: the view loads n rows (line 20) then queries once per row (line 22) */
static void request(struct querystats *qs, pid_t tid, const char *view, int n, uint64_t *ts)
{
	struct prof_frame st[3] = { fr("load", 5, 4), fr(view, 20, 18), fr("handle", 90, 80) };

	querystats_add(qs, 1, tid, 1, LOAD, st, 3, 3, (*ts)++, 1, n, false);
	st[0] = fr("orders_for", 11, 10);
	st[1] = fr(view, 22, 18);
	for (int i = 0; i < n; i++)
		querystats_add(qs, 1, tid, 1, PER, st, 3, 3, (*ts)++, 2, 3, false);
}

Test(querystats, n1_per_call_counts)
{
	struct querystats *qs = querystats_new(10);
	const struct qs_n1 *x;
	const struct qs_entry *e;
	uint64_t ts = 1000;
	size_t n;

	cr_assert(qs);
	for (int r = 0; r < 3; r++)
		request(qs, 7, "report", 40, &ts);
	request(qs, 7, "small", 3, &ts); /* under the threshold */
	querystats_flush(qs);
	e = querystats_entries(qs, &n);
	cr_expect_eq(n, 4); /* (LOAD, PER) x (report, small) */
	x = querystats_n1(qs, &n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(x->stmt, PER);
	cr_expect_str_eq(x->site.name, "orders_for");
	cr_expect_str_eq(x->parent.name, "report");
	cr_expect_eq(x->parent_calls, 3);
	cr_expect_eq(x->queries, 120);
	cr_expect_eq(x->min_per_call, 40);
	cr_expect_eq(x->max_per_call, 40);
	cr_expect_eq(x->other_queries, 3);
	cr_expect_eq(x->query_ns, 240);
	(void)e;
	querystats_free(qs);
}

Test(querystats, threads_are_separate_and_join_is_not_n1)
{
	struct querystats *qs = querystats_new(10);
	struct prof_frame st[2] = { fr("report", 30, 28), fr("main", 50, 45) };
	uint64_t ts = 1;
	size_t n;

	/* a view with one query per request, 20 requests on two threads: one per call */
	for (int i = 0; i < 20; i++)
		request(qs, 100 + i % 2, "one", 0, &ts);
	/* two threads interleaved, each running the N+1 once */
	{
		struct prof_frame a[3] = { fr("load", 5, 4), fr("v", 20, 18), fr("h", 90, 80) };
		struct prof_frame b[3] = { fr("orders_for", 11, 10), fr("v", 22, 18),
					   fr("h", 90, 80) };

		querystats_add(qs, 1, 200, 1, LOAD, a, 3, 3, ts++, 1, 0, false);
		querystats_add(qs, 1, 201, 1, LOAD, a, 3, 3, ts++, 1, 0, false);
		for (int i = 0; i < 30; i++)
			querystats_add(qs, 1, 200 + i % 2, 1, PER, b, 3, 3, ts++, 1, 0, false);
	}
	querystats_flush(qs);
	{
		const struct qs_n1 *x = querystats_n1(qs, &n);

		cr_assert_eq(n, 1);
		cr_expect_eq(x->parent_calls, 2);
		cr_expect_eq(x->queries, 30);
		cr_expect_eq(x->min_per_call, 15);
		cr_expect_eq(x->other_queries, 2);
	}
	for (int i = 0; i < 5; i++) /* one JOIN per call, 5 calls */
		querystats_add(qs, 1, 9, 1, "SELECT ... JOIN", st, 2, 2, ts++, 5, 100, false);
	querystats_flush(qs);
	querystats_n1(qs, &n);
	cr_expect_eq(n, 1); /* only the one above */
	querystats_free(qs);
}

Test(querystats, quantile_is_capped_at_max)
{
	struct querystats *qs = querystats_new(0);
	struct prof_frame st[1] = { fr("f", 1, 1) };
	const struct qs_entry *e;
	size_t n;

	for (int i = 0; i < 99; i++)
		querystats_add(qs, 1, 1, 1, "SELECT ?", st, 1, 1, i, 1000, 0, false);
	querystats_add(qs, 1, 1, 1, "SELECT ?", st, 1, 1, 100, 5000, 0, true);
	e = querystats_entries(qs, &n);
	cr_assert_eq(n, 1);
	cr_expect_eq(e->count, 100);
	cr_expect_eq(e->errors, 1);
	cr_expect_eq(e->max_ns, 5000);
	cr_expect(qs_entry_quantile(e, 0.99) >= 1000 && qs_entry_quantile(e, 0.99) <= 1023);
	cr_expect_eq(qs_entry_quantile(e, 1.0), 5000);
	querystats_free(qs);
}

/* the view runs the "1" itself, a helper the N; requests alternate with a one-query view */
Test(querystats, view_loads_itself_and_one_query_views_are_not_n1)
{
	struct querystats *qs = querystats_new(10);
	struct prof_frame load[2] = { fr("report", 20, 18), fr("dispatch", 70, 60) };
	struct prof_frame per[3] = { fr("orders_for", 11, 10), fr("report", 23, 18),
				     fr("dispatch", 70, 60) };
	struct prof_frame health[2] = { fr("health", 40, 39), fr("dispatch", 70, 60) };
	const struct qs_n1 *x;
	uint64_t ts = 1;
	size_t n;

	for (int r = 0; r < 4; r++) {
		querystats_add(qs, 1, 5, 1, LOAD, load, 2, 2, ts++, 1, 0, false);
		for (int i = 0; i < 25; i++)
			querystats_add(qs, 1, 5, 1, PER, per, 3, 3, ts++, 1, 0, false);
		if (r >= 2) /* the last two requests back to back, then health checks */
			continue;
		for (int i = 0; i < 30; i++)
			querystats_add(qs, 1, 5, 1, "SELECT ?", health, 2, 2, ts++, 1, 0, false);
	}
	querystats_flush(qs);
	x = querystats_n1(qs, &n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(x->parent.name, "report");
	cr_expect_str_eq(x->site.name, "orders_for");
	cr_expect_eq(x->parent_calls, 4);
	cr_expect_eq(x->queries, 100);
	cr_expect_eq(x->min_per_call, 25);
	cr_expect_eq(x->other_queries, 4);
	querystats_free(qs);
}

/* serve ages exited processes out: their rows, N+1 rows and threads go, their counts are
 * summed per command; the rows of other processes stay whole and findable, also after the
 * strings nothing refers to are freed */
Test(querystats, forget_folds_per_command_and_keeps_the_rest)
{
	struct querystats *qs = querystats_new(10);
	struct prof_frame st[3] = { fr("orders_for", 11, 10), fr("report", 22, 18),
				    fr("handle", 90, 80) };
	const struct qs_entry *e;
	const struct qs_folded *fo;
	uint64_t ts = 1;
	char stmt[64];
	size_t n;

	cr_assert(qs);
	request(qs, 7, "report", 40, &ts); /* pid 1: 41 queries, an N+1 of 40 */
	/* pid 2: 3000 distinct statements (strings to free), pid 3: one statement */
	for (int i = 0; i < 3000; i++) {
		snprintf(stmt, sizeof(stmt), "SELECT %d FROM t", i);
		querystats_add(qs, 2, 2, 1, stmt, st, 3, 3, ts++, 10, 1, false);
	}
	querystats_add(qs, 3, 3, 1, PER, st, 3, 3, ts++, 5, 2, true);
	querystats_forget(qs, 1, "gunicorn");
	querystats_forget(qs, 2, "job");
	querystats_forget(qs, 4, "never-seen"); /* nothing: no folded row */
	e = querystats_entries(qs, &n);
	cr_assert_eq(n, 1);
	cr_expect_eq(e[0].pid, 3);
	cr_expect_str_eq(e[0].stmt, PER);
	cr_expect_str_eq(e[0].site.name, "orders_for");
	cr_expect_str_eq(e[0].parent.name, "report");
	cr_expect_eq(e[0].errors, 1);
	querystats_n1(qs, &n);
	cr_expect_eq(n, 0, "pid 1's N+1 row went with it");
	/* pid 3 adds to its own row (the index was rebuilt) */
	querystats_add(qs, 3, 3, 1, PER, st, 3, 3, ts++, 5, 2, false);
	e = querystats_entries(qs, &n);
	cr_expect_eq(n, 1);
	cr_expect_eq(e[0].count, 2);
	cr_expect(querystats_add_rows(qs, querystats_last_entry(qs), 3, 10));
	cr_expect_eq(e[0].rows, 14);
	fo = querystats_folded(qs, &n);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(fo[0].comm, "gunicorn");
	cr_expect_eq(fo[0].procs, 1);
	cr_expect_eq(fo[0].count, 41);
	cr_expect_eq(fo[0].total_ns, 1 + 40 * 2);
	cr_expect_eq(fo[0].n1_queries, 40);
	cr_expect_str_eq(fo[1].comm, "job");
	cr_expect_eq(fo[1].count, 3000);
	cr_expect_eq(fo[1].rows, 3000);
	/* a new process finds its strings again (freed ones are interned anew) */
	querystats_add(qs, 5, 5, 1, "SELECT 7 FROM t", st, 3, 3, ts++, 10, 1, false);
	e = querystats_entries(qs, &n);
	cr_expect_eq(n, 2);
	cr_expect_str_eq(e[1].stmt, "SELECT 7 FROM t");
	querystats_free(qs);
}

/* past QS_MAX_FOLDED commands, forgotten processes are summed as "other" */
Test(querystats, forget_is_bounded_by_command)
{
	struct querystats *qs = querystats_new(10);
	struct prof_frame st[1] = { fr("job", 5, 4) };
	const struct qs_folded *fo;
	char comm[16];
	size_t n;

	cr_assert(qs);
	for (int p = 1; p <= QS_MAX_FOLDED + 10; p++) {
		snprintf(comm, sizeof(comm), "cmd%d", p);
		querystats_add(qs, p, p, 1, LOAD, st, 1, 1, p, 1, 0, false);
		querystats_forget(qs, p, comm);
	}
	fo = querystats_folded(qs, &n);
	cr_assert_eq(n, QS_MAX_FOLDED + 1);
	cr_expect_str_eq(fo[QS_MAX_FOLDED].comm, "other");
	cr_expect_eq(fo[QS_MAX_FOLDED].procs, 10);
	cr_expect_eq(fo[QS_MAX_FOLDED].count, 10);
	querystats_entries(qs, &n);
	cr_expect_eq(n, 0);
	querystats_free(qs);
}

/* Budget windows: a call cut by a window's end counts apart (cut_calls, not in the per-call
 * figures); after a window's start, the calls on the first query's stack are partial (their
 * start unseen: never an N+1, however many repeats), and the first "1" seen starts a call
 * followed whole. */
Test(querystats, window_cut_and_partial_calls)
{
	struct querystats *qs = querystats_new(10);
	struct prof_frame per[3] = { fr("orders_for", 11, 10), fr("report", 22, 18),
				     fr("handle", 90, 80) };
	const struct qs_n1 *x;
	uint64_t ts = 1;
	size_t n;

	cr_assert(qs);
	/* window 1 (from the start): one call whole, then one cut after 25 repeats */
	request(qs, 7, "report", 40, &ts);
	request(qs, 7, "report", 25, &ts);
	querystats_cut(qs);
	/* window 2 opens inside a call: 30 repeats of a call whose start is unseen, then a
	 * whole call of 12, then a call cut after 3 (under the threshold: nothing) */
	for (int i = 0; i < 30; i++)
		querystats_add(qs, 1, 7, 1, PER, per, 3, 3, ts++, 2, 3, false);
	request(qs, 7, "report", 12, &ts);
	request(qs, 7, "report", 3, &ts);
	querystats_cut(qs);
	/* window 3 opens inside a call and sees only its repeats: partial, no N+1 */
	for (int i = 0; i < 50; i++)
		querystats_add(qs, 1, 7, 1, PER, per, 3, 3, ts++, 2, 3, false);
	querystats_cut(qs);
	x = querystats_n1(qs, &n);
	cr_assert_eq(n, 1);
	cr_expect_eq(x->parent_calls, 2);
	cr_expect_eq(x->min_per_call, 12);
	cr_expect_eq(x->max_per_call, 40);
	cr_expect_eq(x->cut_calls, 1);
	cr_expect_eq(x->cut_max_per_call, 25);
	cr_expect_eq(x->queries, 40 + 25 + 12);
	querystats_free(qs);
}
