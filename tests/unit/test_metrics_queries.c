// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve's query families from a known querystats: exact counts per (fingerprint, function),
 * the rows past top-N summed into "other", call sites of one function merged into one series,
 * histogram buckets cumulative and ending at the count, the N+1 counter by caller. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/querystats.h"
#include "model/report.h"
#include "model/sqlnorm.h"
#include "out/metrics.h"

static struct prof_frame fr(const char *name, int line, int first)
{
	struct prof_frame f = { .name = name, .file = "/srv/app.py", .line = line,
				.first_line = first };
	return f;
}

static unsigned long long value_of(const char *text, const char *prefix, const char *needle)
{
	const char *p = text;

	while ((p = strstr(p, prefix))) {
		const char *eol = strchr(p, '\n'), *sp;

		if (!eol)
			break;
		sp = memchr(p, ' ', eol - p);
		if (sp && (!needle || (memmem(p, sp - p, needle, strlen(needle)))))
			return strtoull(sp + 1, NULL, 10);
		p = eol;
	}
	return ~0ULL;
}

Test(metrics_queries, top_n_other_and_n_plus_one)
{
	struct querystats *qs = querystats_new(10);
	struct rep_proc rp = {};
	struct report r = {};
	char *buf = NULL, fp[17], needle[128], stmt[64];
	size_t len = 0;
	FILE *f;
	uint64_t ts = 1;

	rp.tp.info.pid = 42;
	rp.tp.info.major = 3;
	rp.tp.info.minor = 12;
	rp.tp.info.micro = 1;
	snprintf(rp.tp.info.comm, sizeof(rp.tp.info.comm), "python3");
	r.procs = &rp;
	r.nprocs = 1;
	/* the N+1: a load at line 20, 30 per-row queries from line 22, twice */
	for (int call = 0; call < 2; call++) {
		struct prof_frame a[2] = { fr("report", 20, 18), fr("main", 50, 45) };
		struct prof_frame b[3] = { fr("orders_for", 11, 10), fr("report", 22, 18),
					   fr("main", 50, 45) };

		querystats_add(qs, 42, 42, 1, "SELECT id FROM c", a, 2, 2, ts++, 1000, 30, false);
		for (int i = 0; i < 30; i++) {
			b[0].line = 11 + i % 2; /* two call sites of one function: one series */
			querystats_add(qs, 42, 42, 1, "SELECT total FROM o WHERE c = ?", b, 3, 3,
				       ts++, 100000, 1, false);
		}
	}
	/* 6 cheap statements, each once, from other functions: past top 3 */
	for (int i = 0; i < 6; i++) {
		struct prof_frame c[1] = { fr("misc", 70 + i, 70 + i) };

		snprintf(stmt, sizeof(stmt), "SELECT %c FROM t", 'a' + i);
		querystats_add(qs, 42, 42, 1, stmt, c, 1, 1, ts++, 10, 0, false);
	}
	querystats_flush(qs);
	f = open_memstream(&buf, &len);
	cr_assert(f);
	metrics_write_queries(f, &r, qs, 3);
	fclose(f);
	sql_fingerprint("SELECT total FROM o WHERE c = ?", fp);
	snprintf(needle, sizeof(needle), "fingerprint=\"%s\",function=\"orders_for\"", fp);
	cr_expect_eq(value_of(buf, "pyhound_queries_total{", needle), 60, "%s", buf);
	cr_expect_eq(value_of(buf, "pyhound_query_seconds_count{", needle), 60);
	snprintf(needle, sizeof(needle), "fingerprint=\"%s\",function=\"orders_for\",le=\"+Inf\"",
		 fp);
	cr_expect_eq(value_of(buf, "pyhound_query_seconds_bucket{", needle), 60);
	/* 100 us: not under 66 us, under 524 us */
	snprintf(needle, sizeof(needle), "fingerprint=\"%s\",function=\"orders_for\",le=\"6.5535e-05\"",
		 fp);
	cr_expect_eq(value_of(buf, "pyhound_query_seconds_bucket{", needle), 0, "%s", buf);
	sql_fingerprint("SELECT id FROM c", fp);
	snprintf(needle, sizeof(needle), "fingerprint=\"%s\",function=\"report\"", fp);
	cr_expect_eq(value_of(buf, "pyhound_queries_total{", needle), 2);
	/* top 3: the two above and one cheap one; 5 in other */
	cr_expect_eq(value_of(buf, "pyhound_queries_total{", "fingerprint=\"other\",function=\"other\""),
		     5, "%s", buf);
	cr_expect(strstr(buf, "pyhound_queries_total{pid=\"42\",comm=\"python3\",python_version=\"3.12.1\""));
	sql_fingerprint("SELECT total FROM o WHERE c = ?", fp);
	snprintf(needle, sizeof(needle), "fingerprint=\"%s\",function=\"orders_for\",parent=\"report\"",
		 fp);
	cr_expect_eq(value_of(buf, "pyhound_query_n_plus_one_total{", needle), 60, "%s", buf);
	cr_expect(strstr(buf, "# TYPE pyhound_query_seconds histogram\n"));
	cr_expect(strstr(buf, "statement=\"SELECT total FROM o WHERE c = ?\""));
	free(buf);
	querystats_free(qs);
}

