// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The report's GC and import sections (data from user/gc.c), kept apart from report.c so the
 * syscall report and this one change independently. Pure: no BPF here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/histo.h"
#include "lib/json.h"
#include "model/report.h"

#define TOP_PAUSES_TEXT 5
#define TOP_IMPORTS_TEXT 10

static int cmp_pause(const void *a, const void *b)
{
	const struct gc_pause *x = a, *y = b;

	return x->dur_ns < y->dur_ns ? 1 : x->dur_ns > y->dur_ns ? -1 : 0;
}

/* upper bound of the slot holding quantile q, never above the exact maximum */
static uint64_t quantile_le(const unsigned long long *lat, double q, uint64_t max)
{
	int k = hist_quantile_slot(lat, GC_LAT_SLOTS, q);
	uint64_t hi;

	if (k < 0)
		return 0;
	hi = slot_hi(k);
	return hi > max ? max : hi;
}

static void add_findings(struct rep_gc *g, double observed_s)
{
	char tot[32], mx[32], gen2[32];
	const struct rep_gc_gen *g2 = &g->gen[2];
	const char *remedies =
		"Remedies: create fewer reference cycles (break parent/child links with "
		"weakref, avoid closures and bound methods stored on their own objects); in "
		"pre-fork servers call gc.freeze() after start-up so long-lived objects leave the "
		"collected generations; raise the thresholds with gc.set_threshold() (e.g. "
		"gc.set_threshold(50000, 20, 100)) to collect less often; use __slots__ on "
		"classes with many instances to shrink what the collector traverses.";

	uint64_t ncoll = g->gen[0].count + g->gen[1].count + g2->count;
	bool share = g->wall_share > GC_FINDING_SHARE && g->total_ns >= GC_FINDING_MIN_NS;
	bool pause = g2->max_ns > GC_FINDING_GEN2_NS;

	fmt_ns(tot, sizeof(tot), g->total_ns);
	fmt_ns(mx, sizeof(mx), g2->max_ns);
	fmt_ns(gen2, sizeof(gen2), g2->count ? g2->total_ns / g2->count : 0);
	/* the evidence rule (report --help): enough time watched and enough collections seen */
	if ((share || pause) &&
	    (observed_s < GC_FINDING_MIN_OBSERVED_S || ncoll < GC_FINDING_MIN_COLLECTIONS)) {
		snprintf(g->withheld, sizeof(g->withheld),
			 "no GC finding: %llu collection%s in %.1f s observed is too little evidence "
			 "(findings need >= %.0f s observed and >= %d collections)",
			 (unsigned long long)ncoll, ncoll == 1 ? "" : "s", observed_s,
			 GC_FINDING_MIN_OBSERVED_S, GC_FINDING_MIN_COLLECTIONS);
		return;
	}
	if (share && g->nfindings < REP_GC_FINDINGS) {
		int i = g->nfindings++;

		g->finding_kind[i] = "gc-time";
		snprintf(g->findings[i], sizeof(g->findings[i]),
			 "garbage collection took %.1f%% of wall time: %s in %llu collections over "
			 "%.1f s (%llu/%llu/%llu in generations 0/1/2, %.1f collections/s; the "
			 "longest gen-2 pause %s, %s on average), %llu objects found unreachable. %s",
			 100.0 * g->wall_share, tot,
			 (unsigned long long)(g->gen[0].count + g->gen[1].count + g2->count),
			 observed_s, (unsigned long long)g->gen[0].count,
			 (unsigned long long)g->gen[1].count, (unsigned long long)g2->count,
			 observed_s > 0 ? (g->gen[0].count + g->gen[1].count + g2->count) / observed_s
					: 0.0,
			 mx, gen2, (unsigned long long)g->collected, remedies);
	}
	if (pause && g->nfindings < REP_GC_FINDINGS) {
		int i = g->nfindings++;

		g->finding_kind[i] = "gc-long-pause";
		snprintf(g->findings[i], sizeof(g->findings[i]),
			 "a full (gen-2) collection stopped this process for %s (%llu gen-2 "
			 "collections, %s on average): every thread waits while the collector walks "
			 "all tracked objects, so request latency spikes by as much. %s",
			 mx, (unsigned long long)g2->count, gen2,
			 i ? "Remedies as above; gc.freeze() helps most here, since it takes "
			     "long-lived objects out of full collections." : remedies);
	}
}

