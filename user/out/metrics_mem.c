// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Resident memory per process for Prometheus, read from /proc/PID/status at each scrape. */
#include <stdio.h>
#include "host/rss.h"
#include "collect/memory.h"
#include "model/funcstats.h"
#include "model/report.h"
#include "out/metrics.h"

void metrics_write_mem(FILE *f, const struct report *r)
{
	fprintf(f, "# HELP pyhound_process_resident_bytes Resident memory of the process by kind "
		   "(anon, file, shmem), from /proc/PID/status at the scrape.\n"
		   "# TYPE pyhound_process_resident_bytes gauge\n");
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rep_proc *rp = &r->procs[i];
		uint64_t v[RSS_KINDS];

		if (rp->tp.exited || rss_read(rp->tp.info.pid, v))
			continue;
		/* the PID may have been reused since the snapshot */
		if (proc_start_ticks(rp->tp.info.pid) != rp->tp.info.start_ticks)
			continue;
		for (int k = 0; k < RSS_KINDS; k++) {
			fputs("pyhound_process_resident_bytes{", f);
			metrics_proc_labels(f, rp);
			fprintf(f, ",kind=\"%s\"} %llu\n", rss_kind_name(k), (unsigned long long)v[k]);
		}
	}
}

struct growth_ctx {
	FILE *f;
	const struct report *r;
};

static const struct rep_proc *find_proc(const struct report *r, pid_t pid)
{
	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i].tp.info.pid == pid)
			return &r->procs[i];
	return NULL;
}

static void growth_cb(const struct fs_proc_view *v, void *ctx)
{
	struct growth_ctx *c = ctx;
	const struct rep_proc *rp = find_proc(c->r, v->pid);

	if (!rp)
		return;
	for (size_t i = 0; i < v->nseries; i++) {
		fputs("pyhound_memory_growth_bytes_total{", c->f);
		metrics_proc_labels(c->f, rp);
		fputs(",function=", c->f);
		metrics_label_value(c->f, v->series[i].name);
		fputs(",file=", c->f);
		metrics_label_value(c->f, v->series[i].file);
		fprintf(c->f, "} %llu\n", (unsigned long long)v->series[i].samples);
	}
	fputs("pyhound_memory_growth_bytes_total{", c->f);
	metrics_proc_labels(c->f, rp);
	fprintf(c->f, ",function=\"other\",file=\"\"} %llu\n", (unsigned long long)v->other);
}

void metrics_write_mem_growth(FILE *f, const struct report *r, struct funcstats *fs,
			      unsigned int top_n, struct mem_collector *m)
{
	struct growth_ctx c = { f, r };
	struct mem_stats st;

	fprintf(f, "# HELP pyhound_memory_growth_bytes_total Anonymous memory made resident by "
		   "the process's own threads, by the innermost Python function running (sampled "
		   "about once per 256 KiB, each sample weighted by the bytes it stands for), for "
		   "each process's top growing functions; the rest are function=\"other\".\n"
		   "# TYPE pyhound_memory_growth_bytes_total counter\n");
	funcstats_foreach(fs, top_n, growth_cb, &c);
	fprintf(f, "# HELP pyhound_memory_released_bytes_total Anonymous memory the process "
		   "released (munmap, madvise, brk, reclaim), from the kernel's RSS counters, while "
		   "it is running.\n"
		   "# TYPE pyhound_memory_released_bytes_total counter\n");
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rep_proc *rp = &r->procs[i];
		struct mem_totals t;

		if (rp->tp.exited || mem_totals(m, rp->tp.info.pid, &t))
			continue;
		fputs("pyhound_memory_released_bytes_total{", f);
		metrics_proc_labels(f, rp);
		fprintf(f, "} %llu\n", (unsigned long long)(t.released[PH_MM_ANON] +
							 t.released[PH_MM_SHMEM]));
	}
	mem_get_stats(m, &st);
	fprintf(f, "# HELP pyhound_memory_collector_events_total The memory collector's counters "
		   "(growth samples, releases, large mappings; drop_ringbuf and procs_full are "
		   "losses).\n# TYPE pyhound_memory_collector_events_total counter\n");
	for (unsigned int k = 0; k < MEM_STAT_MAX; k++)
		fprintf(f, "pyhound_memory_collector_events_total{event=\"%s\"} %llu\n",
			mem_stat_name(k), (unsigned long long)st.bpf[k]);
}
