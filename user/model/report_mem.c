// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/histo.h"
#include "lib/json.h"
#include "model/report.h"
#include "model/report_mem.h"

bool report_mem_judge(struct rep_mem *m)
{
	const struct rss_series *s = &m->s;
	uint64_t first = rss_total(s->first), last = rss_total(s->last), peak = rss_total(s->peak);
	double window = s->t_last - s->t_first;
	char a[32], b[32], g[32], r[32], an[32];

	m->rate = window > 0 ? ((double)last - (double)first) / window : 0;
	m->finding = false;
	m->text[0] = 0;
	if (s->n < 2 || window < MEM_MIN_WINDOW_S || last < first + MEM_GROWTH_MIN_BYTES ||
	    (double)(last - first) < MEM_GROWTH_MIN_SHARE * (double)first ||
	    (double)last < MEM_KEEP * (double)peak)
		return false;
	m->finding = true;
	snprintf(m->text, sizeof(m->text),
		 "steady memory growth: resident memory grew from %s to %s (+%s, %s/s over %.1f s; "
		 "anon +%s) and did not fall back. Something keeps what it allocates: stream with "
		 "generators instead of building lists, release references when done, bound caches "
		 "(functools.lru_cache(maxsize=...)); `pyhound heap --pid %d --diff 10` shows which "
		 "types grow.",
		 fmt_bytes(a, sizeof(a), first), fmt_bytes(b, sizeof(b), last),
		 fmt_bytes(g, sizeof(g), last - first), fmt_bytes(r, sizeof(r), (uint64_t)m->rate),
		 window,
		 fmt_bytes(an, sizeof(an),
			   s->last[RSS_ANON] > s->first[RSS_ANON] ? s->last[RSS_ANON] - s->first[RSS_ANON]
								  : 0),
		 (int)s->pid);
	return true;
}

int report_add_mem(struct report *r, const struct rss_watch *w)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		struct rep_proc *rp = &r->procs[i];
		const struct rss_series *s = rss_watch_find(w, rp->tp.info.pid);

		if (!s || !s->n || s->start_ticks != rp->tp.info.start_ticks)
			continue;
		rp->mem = calloc(1, sizeof(*rp->mem));
		if (!rp->mem)
			return -ENOMEM;
		rp->mem->s = *s;
		report_mem_judge(rp->mem);
	}
	r->has_mem = true;
	return 0;
}

void report_free_mem(struct rep_proc *rp)
{
	free(rp->mem);
	rp->mem = NULL;
}

void report_print_mem_text(const struct rep_proc *rp, FILE *f)
{
	const struct rep_mem *m = rp->mem;
	char a[32], b[32], c[32], d[32];

	if (!m)
		return;
	fprintf(f, "\n   Memory (resident, from /proc/PID/status; %u readings over %.1f s)\n", m->s.n,
		m->s.t_last - m->s.t_first);
	fprintf(f, "   %-6s %12s %12s %12s\n", "", "START", "END", "PEAK");
	fprintf(f, "   %-6s %12s %12s %12s\n", "total", fmt_bytes(a, sizeof(a), rss_total(m->s.first)),
		fmt_bytes(b, sizeof(b), rss_total(m->s.last)),
		fmt_bytes(c, sizeof(c), rss_total(m->s.peak)));
	for (int k = 0; k < RSS_KINDS; k++)
		fprintf(f, "   %-6s %12s %12s %12s\n", rss_kind_name(k),
			fmt_bytes(a, sizeof(a), m->s.first[k]), fmt_bytes(b, sizeof(b), m->s.last[k]),
			fmt_bytes(c, sizeof(c), m->s.peak[k]));
	fmt_bytes(d, sizeof(d), (uint64_t)(m->rate < 0 ? -m->rate : m->rate));
	fprintf(f, "   growth: %s%s/s\n", m->rate < 0 ? "-" : "+", d);
	if (m->finding)
		fprintf(f, "   ! %s\n", m->text);
}

static void kinds_json(struct json *j, const char *key, const uint64_t v[RSS_KINDS])
{
	json_obj_begin(j, key);
	json_u64(j, "total", rss_total(v));
	for (int k = 0; k < RSS_KINDS; k++)
		json_u64(j, rss_kind_name(k), v[k]);
	json_obj_end(j);
}

void report_print_mem_json(const struct rep_proc *rp, struct json *j)
{
	const struct rep_mem *m = rp->mem;

	if (!m)
		return;
	json_obj_begin(j, "memory");
	json_str(j, "source", "/proc/PID/status");
	json_u64(j, "readings", m->s.n);
	json_double(j, "window_s", m->s.t_last - m->s.t_first);
	kinds_json(j, "start_bytes", m->s.first);
	kinds_json(j, "end_bytes", m->s.last);
	kinds_json(j, "peak_bytes", m->s.peak);
	json_double(j, "growth_bytes_per_s", m->rate);
	json_obj_end(j);
}

void report_print_mem_findings_json(const struct rep_proc *rp, struct json *j)
{
	const struct rep_mem *m = rp->mem;

	if (!m || !m->finding)
		return;
	json_obj_begin(j, NULL);
	json_str(j, "kind", "memory-growth");
	json_u64(j, "start_bytes", rss_total(m->s.first));
	json_u64(j, "end_bytes", rss_total(m->s.last));
	json_u64(j, "peak_bytes", rss_total(m->s.peak));
	json_double(j, "growth_bytes_per_s", m->rate);
	json_str(j, "message", m->text);
	json_obj_end(j);
}
