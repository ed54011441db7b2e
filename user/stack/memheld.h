/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Resident growth samples per Python stack, held until released (the model behind
 * `record --mode memory`, the report's growth stacks and pyhound_memory_growth_bytes_total).
 *
 * A growth sample stands for `bytes` of resident growth made by a stack; it is kept at the
 * address of the page fault that crossed the sampling threshold. A release of a range (munmap,
 * madvise DONTNEED, brk shrinking, MAP_FIXED) drops the samples inside it, an mremap moves
 * them: a stack's held bytes are what it made resident and is still resident. Memory freed
 * inside the allocator and reused by another stack stays with the stack that first made it
 * resident (the reuse grows nothing), as RSS itself does. Large mappings are counted apart. */
#ifndef PYHOUND_MEMHELD_H
#define PYHOUND_MEMHELD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/profile.h"

#define MEMHELD_MAX_SAMPLES (4u << 20) /* held samples kept; more are counted in dropped */
#define MEMHELD_MAX_PIDS 65536

struct memheld;

/* Per process, bytes */
struct memheld_proc {
	uint64_t sampled;	   /* growth sampled */
	uint64_t held;		   /* ... of which not released since */
	uint64_t released;	   /* ... of which released */
	uint64_t samples;	   /* growth samples */
	uint64_t no_addr;	   /* ... without an address (held until the end) */
	uint64_t maps, map_bytes;  /* large mappings made */
	uint64_t releases;	   /* release ranges seen */
};

struct memheld *memheld_new(void);
void memheld_free(struct memheld *h);
/* A growth sample of bytes at addr (0: unknown), frames root first. 0 or -errno. */
int memheld_growth(struct memheld *h, pid_t pid, pid_t tid, const char *process,
		   const char *thread, const struct prof_frame *frames, uint32_t nframes,
		   bool truncated, uint64_t addr, uint64_t bytes);
/* A large mapping of bytes made by the stack; kind is a short label ("mmap", "brk", ...). */
int memheld_mapping(struct memheld *h, pid_t pid, pid_t tid, const char *process,
		    const char *thread, const struct prof_frame *frames, uint32_t nframes,
		    bool truncated, const char *kind, uint64_t bytes);
void memheld_release(struct memheld *h, pid_t pid, uint64_t start, uint64_t len);
void memheld_move(struct memheld *h, pid_t pid, uint64_t from, uint64_t len, uint64_t to);
/* Drop everything of pid (its samples, not its stacks). */
void memheld_forget(struct memheld *h, pid_t pid);

/* A new profile (profile_free() it) of held bytes per stack, count = bytes; pid > 0: that
 * process only. mode and duration are copied from the arguments. NULL when out of memory. */
struct profile *memheld_profile(const struct memheld *h, pid_t pid, double duration_s);
/* The large mappings: a profile whose count is bytes (owned by h) and, per stack index, the
 * number of mappings (memheld_map_count). The stack's leaf frame is the mapping's kind. */
const struct profile *memheld_maps(const struct memheld *h);
uint64_t memheld_map_count(const struct memheld *h, size_t stack_index);
/* 0, or -ENOENT when nothing was seen of pid. */
int memheld_proc(const struct memheld *h, pid_t pid, struct memheld_proc *out);
uint64_t memheld_dropped(const struct memheld *h); /* samples not kept (bounds) */

#endif
