// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "lib/histo.h"
#include "model/sqlnorm.h"
#include "out/out_queries.h"
#include "queries.h"

static int cmp_total(const void *a, const void *b)
{
	const struct qs_entry *x = *(const struct qs_entry *const *)a;
	const struct qs_entry *y = *(const struct qs_entry *const *)b;

	if (x->total_ns != y->total_ns)
		return x->total_ns < y->total_ns ? 1 : -1;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

const struct qs_entry **queries_sorted(const struct querystats *qs, size_t *n)
{
	const struct qs_entry *e = querystats_entries(qs, n);
	const struct qs_entry **v = calloc(*n + 1, sizeof(*v));

	if (!v) {
		*n = 0;
		return NULL;
	}
	for (size_t i = 0; i < *n; i++)
		v[i] = &e[i];
	qsort(v, *n, sizeof(*v), cmp_total);
	return v;
}

static const char *fn_name(const struct qs_site *s)
{
	return s->name && s->name[0] ? s->name : "<no Python frame>";
}

static const char *base(const char *file)
{
	const char *b = file ? strrchr(file, '/') : NULL;

	return b ? b + 1 : file ? file : "";
}

size_t queries_print_proc(FILE *f, const struct querystats *qs, pid_t pid, size_t top,
			  const char *indent)
{
	size_t n, shown = 0;
	const struct qs_entry **v = queries_sorted(qs, &n);
	bool win = querystats_coverage(qs)->windowed;

	for (size_t i = 0; v && i < n && shown < top; i++) {
		const struct qs_entry *e = v[i];
		char tb[32], mb[32], pb[32], rb[24];

		if (e->pid != pid)
			continue;
		if (!shown && win)
			fprintf(f, "%s%8s %9s %10s %10s %10s %8s %6s  %s\n", indent, "SEEN", "~RUN",
				"TOTAL", "MEAN", "P99", "ROWS", "ERRORS", "STATEMENT / CALLED FROM");
		else if (!shown)
			fprintf(f, "%s%8s %10s %10s %10s %8s %6s  %s\n", indent, "COUNT", "TOTAL",
				"MEAN", "P99", "ROWS", "ERRORS", "STATEMENT / CALLED FROM");
		fmt_ns(tb, sizeof(tb), e->total_ns);
		fmt_ns(mb, sizeof(mb), e->count ? e->total_ns / e->count : 0);
		pb[0] = qs_entry_quantile(e, 0.99) < e->max_ns ? '<' : ' ';
		fmt_ns(pb + 1, sizeof(pb) - 1, qs_entry_quantile(e, 0.99));
		if (e->lib == Q_LIB_SQLITE)
			snprintf(rb, sizeof(rb), "%llu", (unsigned long long)e->rows);
		else
			snprintf(rb, sizeof(rb), "-"); /* libpq: not read */
		fprintf(f, "%s%8llu ", indent, (unsigned long long)e->count);
		if (win)
			fprintf(f, "%9.0f ", e->est);
		fprintf(f, "%10s %10s %10s %8s %6llu  %s\n", tb, mb, pb[0] == '<' ? pb : pb + 1, rb,
			(unsigned long long)e->errors, e->stmt);
		fprintf(f, "%s%*s  %s (%s:%d)", indent, win ? 67 : 57, "", fn_name(&e->site),
			base(e->site.file), e->site.line);
		if (e->parent.name && e->parent.name[0])
			fprintf(f, " <- %s (%s:%d)", e->parent.name, base(e->parent.file),
				e->parent.line);
		fputc('\n', f);
		shown++;
	}
	free(v);
	return shown;
}

size_t queries_print_n1(FILE *f, const struct querystats *qs, pid_t pid, const char *indent)
{
	size_t n, shown = 0;
	const struct qs_n1 *v = querystats_n1(qs, &n);
	bool win = querystats_coverage(qs)->windowed;

	for (size_t i = 0; i < n; i++) {
		const struct qs_n1 *x = &v[i];
		char qb[32], sb[32];

		if (pid && x->pid != pid)
			continue;
		fmt_ns(qb, sizeof(qb), x->query_ns);
		fmt_ns(sb, sizeof(sb), x->span_ns);
		fprintf(f, "%sN+1 queries: %s (%s:%d) ran `%s` ", indent, fn_name(&x->site),
			base(x->site.file), x->site.line, x->stmt);
		if (!x->parent_calls) /* every call seen was cut by a window's end */
			fprintf(f, "at least %llu times per call",
				(unsigned long long)x->cut_max_per_call);
		else if (x->min_per_call == x->max_per_call)
			fprintf(f, "%llu times per call", (unsigned long long)x->max_per_call);
		else
			fprintf(f, "%llu-%llu times per call", (unsigned long long)x->min_per_call,
				(unsigned long long)x->max_per_call);
		fprintf(f, " of %s (%s:%d), in %llu call%s", fn_name(&x->parent),
			base(x->parent.file), x->parent.first_line,
			(unsigned long long)x->parent_calls, x->parent_calls == 1 ? "" : "s");
		if (win)
			fprintf(f, " seen whole inside windows");
		if (x->cut_calls)
			fprintf(f, " (+%llu cut by a window's end, up to %llu times in one)",
				(unsigned long long)x->cut_calls,
				(unsigned long long)x->cut_max_per_call);
		fprintf(f, ": %llu queries%s, %s in the database client out of %s between each "
			   "call's first and last query (%.0f%%)", (unsigned long long)x->queries,
			win ? " seen" : "", qb, sb, x->span_ns ? 100.0 * x->query_ns / x->span_ns : 0);
		if (win)
			fprintf(f, "; ~%.0f over the run (estimated)", x->est_queries);
		if (x->other_queries)
			fprintf(f, "; %llu other quer%s in those calls",
				(unsigned long long)x->other_queries,
				x->other_queries == 1 ? "y" : "ies");
		fprintf(f, ".\n%s  Remedy: one query for all rows: a JOIN or WHERE ... IN (...), or the "
			   "ORM's eager loading (select_related/prefetch_related, selectinload).\n",
			indent);
		shown++;
	}
	return shown;
}

static void site_json(struct json *j, const char *prefix, const struct qs_site *s)
{
	char k[32];

	snprintf(k, sizeof(k), "%sfunction", prefix);
	json_str(j, k, s->name);
	snprintf(k, sizeof(k), "%sfile", prefix);
	json_str(j, k, s->file);
	snprintf(k, sizeof(k), "%sline", prefix);
	json_i64(j, k, s->line);
	snprintf(k, sizeof(k), "%sfirst_line", prefix);
	json_i64(j, k, s->first_line);
}

void queries_json(struct json *j, const struct querystats *qs, pid_t pid)
{
	size_t n;
	const struct qs_entry **v = queries_sorted(qs, &n);
	const struct qs_n1 *x;
	char fp[17];

	json_arr_begin(j, "queries");
	for (size_t i = 0; v && i < n; i++) {
		const struct qs_entry *e = v[i];

		if (pid && e->pid != pid)
			continue;
		json_obj_begin(j, NULL);
		json_i64(j, "pid", e->pid);
		json_str(j, "library", e->lib == Q_LIB_PQ ? "libpq" : "sqlite");
		json_str(j, "statement", e->stmt);
		sql_fingerprint(e->stmt, fp);
		json_str(j, "fingerprint", fp);
		json_u64(j, "count", e->count);
		/* windowed: count is what the windows saw; estimated_count over the run */
		json_bool(j, "count_is_exact", !querystats_coverage(qs)->windowed);
		json_double(j, "estimated_count",
			    querystats_coverage(qs)->windowed ? e->est : (double)e->count);
		json_u64(j, "total_ns", e->total_ns);
		json_u64(j, "mean_ns", e->count ? e->total_ns / e->count : 0);
		/* upper bound of the log2 bucket holding it, capped at max_ns */
		json_u64(j, "p99_ns", qs_entry_quantile(e, 0.99));
		json_u64(j, "max_ns", e->max_ns);
		if (e->lib == Q_LIB_SQLITE) /* libpq: rows not read */
			json_u64(j, "rows", e->rows);
		else
			json_str(j, "rows", NULL);
		json_u64(j, "errors", e->errors);
		site_json(j, "", &e->site);
		site_json(j, "parent_", &e->parent);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
	x = querystats_n1(qs, &n);
	json_arr_begin(j, "n_plus_one");
	for (size_t i = 0; i < n; i++) {
		if (pid && x[i].pid != pid)
			continue;
		json_obj_begin(j, NULL);
		json_i64(j, "pid", x[i].pid);
		json_str(j, "statement", x[i].stmt);
		site_json(j, "", &x[i].site);
		site_json(j, "parent_", &x[i].parent);
		json_u64(j, "parent_calls", x[i].parent_calls);
		json_u64(j, "cut_calls", x[i].cut_calls);
		json_u64(j, "cut_max_per_call", x[i].cut_max_per_call);
		json_u64(j, "queries", x[i].queries);
		json_double(j, "estimated_queries", querystats_coverage(qs)->windowed ?
						     x[i].est_queries : (double)x[i].queries);
		json_u64(j, "per_call_min", x[i].parent_calls ? x[i].min_per_call : 0);
		json_u64(j, "per_call_max", x[i].max_per_call);
		json_u64(j, "query_ns", x[i].query_ns);
		json_u64(j, "span_ns", x[i].span_ns);
		json_u64(j, "other_queries", x[i].other_queries);
		json_str(j, "remedy", "one query for all rows: a JOIN or WHERE ... IN (...), or the "
				      "ORM's eager loading (select_related/prefetch_related, "
				      "selectinload)");
		json_obj_end(j);
	}
	json_arr_end(j);
}

void queries_json_coverage(struct json *j, const struct querystats *qs)
{
	const struct qs_coverage *c = querystats_coverage(qs);

	json_obj_begin(j, "queries_coverage");
	json_bool(j, "windowed", c->windowed);
	json_double(j, "budget_pct", c->budget_pct);
	json_i64(j, "windows", c->windows);
	json_double(j, "covered_s", c->covered_s);
	json_double(j, "duration_s", c->wall_s);
	json_double(j, "coverage", c->wall_s > 0 ? c->covered_s / c->wall_s : 0);
	/* hits x (calibrated trap + measured BPF time per hit): what the budget is held to */
	json_double(j, "probe_cost_s", c->probe_cost_s);
	json_u64(j, "cut_by_window_end", c->cut); /* executions dropped at a window's close */
	json_obj_end(j);
}

void queries_print_coverage(FILE *f, const struct querystats *qs, const char *indent)
{
	const struct qs_coverage *c = querystats_coverage(qs);

	if (!c->windowed) {
		fprintf(f, "%squery probes attached throughout (budget %g%%): exact counts; probe "
			   "cost %.3f s (modelled)\n", indent, c->budget_pct, c->probe_cost_s);
		return;
	}
	fprintf(f, "%squery probes in %d window%s covering %.2f s of %.2f s (%.1f%%), budget "
		   "%g%%, probe cost %.3f s (modelled), %llu execution%s cut by a window's end\n"
		   "%sSEEN: counted inside windows; ~RUN: estimated over the run (its process's "
		   "CPU time over the run per CPU-second of its own work inside windows)\n",
		indent, c->windows, c->windows == 1 ? "" : "s", c->covered_s, c->wall_s,
		c->wall_s > 0 ? 100 * c->covered_s / c->wall_s : 0, c->budget_pct,
		c->probe_cost_s, (unsigned long long)c->cut, c->cut == 1 ? "" : "s", indent);
}
