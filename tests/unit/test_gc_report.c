// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* GC pieces that need no BPF: which symbols are probed and how, and the report's GC section
 * and findings. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collect/gc_user.h"
#include "model/report.h"

Test(gc_symbols, modes_per_version)
{
	int m = 0;

	cr_expect_eq(gc_symbol_mode(8, "collect", &m), 0);
	cr_expect_eq(m, GC_MODE_ARG2);
	cr_expect_eq(gc_symbol_mode(8, "collect.constprop.0", &m), 0);
	cr_expect_eq(m, GC_MODE_CLONE);
	cr_expect_eq(gc_symbol_mode(9, "collect", &m), 0);
	cr_expect_eq(m, GC_MODE_ARG2);
	cr_expect_eq(gc_symbol_mode(9, "collect.constprop.0", &m), -ENOENT);
	cr_expect_eq(gc_symbol_mode(10, "collect", &m), -ENOENT);
	cr_expect_eq(gc_symbol_mode(12, "gc_collect_main", &m), 0);
	cr_expect_eq(m, GC_MODE_ARG2);
	cr_expect_eq(gc_symbol_mode(12, "gc_collect_main.part.0", &m), -ENOENT);
	cr_expect_eq(gc_symbol_mode(12, "invoke_gc_callback", &m), -ENOENT);
	cr_expect_eq(gc_symbol_mode(13, "gc_collect_main", &m), 0);
	cr_expect_eq(m, GC_MODE_313);
	cr_expect_eq(gc_symbol_mode(13, "invoke_gc_callback.isra.0", &m), 0);
	cr_expect_eq(m, GC_MODE_FIX_ARG3);
	cr_expect_eq(gc_symbol_mode(7, "collect", &m), -ENOENT);
	cr_expect_eq(gc_symbol_mode(14, "gc_collect_main", &m), 0);
	cr_expect_eq(m, GC_MODE_313);
	cr_expect_eq(gc_symbol_mode(15, "invoke_gc_callback", &m), 0);
	cr_expect_eq(m, GC_MODE_FIX_ARG3);
	cr_expect_eq(gc_symbol_mode(16, "gc_collect_main", &m), -ENOENT);
}

/* two processes observed for 10 s: one spending 3% in GC with an 80 ms gen-2 pause, one quiet */
static void build(struct report *r, struct gc_snapshot *gs, struct gc_proc_snap ps[2],
		  uint64_t quiet_ns)
{
	struct sc_snapshot snap = {};
	struct tracked_proc tp[2] = {};
	uint64_t s = 1000000000ULL;

	tp[0].info.pid = 100;
	tp[1].info.pid = 200;
	tp[0].seen_ns = tp[1].seen_ns = s;
	cr_assert_eq(report_build(r, &snap, tp, 2, s, s + 10 * s), 0);
	memset(ps, 0, 2 * sizeof(*ps));
	ps[0].pid = 100;
	ps[0].has_stats = true;
	strcpy(ps[0].source, "uprobe");
	ps[0].s.count[0] = 1000;
	ps[0].s.count[2] = 3;
	ps[0].s.total_ns[0] = 150000000; /* 150 ms */
	ps[0].s.total_ns[2] = 150000000; /* 3 x 50 ms on average */
	ps[0].s.max_ns[0] = 400000;
	ps[0].s.max_ns[2] = 80000000;
	ps[0].s.lat[0][18] = 1000; /* [131 us, 262 us] */
	ps[0].s.lat[2][26] = 3;	   /* [33.5 ms, 67 ms] */
	ps[0].s.top[3] = (struct gc_pause){ .ts_ns = 5, .dur_ns = 80000000, .gen = 2 };
	ps[0].s.top[7] = (struct gc_pause){ .ts_ns = 6, .dur_ns = 40000000, .gen = 2 };
	ps[1].pid = 200;
	ps[1].has_stats = true;
	strcpy(ps[1].source, "usdt");
	ps[1].imports_traced = true;
	ps[1].s.count[0] = 10;
	ps[1].s.total_ns[0] = quiet_ns;
	ps[1].s.max_ns[0] = 200000;
	ps[1].s.lat[0][17] = 10;
	gs->procs = ps;
	gs->n = 2;
	cr_assert_eq(report_add_gc(r, gs), 0);
}

