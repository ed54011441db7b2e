/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Resident memory growth per Python stack (bpf/memory.bpf.c): the kernel's own RSS counters
 * (read at each page fault and at the return of the syscalls that map or release memory) are
 * followed per process; each thread's anonymous growth is sampled about once per targ_period bytes with its
 * Python stack and the address of the page fault that crossed the threshold, and the ranges
 * that releases free (munmap, madvise DONTNEED, brk shrinking, mremap) go to userspace, which
 * keeps a sample as "held" until a release covers its address. Large mappings (mmap, brk,
 * mremap growth) are sent with the stack that asked. One ring buffer, one record type. */
#ifndef PYHOUND_MEMORY_H
#define PYHOUND_MEMORY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "sampler.h"

#define PH_MEM_PERIOD_DEFAULT (256u << 10) /* mean bytes of growth per sample */
#define PH_MEM_LARGE_DEFAULT (2u << 20)	   /* a mapping this large or larger is reported */

enum ph_mem_kind {
	PH_MEM_GROWTH = 1,  /* len bytes of resident growth, sampled at addr (0: unknown) with
			       the thread's stack (nframes 0: no Python frame) */
	PH_MEM_MAP = 2,	    /* a large mapping of len bytes at addr (aux: enum ph_mem_map_kind) */
	PH_MEM_RELEASE = 3, /* [addr, addr + len) released (aux: the syscall number) */
	PH_MEM_MOVE = 4,    /* mremap: [addr, addr + len) now at addr2 */
};

enum ph_mem_map_kind {
	PH_MAP_ANON = 0,   /* mmap of anonymous memory */
	PH_MAP_FILE = 1,   /* mmap of a file */
	PH_MAP_BRK = 2,	   /* the heap grown with brk */
	PH_MAP_MREMAP = 3, /* a mapping grown with mremap (realloc of a large block) */
};

struct ph_mem_event {
	__u32 kind; /* enum ph_mem_kind */
	__u32 aux;
	__u64 addr, addr2, len;
	struct ph_sample s; /* pid, tid, and for GROWTH and MAP the stack (leaf first) */
};
#define PH_MEM_EVENT_HDR (32 + PH_SAMPLE_HDR_SIZE)

/* kernel's enum mm_counter_type, members followed */
#define PH_MM_FILE 0
#define PH_MM_ANON 1
#define PH_MM_SHMEM 3
#define PH_MM_COUNTERS 4

/* value of the mem_procs map (tgid -> totals), created at a process's first counter reading */
struct ph_mem_proc {
	__s64 last[PH_MM_COUNTERS];	/* the counter's global value last seen (pages) */
	__u64 grown[PH_MM_COUNTERS];	/* pages: sum of the increases seen since then */
	__u64 released[PH_MM_COUNTERS]; /* pages: sum of the decreases */
	__u64 last_brk;			/* the program break last seen */
};

enum ph_mem_stat {
	MEM_READS = 0,	    /* tracked processes' faults and syscalls that found the counters'
			       global values moved (faults that find them unchanged on this CPU
			       are dropped before any lookup) */
	MEM_FLUSHES,	    /* ... at which anon or shmem grew since the process's last reading */
	MEM_SAMPLES,	    /* growth samples sent */
	MEM_NO_STACK,	    /* ... of which without a Python stack (no thread state, C thread) */
	MEM_NO_ADDR,	    /* ... of which without the fault address (kept as held) */
	MEM_MAPS,	    /* large mappings sent */
	MEM_RELEASES,	    /* release ranges sent */
	MEM_MOVES,	    /* mremap moves sent */
	MEM_DROP_RINGBUF,   /* ring buffer full: event lost */
	MEM_PROCS_FULL,	    /* mem_procs full: a process's memory not followed */
	MEM_WALK_NS,	    /* time spent walking stacks (ns) */
	MEM_STAT_MAX,
};

_Static_assert(sizeof(struct ph_mem_event) == PH_MEM_EVENT_HDR + 24 * PH_MAX_FRAMES,
	       "ph_mem_event layout");
_Static_assert(sizeof(struct ph_mem_proc) == 104, "ph_mem_proc layout");

#endif
