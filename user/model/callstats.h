/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-process call counters for the exporter, from the call collector's snapshots (cumulative
 * per process and code object), with bounded cardinality as user/funcstats.h does for CPU
 * samples: each process gets its own series for at most N functions (function = qualified
 * name and file), all other calls count towards function="other". A function is admitted once
 * and keeps its series while the process is known; it is admitted at an update with the calls
 * that update brought (calls before stay in "other"), so every counter only grows. Pure (no
 * BPF): unit tests feed it snapshots. */
#ifndef PYHOUND_CALLSTATS_H
#define PYHOUND_CALLSTATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "collect/calls_user.h"

#define CALLSTATS_TRACK 1024 /* distinct functions counted per process before admission */
#define CALLSTATS_BUCKETS 8  /* latency buckets exported (log2 slots, see callstats_bucket_slot) */

/* what a series counts, cumulative */
struct cs_counts {
	uint64_t calls;
	uint64_t timed;	   /* calls whose latency was measured (returned through a probe) */
	uint64_t total_ns; /* their summed latency */
	uint64_t le[CALLSTATS_BUCKETS]; /* timed calls of at most callstats_bucket_le_ns(i) */
};

struct cs_series {
	const char *name, *file;
	struct cs_counts c;
};

struct cs_proc_view {
	pid_t pid;
	int source;		/* enum calls_source, 0: none */
	bool seen;		/* any call counted for the process */
	struct cs_counts other; /* functions without their own series */
	const struct cs_series *series;
	size_t nseries;
};

struct callstats;

struct callstats *callstats_new(void);
void callstats_free(struct callstats *cs);
/* Credit what grew since the previous update (entries are matched by process, code object and
 * fingerprint; entries gone from the snapshot are dropped), then admit up to top_n functions
 * per process (most calls first). 0 or -ENOMEM (then nothing was credited). */
int callstats_update(struct callstats *cs, const struct calls_snapshot *snap, unsigned int top_n);
/* Record the source a process's calls are seen through (adds the process). 0 or -ENOMEM. */
int callstats_set_source(struct callstats *cs, pid_t pid, int source);
void callstats_foreach(struct callstats *cs, void (*cb)(const struct cs_proc_view *v, void *ctx),
		       void *ctx);
void callstats_forget(struct callstats *cs, pid_t pid);
/* bucket i's upper bound (ns, inclusive) and the log2 slot (include/hist.h) it ends at */
unsigned int callstats_bucket_slot(unsigned int i);
uint64_t callstats_bucket_le_ns(unsigned int i);

#endif