Test(gc_report, findings_and_quantiles)
{
	struct report r;
	struct gc_snapshot gs = {};
	struct gc_proc_snap ps[2];
	const struct rep_gc *g;

	build(&r, &gs, ps, 1000000);
	cr_assert_eq(r.nprocs, 2);
	g = r.procs[0].gc;
	cr_assert(g);
	cr_expect_float_eq(g->wall_share, 0.03, 1e-9);
	cr_expect_eq(g->nfindings, 2);
	cr_expect_str_eq(g->finding_kind[0], "gc-time");
	cr_expect_str_eq(g->finding_kind[1], "gc-long-pause");
	cr_expect(strstr(g->findings[0], "3.0% of wall time"), "%s", g->findings[0]);
	cr_expect(strstr(g->findings[0], "gc.freeze()"));
	cr_expect(strstr(g->findings[1], "80.00 ms"), "%s", g->findings[1]);
	/* quantiles: slot upper bounds, capped at the exact maximum */
	cr_expect_eq(g->gen[0].p50_le_ns, 262143);
	cr_expect_eq(g->gen[2].p99_le_ns, 67108863);
	cr_expect_eq(g->gen[0].per_second, 100.0);
	cr_expect_eq(g->ntop, 2);
	cr_expect_eq(g->top[0].dur_ns, 80000000);
	g = r.procs[1].gc;
	cr_assert(g);
	cr_expect_eq(g->nfindings, 0);
	cr_expect_eq(g->gen[0].p50_le_ns, 131071);
	report_free(&r);

	/* 2.5% of a 0.2 s life but 5 ms in all: not enough evidence */
	build(&r, &gs, ps, 5000000);
	r.procs[1].observed_s = 0.2;
	cr_assert_eq(report_add_gc(&r, &gs), 0);
	cr_expect_float_eq(r.procs[1].gc->wall_share, 0.025, 1e-9);
	cr_expect_eq(r.procs[1].gc->nfindings, 0);
	report_free(&r);
}

Test(gc_report, json_and_text)
{
	struct report r;
	struct gc_snapshot gs = {};
	struct gc_proc_snap ps[2];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	build(&r, &gs, ps, 1000000);
	f = open_memstream(&buf, &len);
	report_print_json(&r, f);
	fclose(f);
	cr_expect(strstr(buf, "\"gc\":{\"source\":\"uprobe\",\"collections\":[1000,0,3]"), "%s",
		  buf);
	cr_expect(strstr(buf, "\"kind\":\"gc-long-pause\""));
	cr_expect(strstr(buf, "\"gc_health\":{"));
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	report_print_text(&r, f, 0);
	fclose(f);
	cr_expect(strstr(buf, "Garbage collection (source: uprobe)"), "%s", buf);
	cr_expect(strstr(buf, "imports: not traced"));
	cr_expect(strstr(buf, "imports: none seen"));
	free(buf);
	report_free(&r);
}

/* the evidence rule: no GC finding on a process observed under 2 s, or with under 3
 * collections, however large its share; the report says why */
Test(gc_report, findings_need_time_and_collections)
{
	struct gc_proc_snap ps[2];
	struct gc_snapshot gs;
	struct report r;

	build(&r, &gs, ps, 0);
	r.procs[0].observed_s = 1.5; /* the same collections in 1.5 s: a bigger share */
	report_free_gc(&r.procs[0]);
	report_free_gc(&r.procs[1]);
	cr_assert_eq(report_add_gc(&r, &gs), 0);
	cr_expect_eq(r.procs[0].gc->nfindings, 0);
	cr_expect(strstr(r.procs[0].gc->withheld, "1003 collections in 1.5 s observed is too "
						  "little evidence (findings need >= 2 s "
						  "observed and >= 3 collections)"),
		  "%s", r.procs[0].gc->withheld);
	report_free(&r);

	/* 10 s observed, but two collections (one a 80 ms gen-2 pause): withheld */
	memset(ps, 0, sizeof(ps));
	build(&r, &gs, ps, 0);
	ps[0].s.count[0] = 1;
	ps[0].s.count[2] = 1;
	report_free_gc(&r.procs[0]);
	report_free_gc(&r.procs[1]);
	cr_assert_eq(report_add_gc(&r, &gs), 0);
	cr_expect_eq(r.procs[0].gc->nfindings, 0);
	cr_expect(strstr(r.procs[0].gc->withheld, "2 collections in 10.0 s"), "%s",
		  r.procs[0].gc->withheld);
	cr_expect_str_empty(r.procs[1].gc->withheld, "nothing to withhold: %s",
			    r.procs[1].gc->withheld);
	report_free(&r);
}