static int fill(struct rep_gc *g, const struct gc_proc_snap *ps, double observed_s)
{
	const struct gc_stats *s = &ps->s;
	int k;

	snprintf(g->source, sizeof(g->source), "%s", ps->source);
	g->has_stats = ps->has_stats;
	memcpy(g->lat, s->lat, sizeof(g->lat));
	g->no_collection = s->no_collection;
	for (k = 0; k < GC_GENS; k++) {
		struct rep_gc_gen *gg = &g->gen[k];

		gg->count = s->count[k];
		gg->total_ns = s->total_ns[k];
		gg->max_ns = s->max_ns[k];
		gg->collected = s->collected[k];
		gg->per_second = observed_s > 0 ? gg->count / observed_s : 0;
		gg->p50_le_ns = quantile_le(s->lat[k], 0.5, gg->max_ns);
		gg->p99_le_ns = quantile_le(s->lat[k], 0.99, gg->max_ns);
		g->total_ns += gg->total_ns;
		g->collected += gg->collected;
	}
	g->wall_share = observed_s > 0 ? g->total_ns / 1e9 / observed_s : 0;
	for (k = 0; k < GC_TOP_N; k++)
		if (s->top[k].dur_ns)
			g->top[g->ntop++] = s->top[k];
	qsort(g->top, g->ntop, sizeof(g->top[0]), cmp_pause);
	g->imports_traced = ps->imports_traced;
	g->nimports = ps->nimports;
	g->imports_ns = ps->imports_ns;
	if (ps->nimp) {
		g->imports = calloc(ps->nimp, sizeof(*g->imports));
		if (!g->imports)
			return -ENOMEM;
		memcpy(g->imports, ps->imports, ps->nimp * sizeof(*g->imports));
		g->nimp = ps->nimp;
	}
	add_findings(g, observed_s);
	return 0;
}

int report_add_gc(struct report *r, const struct gc_snapshot *gs)
{
	size_t i;
	int err;

	r->has_gc = true;
	memcpy(r->gc_drops, gs->drops, sizeof(r->gc_drops));
	for (i = 0; i < r->nprocs; i++) {
		struct rep_proc *rp = &r->procs[i];
		const struct gc_proc_snap *ps = gc_snapshot_find(gs, rp->tp.info.pid);

		report_free_gc(rp); /* calling again replaces the GC data */
		if (!ps)
			continue;
		rp->gc = calloc(1, sizeof(*rp->gc));
		if (!rp->gc)
			return -ENOMEM;
		err = fill(rp->gc, ps, rp->observed_s);
		if (err)
			return err;
	}
	return 0;
}

void report_free_gc(struct rep_proc *rp)
{
	if (!rp->gc)
		return;
	free(rp->gc->imports);
	free(rp->gc);
	rp->gc = NULL;
}

void report_print_gc_text(const struct rep_proc *rp, FILE *f)
{
	const struct rep_gc *g = rp->gc;
	char a[32], b[32], c[32], d[32];
	size_t i;
	int k;

	if (!g)
		return;
	if (!g->has_stats) {
		fprintf(f, "\n   Garbage collection (source: %s): no collections seen\n", g->source);
	} else {
		fprintf(f, "\n   Garbage collection (source: %s): %s in collections, %.2f%% of wall time, "
			   "%llu objects found unreachable\n",
			g->source, fmt_ns(a, sizeof(a), g->total_ns), 100.0 * g->wall_share,
			(unsigned long long)g->collected);
		fprintf(f, "   %-4s %11s %9s %10s %10s %10s %10s %11s\n", "GEN", "COLLECTIONS", "PER_S",
			"TOTAL", "P50<=", "P99<=", "MAX", "UNREACHABLE");
		for (k = 0; k < GC_GENS; k++) {
			const struct rep_gc_gen *gg = &g->gen[k];

			fprintf(f, "   %-4d %11llu %9.1f %10s %10s %10s %10s %11llu\n", k,
				(unsigned long long)gg->count, gg->per_second,
				fmt_ns(a, sizeof(a), gg->total_ns), fmt_ns(b, sizeof(b), gg->p50_le_ns),
				fmt_ns(c, sizeof(c), gg->p99_le_ns), fmt_ns(d, sizeof(d), gg->max_ns),
				(unsigned long long)gg->collected);
		}
		fprintf(f, "   longest pauses:");
		for (k = 0; k < g->ntop && k < TOP_PAUSES_TEXT; k++)
			fprintf(f, "%s %s (gen %u)", k ? "," : "",
				fmt_ns(a, sizeof(a), g->top[k].dur_ns), g->top[k].gen);
		fprintf(f, "\n");
	}
	if (g->imports_traced && g->nimports) {
		fprintf(f, "\n   Imports: %llu modules loaded, %s at top level (times include the "
			   "imports each one triggered)\n",
			(unsigned long long)g->nimports, fmt_ns(a, sizeof(a), g->imports_ns));
		fprintf(f, "   %-48s %10s %6s\n", "MODULE", "TIME", "DEPTH");
		for (i = 0; i < g->nimp && i < TOP_IMPORTS_TEXT; i++)
			fprintf(f, "   %-48s %10s %6u\n", g->imports[i].name,
				fmt_ns(a, sizeof(a), g->imports[i].dur_ns), g->imports[i].depth);
	} else if (g->imports_traced) {
		fprintf(f, "   imports: none seen\n");
	} else {
		fprintf(f, "   imports: not traced (no python:import__* USDT probes in this build)\n");
	}
	for (k = 0; k < g->nfindings; k++)
		fprintf(f, "   ! %s\n", g->findings[k]);
	if (g->withheld[0])
		fprintf(f, "   (%s)\n", g->withheld);
}

