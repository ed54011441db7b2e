/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Resident memory growth per Python stack (bpf/memory.bpf.c, include/memory.h): loads the
 * collector on the sampler's maps (tracked_pids, proc_info: a process is walked once the
 * sampler has it), names the stacks with the sampler's symbolizer and hands each event to a
 * callback. Used by the profiler (user/collect/profiler.c).
 *
 *   mem_open(&opts, tracked_fd, proc_info_fd, sym, &m)   open, size maps, load
 *   mem_attach(m); loop: mem_poll(m, 100)                callbacks run from here
 *   mem_totals(m, pid, &t) / mem_forget(m, pid) as processes come and go; mem_free(m). */
#ifndef PYHOUND_USER_MEMORY_H
#define PYHOUND_USER_MEMORY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/profile.h"
#include "cpython/symbolize.h"
#include "../../include/memory.h"

/* One event; frames root first (valid during the call only) for GROWTH and MAP. */
struct mem_event {
	int kind;	   /* enum ph_mem_kind */
	unsigned int aux;  /* MAP: enum ph_mem_map_kind; RELEASE, MOVE: the syscall number */
	pid_t pid, tid;
	uint64_t addr, addr2, len;
	const struct prof_frame *frames;
	uint32_t nframes;
	bool truncated;
};

typedef void (*mem_cb)(void *ctx, const struct mem_event *ev);

struct mem_opts {
	unsigned int max_procs;	 /* mem_procs map size; 0: 4096 */
	unsigned int ringbuf_kb; /* 0: 4096 */
	uint64_t period;	 /* mean bytes of growth per sample; 0: PH_MEM_PERIOD_DEFAULT */
	uint64_t large;		 /* smallest mapping reported; 0: PH_MEM_LARGE_DEFAULT */
	mem_cb cb;
	void *ctx;
};

#define MEM_MAX_PROGS 8 /* the collector's BPF programs */

struct mem_stats {
	uint64_t bpf[MEM_STAT_MAX];  /* enum ph_mem_stat, summed over CPUs */
	uint64_t walk[SMP_STAT_MAX]; /* the stack walker's counters */
	uint64_t received, bad_records, unknown_frames;
	/* the programs' kernel run-time statistics (0 unless kernel.bpf_stats_enabled) */
	struct {
		const char *name;
		uint64_t runs, ns;
	} prog[MEM_MAX_PROGS];
	unsigned int nprogs;
};

/* What the kernel's counters did for one process since it was first seen (bytes). */
struct mem_totals {
	uint64_t grown[PH_MM_COUNTERS], released[PH_MM_COUNTERS];
};

struct mem_collector;

int mem_open(const struct mem_opts *opts, int tracked_fd, int proc_info_fd,
	     struct symbolizer *sym, struct mem_collector **out);
int mem_attach(struct mem_collector *m);
/* Deliver pending events; >= 0 or -errno. */
int mem_poll(struct mem_collector *m, int timeout_ms);
/* 0, or -ENOENT when the process has not changed its RSS since it was seen. */
int mem_totals(struct mem_collector *m, pid_t pid, struct mem_totals *t);
void mem_forget(struct mem_collector *m, pid_t pid);
int mem_get_stats(struct mem_collector *m, struct mem_stats *st);
const char *mem_stat_name(unsigned int stat);
struct bpf_object *mem_bpf_object(const struct mem_collector *m); /* run-time statistics */
void mem_free(struct mem_collector *m);

#endif
