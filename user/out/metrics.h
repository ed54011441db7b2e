/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Prometheus text exposition (format 0.0.4) of what pyhound measured. Pure: takes a report and
 * health figures, writes text; so unit tests check it and promtool lints it. */
#ifndef PYHOUND_METRICS_H
#define PYHOUND_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include "calls.h"
#include "model/report.h"

#define METRICS_MAX_PROGS 48

struct metrics_health {
	uint64_t scrapes;	   /* served so far, including this one */
	double last_scrape_seconds; /* how long the previous render took */
	double cpu_seconds;	   /* pyhound's own user+system CPU */
	uint64_t rss_bytes, rss_peak_bytes;
	unsigned int tracked_capacity; /* tracked_pids map size */
	int live_processes;
	uint64_t series_folded;	   /* series folded into syscall="other" in this render */
	struct {
		char name[32];
		uint64_t run_ns, run_cnt;
	} progs[METRICS_MAX_PROGS];
	int nprogs;
	bool prog_stats; /* run_ns/run_cnt are real (kernel BPF stats enabled) */
	struct {
		const char *name;
		uint64_t value;
		bool lost; /* a sample was lost for this reason (also in pyhound_dropped_total) */
	} sampler[24];
	int nsampler;
	bool calls; /* the call collector runs: calls_counters are its counters (enum calls_counter) */
	uint64_t calls_counters[CC_MAX];
	uint64_t calls_entries, calls_capacity; /* (process, code object) entries, map size */
};

/* Write every family. top_syscalls bounds per-process syscall series (the rest are summed into
 * syscall="other"). Returns 0 or -EIO. */
int metrics_write(FILE *f, const struct report *r, struct metrics_health *h,
		  unsigned int top_syscalls);
/* CPU sample families from the exporter's per-process function counters. */
struct funcstats;
void metrics_write_cpu(FILE *f, const struct report *r, struct funcstats *fs, unsigned int top_n,
		       unsigned int frequency);

/* Wall-clock or GIL families (serve --mode wall|gil; mode: enum ph_wall_mode) from the
 * exporter's per-process counters (funcstats_add_wall()); user/out/metrics_wall.c. */
void metrics_write_wall(FILE *f, const struct report *r, struct funcstats *fs, unsigned int top_n,
			unsigned int frequency, int mode);
/* GC families (when the report has GC data: report_add_gc()). */
void metrics_write_gc(FILE *f, const struct report *r);

/* Call families (pyhound serve with calls_budget > 0), from the exporter's per-process call
 * counters (user/callstats.h, updated from the collector's snapshot before). */
struct callstats;
struct metrics_calls {
	double budget_percent;	   /* calls_budget */
	double window_seconds;	   /* time the probes were attached (calls_window_covered) */
	double probe_cost_seconds; /* the probes' modelled cost (calls_window_spent_ns) */
};
void metrics_write_calls(FILE *f, const struct report *r, struct callstats *cs,
			 const struct metrics_calls *mc);

/* Write s as a label value (escapes \\, \" and newlines). */
void metrics_label_value(FILE *f, const char *s);
/* The labels identifying a process's series: pid, comm, python_version, unit, container_id. */
void metrics_proc_labels(FILE *f, const struct rep_proc *rp);
/* pyhound_process_resident_bytes{kind}: each live process's resident memory now
 * (user/out/metrics_mem.c). */
void metrics_write_mem(FILE *f, const struct report *r);
struct funcstats;
struct mem_collector;
/* pyhound_memory_growth_bytes_total{function,file} (resident growth made by each process's
 * top_n growing functions, the rest function="other"), pyhound_memory_released_bytes_total and
 * the collector's counters (user/out/metrics_mem.c). */
void metrics_write_mem_growth(FILE *f, const struct report *r, struct funcstats *fs,
			      unsigned int top_n, struct mem_collector *m);
/* Database queries (user/out/metrics_queries.c): per process, the top N (statement
 * fingerprint, function) by time, the rest as "other"; N+1 queries. */
struct querystats;
void metrics_write_queries(FILE *f, const struct report *r, const struct querystats *qs,
			   unsigned int top_n);

#endif
