// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound_queries_total, pyhound_query_seconds (histogram) and pyhound_query_n_plus_one_total:
 * per process, series for the top N (statement fingerprint, function) by time; the rest are
 * summed into fingerprint="other",function="other". pyhound_query_statement_info names each
 * fingerprint shown with its (normalised, shortened) statement. */
#include <stdlib.h>
#include <string.h>
#include "lib/histo.h"
#include "model/querystats.h"
#include "model/sqlnorm.h"
#include "out/metrics.h"

/* histogram buckets: log2 slots of ns -> le 1 us, 8 us, 66 us, 524 us, 4.2 ms, 34 ms,
 * 268 ms, 2.1 s */
static const unsigned int q_bucket_slots[] = { 10, 13, 16, 19, 22, 25, 28, 31 };
#define NB (sizeof(q_bucket_slots) / sizeof(q_bucket_slots[0]))
#define STMT_LABEL_LEN 120

struct row {
	char fp[17];
	const char *function;
	const char *stmt;
	uint64_t count, total_ns, errors;
	unsigned long long hist[QS_HIST_SLOTS];
};

static void series_begin(FILE *f, const char *name, const struct rep_proc *rp,
			 const struct row *w)
{
	fprintf(f, "%s{", name);
	metrics_proc_labels(f, rp);
	fprintf(f, ",fingerprint=\"%s\",function=", w->fp);
	metrics_label_value(f, w->function);
}

static void write_row(FILE *f, const struct rep_proc *rp, const struct row *w, int pass)
{
	uint64_t cum = 0;
	unsigned int s = 0;

	switch (pass) {
	case 0: /* by status: ok, and error (SQLite error codes, libpq failed results) if any */
		for (int err = 0; err < 2; err++) {
			if (err && !w->errors)
				break;
			fprintf(f, "pyhound_queries_total{");
			metrics_proc_labels(f, rp);
			fprintf(f, ",status=\"%s\",fingerprint=\"%s\",function=", err ? "error" : "ok",
				w->fp);
			metrics_label_value(f, w->function);
			fprintf(f, "} %llu\n", (unsigned long long)(err ? w->errors :
								    w->count - w->errors));
		}
		break;
	case 1:
		for (size_t b = 0; b < NB; b++) {
			for (; s <= q_bucket_slots[b]; s++)
				cum += w->hist[s];
			series_begin(f, "pyhound_query_seconds_bucket", rp, w);
			fprintf(f, ",le=\"%.9g\"} %llu\n", slot_hi(q_bucket_slots[b]) / 1e9,
				(unsigned long long)cum);
		}
		series_begin(f, "pyhound_query_seconds_bucket", rp, w);
		fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)w->count);
		series_begin(f, "pyhound_query_seconds_sum", rp, w);
		fprintf(f, "} %.9f\n", w->total_ns / 1e9);
		series_begin(f, "pyhound_query_seconds_count", rp, w);
		fprintf(f, "} %llu\n", (unsigned long long)w->count);
		break;
	case 2:
		if (!w->stmt)
			break;
		fprintf(f, "pyhound_query_statement_info{");
		metrics_proc_labels(f, rp);
		fprintf(f, ",fingerprint=\"%s\",statement=", w->fp);
		{
			char buf[STMT_LABEL_LEN + 4];
			size_t n = strlen(w->stmt);

			snprintf(buf, sizeof(buf), "%.*s%s", STMT_LABEL_LEN, w->stmt,
				 n > STMT_LABEL_LEN ? "..." : "");
			metrics_label_value(f, buf);
		}
		fprintf(f, "} 1\n");
		break;
	}
}

static int cmp_key(const void *a, const void *b)
{
	const struct qs_entry *x = *(const struct qs_entry *const *)a;
	const struct qs_entry *y = *(const struct qs_entry *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->stmt != y->stmt) /* interned: one pointer per statement */
		return x->stmt < y->stmt ? -1 : 1;
	return x->site.name < y->site.name ? -1 : x->site.name > y->site.name;
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return x->total_ns < y->total_ns ? 1 : x->total_ns > y->total_ns ? -1 : 0;
}

