/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The report's Memory section: each process's resident memory (anon, file, shmem) at the start
 * and end of the window, its peak, its growth rate, and a finding for steady growth. */
#ifndef PYHOUND_REPORT_MEM_H
#define PYHOUND_REPORT_MEM_H

#include <stdbool.h>
#include <stdio.h>
#include "host/rss.h"

/* Steady growth: RSS up by at least this much and this share over the window, ending within
 * MEM_KEEP of its peak (no matching fall), over at least MEM_MIN_WINDOW_S. */
#define MEM_GROWTH_MIN_BYTES (32ull << 20)
#define MEM_GROWTH_MIN_SHARE 0.20
#define MEM_KEEP 0.90
#define MEM_MIN_WINDOW_S 3.0

#define REP_MEM_TOP 5 /* growth stacks and large mappings shown per process */

/* A stack of the memory collector (user/stack/memheld.h), as text and frames */
struct rep_mem_stack {
	uint64_t bytes, count; /* held bytes (growth) or mapped bytes and mappings (maps) */
	const struct prof_stack *st; /* in the report's memory profile (rep->mem_prof) or maps */
	char text[400];		     /* "main:63 > keep_big:29" (leaf last) */
};

struct rep_mem {
	struct rss_series s;
	double rate; /* bytes per second, last minus first over the window */
	bool finding;
	char text[1280];
	/* report_add_mem_stacks(): growth per stack (has_stacks: the collector ran) */
	bool has_stacks;
	uint64_t sampled, held, released; /* growth bytes sampled, still held, released */
	size_t nstacks, nmaps;
	struct rep_mem_stack stacks[REP_MEM_TOP], maps[REP_MEM_TOP];
	uint64_t map_bytes, map_count; /* every large mapping of the process */
};

struct report;
struct rep_proc;
struct json;
/* Attach each process's series from w (matched by PID and start time). */
int report_add_mem(struct report *r, const struct rss_watch *w);
void report_free_mem(struct rep_proc *rp);
void report_print_mem_text(const struct rep_proc *rp, FILE *f);
void report_print_mem_json(const struct rep_proc *rp, struct json *j);
void report_print_mem_findings_json(const struct rep_proc *rp, struct json *j);
struct memheld;
/* Each process's growth stacks and large mappings from h (after report_add_mem); the finding
 * names the stacks that grew. 0 or -ENOMEM. */
int report_add_mem_stacks(struct report *r, const struct memheld *h);
/* The memory collector's counters: a line for -v, an object "memory_collector" in JSON. */
void report_print_mem_health_text(const struct report *r, FILE *f);
void report_print_mem_health_json(const struct report *r, struct json *j);
/* The finding's sentence for a series (rep_mem filled), or false when none is due. */
bool report_mem_judge(struct rep_mem *m);

#endif
