// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/histo.h"
#include "lib/json.h"
#include "model/report.h"
#include "model/report_mem.h"
#include "stack/memheld.h"
#include "collect/memory.h"

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

static void stack_text(const struct prof_stack *st, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	if (st->truncated)
		off += snprintf(buf + off, len - off, "[truncated] ");
	for (uint32_t k = 0; k < st->nframes && off < len; k++) {
		const struct prof_frame *fr = &st->frames[k];

		if (!fr->file[0]) /* pseudo-frame: no line */
			off += snprintf(buf + off, len - off, "%s%s", k ? " > " : "", fr->name);
		else
			off += snprintf(buf + off, len - off, "%s%s:%d", k ? " > " : "", fr->name,
					prof_frame_line(fr));
	}
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* The leaf Python frame of a stack: the function that made the memory resident */
static const struct prof_frame *leaf_frame(const struct prof_stack *st)
{
	for (uint32_t k = st->nframes; k-- > 0;)
		if (st->frames[k].file[0])
			return &st->frames[k];
	return st->nframes ? &st->frames[st->nframes - 1] : NULL;
}

static void name_growers(struct rep_mem *m)
{
	size_t off = strlen(m->text);
	char b[32];

	if (!m->nstacks || off + 1 >= sizeof(m->text))
		return;
	off += snprintf(m->text + off, sizeof(m->text) - off, " Held growth by stack:");
	for (size_t i = 0; i < m->nstacks && i < 3 && off < sizeof(m->text); i++) {
		const struct prof_frame *fr = leaf_frame(m->stacks[i].st);

		if (!fr)
			continue;
		off += snprintf(m->text + off, sizeof(m->text) - off, "%s %s", i ? ";" : "",
				fr->name);
		if (fr->file[0] && off < sizeof(m->text))
			off += snprintf(m->text + off, sizeof(m->text) - off, " (%s:%d)",
					base_name(fr->file), prof_frame_line(fr));
		if (off < sizeof(m->text))
			off += snprintf(m->text + off, sizeof(m->text) - off, " %s (%.0f%%)",
					fmt_bytes(b, sizeof(b), m->stacks[i].bytes),
					m->held ? 100.0 * m->stacks[i].bytes / m->held : 0.0);
	}
	if (off < sizeof(m->text))
		snprintf(m->text + off, sizeof(m->text) - off, ".");
}

int report_add_mem_stacks(struct report *r, const struct memheld *h)
{
	const struct profile *maps = memheld_maps(h);

	profile_free(r->mem_prof);
	r->mem_prof = memheld_profile(h, 0, 0);
	if (!r->mem_prof)
		return -ENOMEM;
	for (size_t i = 0; i < r->nprocs; i++) {
		struct rep_proc *rp = &r->procs[i];
		pid_t pid = rp->tp.info.pid;
		struct rep_mem *m = rp->mem;
		struct prof_stack_group *g = NULL;
		struct memheld_proc hp;
		ssize_t n;

		if (!m)
			continue;
		m->has_stacks = true;
		if (memheld_proc(h, pid, &hp))
			continue;
		m->sampled = hp.sampled;
		m->held = hp.held;
		m->released = hp.released;
		m->map_bytes = hp.map_bytes;
		m->map_count = hp.maps;
		n = profile_top_stack_groups(r->mem_prof, pid, REP_MEM_TOP, &g);
		for (ssize_t k = 0; k < n; k++) {
			struct rep_mem_stack *ms = &m->stacks[m->nstacks++];

			ms->bytes = g[k].count;
			ms->st = g[k].stack;
			stack_text(ms->st, ms->text, sizeof(ms->text));
		}
		free(g);
		for (size_t k = 0; k < maps->nstacks; k++) {
			const struct prof_stack *st = &maps->stacks[k];
			size_t at;

			if (st->pid != pid)
				continue;
			for (at = 0; at < m->nmaps && m->maps[at].bytes >= st->count; at++)
				;
			if (at >= REP_MEM_TOP)
				continue;
			if (m->nmaps < REP_MEM_TOP)
				m->nmaps++;
			memmove(&m->maps[at + 1], &m->maps[at],
				(m->nmaps - 1 - at) * sizeof(m->maps[0]));
			m->maps[at].bytes = st->count;
			m->maps[at].count = memheld_map_count(h, k);
			m->maps[at].st = st;
			stack_text(st, m->maps[at].text, sizeof(m->maps[at].text));
		}
		if (m->finding)
			name_growers(m);
	}
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
	if (m->has_stacks) {
		fprintf(f, "   Growth by stack (anonymous memory made resident in the window and still "
			   "held at its end: %s of %s made; leaf last)\n",
			fmt_bytes(a, sizeof(a), m->held), fmt_bytes(b, sizeof(b), m->sampled));
		if (!m->nstacks)
			fprintf(f, "     none\n");
		for (size_t i = 0; i < m->nstacks; i++)
			fprintf(f, "   %9.1f MiB %5.1f%%  (%s) %s\n", m->stacks[i].bytes / 1048576.0,
				m->held ? 100.0 * m->stacks[i].bytes / m->held : 0.0,
				m->stacks[i].st->thread, m->stacks[i].text);
		if (m->map_count) {
			fprintf(f, "   Large mappings made (%llu, %s; leaf last)\n",
				(unsigned long long)m->map_count,
				fmt_bytes(a, sizeof(a), m->map_bytes));
			for (size_t i = 0; i < m->nmaps; i++)
				fprintf(f, "   %9.1f MiB %5llux  %s\n", m->maps[i].bytes / 1048576.0,
					(unsigned long long)m->maps[i].count, m->maps[i].text);
		}
	}
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

static void stacks_json(struct json *j, const char *key, const struct rep_mem_stack *v, size_t n,
			bool maps)
{
	json_arr_begin(j, key);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(j, NULL);
		json_u64(j, "bytes", v[i].bytes);
		if (maps)
			json_u64(j, "count", v[i].count);
		json_str(j, "thread", v[i].st->thread);
		json_str(j, "stack", v[i].text);
		json_arr_begin(j, "frames");
		for (uint32_t k = 0; k < v[i].st->nframes; k++) {
			json_obj_begin(j, NULL);
			json_str(j, "name", v[i].st->frames[k].name);
			json_str(j, "file", v[i].st->frames[k].file);
			json_u64(j, "line", (uint64_t)prof_frame_line(&v[i].st->frames[k]));
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
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
	if (m->has_stacks) {
		json_u64(j, "growth_sampled_bytes", m->sampled);
		json_u64(j, "growth_held_bytes", m->held);
		json_u64(j, "growth_released_bytes", m->released);
		stacks_json(j, "growth_stacks", m->stacks, m->nstacks, false);
		json_u64(j, "large_mappings", m->map_count);
		json_u64(j, "large_mapping_bytes", m->map_bytes);
		stacks_json(j, "top_large_mappings", m->maps, m->nmaps, true);
	}
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
	stacks_json(j, "stacks", m->stacks, m->nstacks < 3 ? m->nstacks : 3, false);
	json_str(j, "message", m->text);
	json_obj_end(j);
}

void report_print_mem_health_text(const struct report *r, FILE *f)
{
	if (!r->n_mem_counters)
		return;
	fprintf(f, "Memory collector health:");
	for (unsigned int k = 0; k < r->n_mem_counters; k++)
		if (r->mem_counters[k])
			fprintf(f, " %s=%llu", mem_stat_name(k), (unsigned long long)r->mem_counters[k]);
	fprintf(f, " held_dropped=%llu\n", (unsigned long long)r->mem_held_dropped);
}

void report_print_mem_health_json(const struct report *r, struct json *j)
{
	if (!r->n_mem_counters)
		return;
	json_obj_begin(j, "memory_collector");
	for (unsigned int k = 0; k < r->n_mem_counters; k++)
		json_u64(j, mem_stat_name(k), r->mem_counters[k]);
	json_u64(j, "held_dropped", r->mem_held_dropped);
	json_obj_end(j);
}
