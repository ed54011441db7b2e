/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The stack sampler wired to the tracker: every tracked CPython process is registered with the
 * sampler as it appears and removed as it exits; named samples accumulate into a profile
 * (user/profile.h) and go to an optional extra sink. Used by record, report, top and serve. */
#ifndef PYHOUND_PROFILER_H
#define PYHOUND_PROFILER_H

#include <stdbool.h>
#include "stack/profile.h"
#include "collect/sampler.h"
#include "host/tracker.h"

struct profiler;

/* Called for every named sample, after it was added to the current profile. */
typedef void (*profiler_sink)(void *ctx, pid_t pid, pid_t tid, const char *process,
			      const char *thread, const struct prof_frame *frames, uint32_t n,
			      bool truncated, bool in_syscall);

struct profiler_stats {
	struct sampler_stats s;
	uint64_t procs_added, procs_refused; /* refused: version or layout not supported */
	uint64_t profile_full;		      /* samples not kept: profile at its stack bound */
};

/* Open the sampler on the tracker's map and hook into the tracker. Call between tracker_open()
 * and tracker_start(). mode: enum ph_wall_mode (PH_MODE_CPU, PH_MODE_WALL, PH_MODE_GIL). */
int profiler_open(struct tracker *t, unsigned int freq_hz, int mode, struct profiler **out);
int profiler_mode(const struct profiler *p);
int profiler_attach(struct profiler *p);
int profiler_poll(struct profiler *p, int timeout_ms);
/* record --opcodes: end each on-CPU sample whose leaf is Python code with a pseudo-frame
 * "[op:NAME]" naming the instruction it sat on ("[op:?]": not read). 0 or -ENOMEM. */
int profiler_set_opcode_frames(struct profiler *p, bool on);
void profiler_set_sink(struct profiler *p, profiler_sink fn, void *ctx);
/* The profile gathered so far; profiler_restart() hands it over and starts a new one. */
struct profile *profiler_profile(struct profiler *p);
struct profile *profiler_restart(struct profiler *p);
void profiler_get_stats(struct profiler *p, struct profiler_stats *st);
unsigned int profiler_frequency(const struct profiler *p);
void profiler_free(struct profiler *p);
struct sampler *profiler_sampler(const struct profiler *p);
/* Resident growth per stack (user/collect/memory.c into user/stack/memheld.h): on from the
 * start in PH_MODE_MEMORY (the profile is then held bytes per stack), or added to a CPU/wall
 * profiler with profiler_enable_memory() before profiler_attach(). NULL when off. */
int profiler_enable_memory(struct profiler *p);
/* Growth samples to fn instead of the held store (serve: counters only; profiler_memheld()
 * is then NULL): bytes of resident growth made by the stack (root first). */
typedef void (*profiler_mem_sink)(void *ctx, pid_t pid, const struct prof_frame *frames,
				  uint32_t n, uint64_t bytes);
void profiler_set_mem_sink(struct profiler *p, profiler_mem_sink fn, void *ctx);
struct memheld *profiler_memheld(const struct profiler *p);
struct mem_collector *profiler_mem(const struct profiler *p);

#endif