void report_print_gc_health_text(const struct report *r, FILE *f, int verbosity)
{
	uint64_t any = 0;
	int k;

	if (!r->has_gc)
		return;
	for (k = 0; k < GC_DROP_MAX; k++)
		any += r->gc_drops[k];
	if (verbosity < 1 && !any)
		return;
	fprintf(f,
		"GC collector health: dropped %llu process stats (map full), %llu ends without "
		"start, %llu too deeply nested, %llu import records "
		"(ring buffer full), %llu import ends without start, %llu imports nested too "
		"deep, %llu USDT arguments unread\n",
		(unsigned long long)r->gc_drops[GC_DROP_STATS_FULL],
		(unsigned long long)r->gc_drops[GC_DROP_NO_ENTRY],
		(unsigned long long)r->gc_drops[GC_DROP_NEST],
		(unsigned long long)r->gc_drops[GC_DROP_EVENTS],
		(unsigned long long)r->gc_drops[GC_DROP_IMP_NO_ENTRY],
		(unsigned long long)r->gc_drops[GC_DROP_IMP_NEST],
		(unsigned long long)r->gc_drops[GC_DROP_USDT_ARG]);
}

static void u64_array(struct json *j, const char *key, const uint64_t *v, int n)
{
	int k;

	json_arr_begin(j, key);
	for (k = 0; k < n; k++)
		json_u64(j, NULL, v[k]);
	json_arr_end(j);
}

void report_print_gc_json(const struct rep_proc *rp, struct json *j)
{
	const struct rep_gc *g = rp->gc;
	uint64_t counts[GC_GENS];
	size_t i;
	int k;

	if (!g)
		return;
	for (k = 0; k < GC_GENS; k++)
		counts[k] = g->gen[k].count;
	json_obj_begin(j, "gc");
	json_str(j, "source", g->source);
	u64_array(j, "collections", counts, GC_GENS);
	json_u64(j, "total_ns", g->total_ns);
	json_double(j, "wall_share", g->wall_share);
	json_u64(j, "objects_unreachable", g->collected);
	json_u64(j, "auto_calls_without_collection", g->no_collection);
	if (g->withheld[0])
		json_str(j, "findings_withheld", g->withheld);
	json_arr_begin(j, "generations");
	for (k = 0; k < GC_GENS; k++) {
		const struct rep_gc_gen *gg = &g->gen[k];

		json_obj_begin(j, NULL);
		json_u64(j, "generation", k);
		json_u64(j, "collections", gg->count);
		json_double(j, "per_s", gg->per_second);
		json_u64(j, "total_ns", gg->total_ns);
		json_u64(j, "p50_le_ns", gg->p50_le_ns);
		json_u64(j, "p99_le_ns", gg->p99_le_ns);
		json_u64(j, "max_ns", gg->max_ns);
		json_u64(j, "unreachable", gg->collected);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "longest_pauses");
	for (k = 0; k < g->ntop; k++) {
		json_obj_begin(j, NULL);
		json_u64(j, "generation", g->top[k].gen);
		json_u64(j, "pause_ns", g->top[k].dur_ns);
		json_u64(j, "start_monotonic_ns", g->top[k].ts_ns);
		json_u64(j, "unreachable", g->top[k].collected);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_begin(j, "imports");
	json_bool(j, "traced", g->imports_traced);
	json_u64(j, "count", g->nimports);
	json_u64(j, "top_level_ns", g->imports_ns);
	json_arr_begin(j, "longest");
	for (i = 0; i < g->nimp; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "module", g->imports[i].name);
		json_u64(j, "load_ns", g->imports[i].dur_ns);
		json_u64(j, "depth", g->imports[i].depth);
		json_bool(j, "found", g->imports[i].found != 0);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
	json_obj_end(j);
}

void report_print_gc_findings_json(const struct rep_proc *rp, struct json *j)
{
	int k;

	for (k = 0; rp->gc && k < rp->gc->nfindings; k++) {
		json_obj_begin(j, NULL);
		json_str(j, "kind", rp->gc->finding_kind[k]);
		json_double(j, "gc_wall_share", rp->gc->wall_share);
		json_u64(j, "gc_ns", rp->gc->total_ns);
		json_u64(j, "gen2_max_ns", rp->gc->gen[2].max_ns);
		json_str(j, "message", rp->gc->findings[k]);
		json_obj_end(j);
	}
}

void report_print_gc_health_json(const struct report *r, struct json *j)
{
	if (!r->has_gc)
		return;
	json_obj_begin(j, "gc_health");
	json_u64(j, "dropped_process_stats", r->gc_drops[GC_DROP_STATS_FULL]);
	json_u64(j, "end_without_start", r->gc_drops[GC_DROP_NO_ENTRY]);
	json_u64(j, "nested_too_deep", r->gc_drops[GC_DROP_NEST]);
	json_u64(j, "import_records_lost", r->gc_drops[GC_DROP_EVENTS]);
	json_u64(j, "import_end_without_start", r->gc_drops[GC_DROP_IMP_NO_ENTRY]);
	json_u64(j, "imports_nested_too_deep", r->gc_drops[GC_DROP_IMP_NEST]);
	json_u64(j, "usdt_args_unread", r->gc_drops[GC_DROP_USDT_ARG]);
	json_obj_end(j);
}