/* One row per (process, statement, function): call sites at other lines and callers summed. */
static struct row *merge_rows(const struct querystats *qs, pid_t **pids, size_t *nrows)
{
	size_t n, m = 0;
	const struct qs_entry *e = querystats_entries(qs, &n);
	const struct qs_entry **v = calloc(n + 1, sizeof(*v));
	struct row *rows = calloc(n + 1, sizeof(*rows));

	*pids = calloc(n + 1, sizeof(**pids));
	if (!v || !rows || !*pids) {
		free(v);
		free(rows);
		free(*pids);
		*pids = NULL;
		*nrows = 0;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &e[i];
	qsort(v, n, sizeof(*v), cmp_key);
	for (size_t i = 0; i < n; i++) {
		struct row *w;

		if (!m || cmp_key(&v[i], &v[i - 1])) {
			w = &rows[m];
			(*pids)[m++] = v[i]->pid;
			w->function = v[i]->site.name[0] ? v[i]->site.name : "<no Python frame>";
			w->stmt = v[i]->stmt;
			sql_fingerprint(v[i]->stmt, w->fp);
		} else {
			w = &rows[m - 1];
		}
		w->count += v[i]->count;
		w->total_ns += v[i]->total_ns;
		w->errors += v[i]->errors;
		for (int k = 0; k < QS_HIST_SLOTS; k++)
			w->hist[k] += v[i]->hist[k];
	}
	free(v);
	*nrows = m;
	return rows;
}

struct n1_row {
	pid_t pid;
	char fp[17];
	const char *function, *parent;
	uint64_t queries;
};

/* what aged-out processes counted, per command: the totals stay monotonic once their
 * per-PID series go */
static void write_forgotten(FILE *f, const struct querystats *qs)
{
	size_t n;
	const struct qs_folded *x = querystats_folded(qs, &n);

	fprintf(f, "# HELP pyhound_forgotten_queries_total Queries of exited processes whose "
		   "per-PID query series were dropped (process_max_age or max_exited), by "
		   "command.\n# TYPE pyhound_forgotten_queries_total counter\n");
	for (size_t i = 0; i < n; i++) {
		if (!x[i].procs)
			continue;
		fputs("pyhound_forgotten_queries_total{comm=", f);
		metrics_label_value(f, x[i].comm);
		fprintf(f, "} %llu\n", (unsigned long long)x[i].count);
	}
	fprintf(f, "# HELP pyhound_forgotten_query_seconds_total Query time of those processes, "
		   "by command.\n# TYPE pyhound_forgotten_query_seconds_total counter\n");
	for (size_t i = 0; i < n; i++) {
		if (!x[i].procs)
			continue;
		fputs("pyhound_forgotten_query_seconds_total{comm=", f);
		metrics_label_value(f, x[i].comm);
		fprintf(f, "} %.9f\n", x[i].total_ns / 1e9);
	}
}

/* the query probes' budget windows: how much of the time the counts cover, and their cost */
static void write_coverage(FILE *f, const struct querystats *qs)
{
	const struct qs_coverage *c = querystats_coverage(qs);

	fprintf(f, "# HELP pyhound_queries_budget_percent The query probes' cost budget, percent "
		   "of the time (100: attached throughout, exact counts).\n"
		   "# TYPE pyhound_queries_budget_percent gauge\npyhound_queries_budget_percent %g\n",
		c->budget_pct);
	fprintf(f, "# HELP pyhound_queries_window_seconds_total Time the query probes were "
		   "attached (the time the query counts cover).\n"
		   "# TYPE pyhound_queries_window_seconds_total counter\n"
		   "pyhound_queries_window_seconds_total %.6f\n", c->covered_s);
	fprintf(f, "# HELP pyhound_queries_probe_cost_seconds_total The query probes' modelled "
		   "cost (hits x (calibrated trap + measured BPF time)), CPU time summed over "
		   "processes.\n# TYPE pyhound_queries_probe_cost_seconds_total counter\n"
		   "pyhound_queries_probe_cost_seconds_total %.6f\n", c->probe_cost_s);
	fprintf(f, "# HELP pyhound_queries_cut_total Query executions in progress when a budget "
		   "window closed: not counted.\n# TYPE pyhound_queries_cut_total counter\n"
		   "pyhound_queries_cut_total %llu\n", (unsigned long long)c->cut);
}

void metrics_write_queries(FILE *f, const struct report *r, const struct querystats *qs,
			   unsigned int top_n)
{
	static const char *const fam[][3] = {
		{ "pyhound_queries_total", "counter",
		  "Database queries (SQLite executions, libpq calls) by statement fingerprint and "
		  "the Python function that issued them (top by time; the rest as \"other\"), "
		  "status ok or error (an SQLite error code; a libpq failed result), "
		  "counted while the query probes were attached: all the time at queries_budget "
		  "100, else inside budget windows (per second: rate of this over rate of "
		  "pyhound_queries_window_seconds_total)." },
		{ "pyhound_query_seconds", "histogram",
		  "Query time in the database client library (SQLite: inside sqlite3_step; libpq: "
		  "call to result)." },
		{ "pyhound_query_statement_info", "gauge",
		  "The normalised statement of each fingerprint shown (shortened)." },
	};
	size_t n, nn1, m = 0;
	pid_t *pids;
	struct row *rows = merge_rows(qs, &pids, &n);
	const struct qs_n1 *x = querystats_n1(qs, &nn1);
	struct n1_row *nr = calloc(nn1 + 1, sizeof(*nr));

	if (!rows || !nr) {
		free(rows);
		free(pids);
		free(nr);
		return;
	}
	/* by process, then by time */
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && pids[j] == pids[i]; j++)
			;
		qsort(rows + i, j - i, sizeof(*rows), cmp_row);
	}
	for (int pass = 0; pass < 3; pass++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam[pass][0], fam[pass][2], fam[pass][0],
			fam[pass][1]);
		for (size_t p = 0; p < r->nprocs; p++) {
			const struct rep_proc *rp = &r->procs[p];
			struct row other = { .fp = "other", .function = "other" };
			unsigned int shown = 0;

			for (size_t i = 0; i < n; i++) {
				const struct row *w = &rows[i];

				if (pids[i] != rp->tp.info.pid)
					continue;
				if (shown >= top_n) {
					other.count += w->count;
					other.total_ns += w->total_ns;
					other.errors += w->errors;
					for (int k = 0; k < QS_HIST_SLOTS; k++)
						other.hist[k] += w->hist[k];
					continue;
				}
				shown++;
				write_row(f, rp, w, pass);
			}
			if (other.count && pass < 2)
				write_row(f, rp, &other, pass);
		}
	}
	/* N+1 rows merged by (process, fingerprint, function, caller) */
	for (size_t i = 0; i < nn1; i++) {
		struct n1_row *w = NULL;
		char fp[17];

		sql_fingerprint(x[i].stmt, fp);
		for (size_t k = 0; k < m && !w; k++)
			if (nr[k].pid == x[i].pid && !strcmp(nr[k].fp, fp) &&
			    nr[k].function == x[i].site.name && nr[k].parent == x[i].parent.name)
				w = &nr[k];
		if (!w) {
			w = &nr[m++];
			w->pid = x[i].pid;
			memcpy(w->fp, fp, sizeof(fp));
			w->function = x[i].site.name;
			w->parent = x[i].parent.name;
		}
		w->queries += x[i].queries;
	}
	fprintf(f, "# HELP pyhound_query_n_plus_one_total Queries run as an N+1: one call site "
		   "repeating a statement within one call of its caller (by fingerprint, function "
		   "and caller).\n# TYPE pyhound_query_n_plus_one_total counter\n");
	for (size_t p = 0; p < r->nprocs; p++) {
		const struct rep_proc *rp = &r->procs[p];

		for (size_t i = 0; i < m; i++) {
			if (nr[i].pid != rp->tp.info.pid)
				continue;
			fprintf(f, "pyhound_query_n_plus_one_total{");
			metrics_proc_labels(f, rp);
			fprintf(f, ",fingerprint=\"%s\",function=", nr[i].fp);
			metrics_label_value(f, nr[i].function);
			fputs(",parent=", f);
			metrics_label_value(f, nr[i].parent);
			fprintf(f, "} %llu\n", (unsigned long long)nr[i].queries);
		}
	}
	write_forgotten(f, qs);
	write_coverage(f, qs);
	free(rows);
	free(pids);
	free(nr);
}
