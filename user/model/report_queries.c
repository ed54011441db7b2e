// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The report's Queries section: per process, the top statements by time with their call sites,
 * the N+1 findings, and SQLite's page reads attributed to its queries. */
#include <string.h>
#include <sys/syscall.h>
#include "fdkind.h"
#include "lib/json.h"
#include "model/querystats.h"
#include "model/report.h"
#include "out/out_queries.h"
#include "queries.h"

static bool has_sqlite(const struct querystats *qs, pid_t pid)
{
	size_t n;
	const struct qs_entry *e = querystats_entries(qs, &n);

	for (size_t i = 0; i < n; i++)
		if (e[i].pid == pid && e[i].lib == Q_LIB_SQLITE)
			return true;
	return false;
}

void report_add_queries(struct report *r, const struct querystats *qs)
{
	r->queries = qs;
	for (size_t i = 0; i < r->nprocs; i++) {
		struct rep_proc *rp = &r->procs[i];
		int d, n = 0;

		if (!has_sqlite(qs, rp->tp.info.pid))
			continue;
		/* SQLite's unix VFS reads pages with pread64; Python's own file reads use read */
		for (size_t k = 0; k < rp->nio; k++)
			if (rp->io[k].nr == SYS_pread64 && rp->io[k].kind == FD_KIND_FILE)
				rp->sqlite_preads += rp->io[k].s->calls;
		for (d = 0; d < rp->nfindings; d++) {
			const struct rep_finding *f = &rp->findings[d];

			if (!strcmp(f->kind, "tiny-reads") && f->nr == SYS_pread64 &&
			    f->fd_kind == FD_KIND_FILE)
				continue;
			if (n != d)
				rp->findings[n] = *f;
			n++;
		}
		rp->nfindings = n;
	}
}

void report_print_queries_text(const struct report *r, const struct rep_proc *rp, FILE *f)
{
	pid_t pid = rp->tp.info.pid;
	size_t n;

	if (!r->queries)
		return;
	querystats_entries(r->queries, &n);
	fprintf(f, "\n   Queries (top %d statements by time in the database client; SQLite: inside "
		   "sqlite3_step, libpq: call to result)\n", REP_TOP_QUERIES);
	queries_print_coverage(f, r->queries, "   ");
	if (!queries_print_proc(f, r->queries, pid, REP_TOP_QUERIES, "   "))
		fprintf(f, "   no database queries seen (SQLite, libpq)\n");
	if (rp->sqlite_preads)
		fprintf(f, "   %llu pread64 calls on files: SQLite's page reads, attributed to these "
			   "queries (not unbatched reads)\n",
			(unsigned long long)rp->sqlite_preads);
	queries_print_n1(f, r->queries, pid, "   ! ");
}

void report_print_queries_json(const struct report *r, const struct rep_proc *rp, struct json *j)
{
	if (!r->queries)
		return;
	json_obj_begin(j, "queries");
	json_u64(j, "sqlite_preads_attributed", rp->sqlite_preads);
	queries_json_coverage(j, r->queries);
	queries_json(j, r->queries, rp->tp.info.pid);
	json_obj_end(j);
}

void report_print_queries_findings_json(const struct report *r, const struct rep_proc *rp,
					struct json *j)
{
	size_t n;
	const struct qs_n1 *x;

	if (!r->queries)
		return;
	x = querystats_n1(r->queries, &n);
	for (size_t i = 0; i < n; i++) {
		if (x[i].pid != rp->tp.info.pid)
			continue;
		json_obj_begin(j, NULL);
		json_str(j, "kind", "n-plus-one");
		json_str(j, "statement", x[i].stmt);
		json_str(j, "function", x[i].site.name);
		json_str(j, "file", x[i].site.file);
		json_i64(j, "line", x[i].site.line);
		json_str(j, "parent_function", x[i].parent.name);
		json_str(j, "parent_file", x[i].parent.file);
		json_i64(j, "parent_first_line", x[i].parent.first_line);
		json_u64(j, "parent_calls", x[i].parent_calls);
		json_u64(j, "cut_calls", x[i].cut_calls);
		json_u64(j, "queries", x[i].queries);
		json_bool(j, "queries_exact", !querystats_coverage(r->queries)->windowed);
		json_double(j, "estimated_queries", querystats_coverage(r->queries)->windowed ?
						     x[i].est_queries : (double)x[i].queries);
		json_u64(j, "per_call_min", x[i].parent_calls ? x[i].min_per_call : 0);
		json_u64(j, "per_call_max", x[i].max_per_call);
		json_u64(j, "query_ns", x[i].query_ns);
		json_obj_end(j);
	}
}
