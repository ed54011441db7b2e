/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The report model: per process, syscalls by time, I/O batching and findings, built from the
 * collectors' snapshots; printed as text or JSON. Pure: no BPF here, so unit tests build one. */
#ifndef PYHOUND_REPORT_H
#define PYHOUND_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "profile.h"
#include "syscalls_user.h"
#include "tracker.h"

#define REP_MAX_FINDINGS 8
/* a finding for tiny I/O: at least this many calls of one syscall on one fd kind, with the
 * median call moving fewer than this many bytes */
#define TINY_IO_MIN_CALLS 1000
#define TINY_IO_MEDIAN_BYTES 64

struct rep_syscall {
	unsigned int nr;
	const struct sc_stats *s;
	int p50_slot, p99_slot;
	double share; /* total time / observed wall time */
};

struct rep_io {
	unsigned int nr, kind;
	const struct io_stats *s;
	uint64_t median_lo, median_hi; /* the median call's size lies in this range */
	double small_share;	       /* share of calls under 512 bytes */
};

struct rep_finding {
	const char *kind; /* "tiny-writes", "tiny-reads" */
	unsigned int nr, fd_kind;
	uint64_t calls, bytes, median_hi;
	double per_second;
	uint64_t syscall_ns; /* time in that syscall (all fd kinds) */
	char text[640];
};

struct rep_proc {
	struct tracked_proc tp;
	double observed_s;
	uint64_t syscall_ns;
	struct rep_syscall *sc;
	size_t nsc;
	struct rep_io *io;
	size_t nio;
	struct rep_finding findings[REP_MAX_FINDINGS];
	int nfindings;
};

struct report {
	double duration_s;
	bool interrupted;
	struct rep_proc *procs;
	size_t nprocs;
	uint64_t sc_drops[SC_DROP_MAX];
	struct tracker_stats tstats;
	unsigned int max_stats;
	size_t stats_used;
	size_t nsc_total, nio_total; /* entries in the kernel's maps, all processes */
	uint64_t retired_dropped;    /* exited processes' entries dropped at the bound */
	const struct profile *prof;  /* sampled stacks, or NULL when not sampled */
	char sampler_health[512];    /* a line on the sampler's counters, for -v */
};

#define REP_TOP_FUNCTIONS 10
#define REP_TOP_STACKS 5

/* Build from a snapshot; procs are copied. start/end are CLOCK_MONOTONIC ns of the window. */
/* The snapshot's arrays are sorted by pid in place. */
int report_build(struct report *r, struct sc_snapshot *snap, const struct tracked_proc *procs,
		 size_t nprocs, uint64_t start_ns, uint64_t end_ns);
void report_free(struct report *r);
void report_print_text(const struct report *r, FILE *f, int verbosity);
void report_print_json(const struct report *r, FILE *f);

const char *fd_kind_name(unsigned int kind);

#endif
