/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Wall-clock and GIL sampling (bpf/wall.bpf.c): a thread runs the sleepable task iterator at
 * random intervals (exponential, mean 1/rate: a Poisson process no periodic program can lock
 * onto); each run samples every thread of every tracked CPython process into the CPU
 * sampler's ring buffer. Owned by the sampler (user/collect/sampler.c), which hands over its
 * maps: tracked_pids, proc_info, samples and stats. */
#ifndef PYHOUND_WALL_SAMPLER_H
#define PYHOUND_WALL_SAMPLER_H

#include <stdint.h>
#include "host/discover.h"
#include "wall.h"

struct wall_sampler;

struct wall_maps {
	int tracked_fd, proc_info_fd, samples_fd, stats_fd;
};

struct wall_stats {
	uint64_t runs;	     /* iterator runs */
	uint64_t run_ns;     /* time spent in them (pyhound's cost, in the kernel) */
	uint64_t late;	     /* runs that started later than scheduled by more than a period */
	uint64_t errors;     /* runs that failed (bpf_iter_create / read) */
	uint64_t gil_unknown; /* processes registered without a GIL location */
};

/* mode: PH_MODE_WALL or PH_MODE_GIL. 0 or -errno. */
int wall_open(enum ph_wall_mode mode, unsigned int max_procs, const struct wall_maps *m,
	      struct wall_sampler **out);
int wall_add_process(struct wall_sampler *w, const struct py_proc *p);
void wall_remove_process(struct wall_sampler *w, pid_t pid);
/* Attach the iterator and start the thread that runs it freq_hz times a second on average. */
int wall_start(struct wall_sampler *w, unsigned int freq_hz);
void wall_get_stats(struct wall_sampler *w, struct wall_stats *st);
void wall_free(struct wall_sampler *w); /* stops the thread */

#endif