/* an aged-out process: its per-PID query series go, its counts stay in the per-command
 * pyhound_forgotten_query* counters */
Test(metrics_queries, forgotten_process_folded_by_command)
{
	struct querystats *qs = querystats_new(10);
	struct prof_frame a[1] = { fr("job", 20, 18) };
	struct rep_proc rp = {};
	struct report r = {};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	rp.tp.info.pid = 42;
	snprintf(rp.tp.info.comm, sizeof(rp.tp.info.comm), "python3");
	r.procs = &rp;
	r.nprocs = 1;
	for (int i = 0; i < 7; i++)
		querystats_add(qs, 43, 43, 1, "SELECT 1", a, 1, 1, i, 500000000, 0, false);
	querystats_add(qs, 42, 42, 1, "SELECT 2", a, 1, 1, 9, 1000, 0, false);
	querystats_forget(qs, 43, "billing");
	f = open_memstream(&buf, &len);
	cr_assert(f);
	metrics_write_queries(f, &r, qs, 3);
	fclose(f);
	cr_expect_eq(value_of(buf, "pyhound_forgotten_queries_total{", "comm=\"billing\""), 7,
		     "%s", buf);
	cr_expect(strstr(buf, "pyhound_forgotten_query_seconds_total{comm=\"billing\"} 3.5000"),
		  "%s", buf);
	cr_expect(!strstr(buf, "pid=\"43\""));
	cr_expect(strstr(buf, "# TYPE pyhound_forgotten_queries_total counter\n"));
	free(buf);
	querystats_free(qs);
}

/* The query probes' budget windows: budget, time covered, modelled cost and cut executions,
 * as set by the collector, each a family of its own. */
Test(metrics_queries, budget_window_families)
{
	struct querystats *qs = querystats_new(10);
	struct qs_coverage c = { .windowed = true, .budget_pct = 0.5, .wall_s = 60,
				 .covered_s = 1.25, .windows = 40, .probe_cost_s = 0.3, .cut = 7 };
	struct report r = {};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert(qs);
	querystats_set_coverage(qs, &c);
	f = open_memstream(&buf, &len);
	metrics_write_queries(f, &r, qs, 10);
	fclose(f);
	cr_expect(strstr(buf, "\npyhound_queries_budget_percent 0.5\n"), "%s", buf);
	cr_expect(strstr(buf, "\npyhound_queries_window_seconds_total 1.250000\n"), "%s", buf);
	cr_expect(strstr(buf, "\npyhound_queries_probe_cost_seconds_total 0.300000\n"), "%s", buf);
	cr_expect(strstr(buf, "\npyhound_queries_cut_total 7\n"), "%s", buf);
	cr_expect(strstr(buf, "# TYPE pyhound_queries_window_seconds_total counter\n"));
	free(buf);
	querystats_free(qs);
}
