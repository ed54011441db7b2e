/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The report model: per process, syscalls by time, I/O batching and findings, built from the
 * collectors' snapshots; printed as text or JSON. Pure: no BPF here, so unit tests build one. */
#ifndef PYHOUND_REPORT_H
#define PYHOUND_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "stack/profile.h"
#include "collect/gc_user.h"
#include "collect/syscalls_user.h"
#include "host/tracker.h"
#include "model/report_wall.h"

#define REP_MAX_FINDINGS 8
/* a finding for tiny I/O: at least this many calls of one syscall on one fd kind, with the
 * median call moving fewer than this many bytes */
#define TINY_IO_MIN_CALLS 1000
#define TINY_IO_MEDIAN_BYTES 64
/* ... or, with a median call under TINY_IO_SMALL_BYTES, at least TINY_IO_MIN_RATE calls per
 * second and that syscall taking TINY_IO_MIN_WALL_SHARE of the wall time observed (two
 * million 100-byte writes at 37% of wall time are a finding). */
#define TINY_IO_SMALL_BYTES 512
#define TINY_IO_MIN_RATE 1000
#define TINY_IO_MIN_WALL_SHARE 0.05
/* The size judged is the one asked for where the call has one (read, write, pread64,
 * pwrite64, sendto, recvfrom): a recv(65536) returning a 40-byte message is a whole message.
 * Socket reads are judged only then; socket writes never (whole messages or requests). */
/* chatty request/response round trips on sockets, not the server side (accepted while
 * watched, or a local port below the ephemeral range, or a named Unix socket): at least this
 * many, this many per second, waiting for replies this share of the wall time, with requests
 * this small on average (pipelined or batched ones are larger) */
#define CHATTY_MIN_ROUND_TRIPS 1000
#define CHATTY_MIN_RATE 100
#define CHATTY_MIN_WALL_SHARE 0.10
#define CHATTY_MAX_REQUEST_BYTES 2048

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
	uint64_t asked_lo, asked_hi;   /* the median size asked for (0, 0: not known) */
};

struct rep_finding {
	const char *kind; /* "tiny-writes", "tiny-reads", "chatty-round-trips" (calls: round
			   * trips, bytes: requests', syscall_ns: time from requests to replies) */
	unsigned int nr, fd_kind;
	uint64_t calls, bytes, median_hi;
	double per_second;
	uint64_t syscall_ns; /* time in that syscall (all fd kinds) */
	char text[640];
};

struct rep_proc {
	struct tracked_proc tp;
	double observed_s;
	uint64_t syscall_ns; /* the process's own syscalls: probe_sc is not in it */
	/* syscalls that return probes on the process cause (SC_NR_URETPROBE), kept apart from
	 * its own: NULL when none were seen */
	const struct sc_stats *probe_sc;
	struct rep_syscall *sc;
	size_t nsc;
	struct rep_io *io;
	size_t nio;
	struct rep_finding findings[REP_MAX_FINDINGS];
	int nfindings;
	struct rep_gc *gc; /* NULL unless report_add_gc() found the process */
	struct rep_mem *mem; /* NULL unless report_add_mem() has a series for it */
	/* pread64 calls on files of a process whose SQLite queries were followed: SQLite's page
	 * reads, attributed to its queries instead of an "unbatched reads" finding */
	uint64_t sqlite_preads;
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
	bool opcodes;		     /* text: the hot lines' instructions (report --opcodes) */
	char sampler_health[512];    /* a line on the sampler's counters, for -v */
	bool has_gc; /* report_add_gc() was called */
	bool has_mem; /* report_add_mem() was called */
	struct profile *mem_prof; /* report_add_mem_stacks(): held growth per stack (owned) */
	uint64_t mem_counters[16];    /* the memory collector's (enum ph_mem_stat), ... */
	unsigned int n_mem_counters;  /* ... 0 when it did not run */
	uint64_t mem_held_dropped;    /* growth samples not kept (bounds) */
	const struct querystats *queries; /* report_add_queries(), or NULL */
	uint64_t gc_drops[GC_DROP_MAX];
	struct wall_env wall; /* --mode wall: the host's idle CPUs, the event loops seen */
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
/* tiny-writes, tiny-reads and chatty-round-trips of a built process (findings_io.c) */
void report_add_io_findings(struct rep_proc *rp);

/* Why a process has no stack samples, told apart from what pyhound knows: "unsupported" (its
 * CPython version), "idle" (its CPU time while observed was under REP_IDLE_PERIODS sample
 * periods: too little for a sample to be certain),
 * "unreadable" (it ran, yet no stack was read), "unknown" (its CPU time could not be read).
 * Returns the kind; buf gets a sentence. */
#define REP_IDLE_PERIODS 10
#define REP_STR_(x) #x
#define REP_STR(x) REP_STR_(x)
const char *report_no_samples_reason(const struct rep_proc *rp, unsigned int freq_hz, char *buf,
				     size_t len);

/* ---- GC pauses and import times (user/report_gc.c, data from user/gc.c) ---- */
/* a finding when collections take more than this share of wall time ... */
#define GC_FINDING_SHARE 0.02
/* ... or a gen-2 pause lasts longer than this */
#define GC_FINDING_GEN2_NS 50000000ULL
/* evidence needed for the wall-share finding: short-lived processes spend their few
 * milliseconds of life partly in the collections at exit */
#define GC_FINDING_MIN_NS 10000000ULL
/* every GC finding also needs the process observed this long and this many collections seen:
 * a process watched for a moment shows only its start-up (or exit) collections */
#define GC_FINDING_MIN_OBSERVED_S 2.0
#define GC_FINDING_MIN_COLLECTIONS 3
#define REP_GC_FINDINGS 2

struct rep_gc_gen {
	uint64_t count, total_ns, max_ns, collected;
	double per_second;
	uint64_t p50_le_ns, p99_le_ns; /* log2-bucket upper bounds, capped at max_ns */
};

struct rep_gc {
	char source[GC_SOURCE_LEN]; /* "usdt", "uprobe", "none: <reason>" */
	bool has_stats;
	struct rep_gc_gen gen[GC_GENS];
	unsigned long long lat[GC_GENS][GC_LAT_SLOTS]; /* pause ns, log2 slots (for metrics) */
	uint64_t total_ns, collected, no_collection;
	double wall_share;
	struct gc_pause top[GC_TOP_N]; /* longest first */
	int ntop;
	bool imports_traced;
	uint64_t nimports, imports_ns;
	struct gc_import *imports; /* longest first */
	size_t nimp;
	const char *finding_kind[REP_GC_FINDINGS]; /* "gc-time", "gc-long-pause" */
	char findings[REP_GC_FINDINGS][1024];
	int nfindings;
	/* "" or why a finding the numbers suggest was not raised (too little evidence) */
	char withheld[192];
};

struct json;
struct querystats;
/* ---- database queries (user/model/report_queries.c, data from user/collect/queries.c) ---- */
#define REP_TOP_QUERIES 5
/* Attach the queries to a built report; a process with SQLite queries has its pread64 reads of
 * files attributed to them (no "unbatched reads" finding for those). */
void report_add_queries(struct report *r, const struct querystats *qs);
void report_print_queries_text(const struct report *r, const struct rep_proc *rp, FILE *f);
void report_print_queries_json(const struct report *r, const struct rep_proc *rp,
			       struct json *j);
void report_print_queries_findings_json(const struct report *r, const struct rep_proc *rp,
					struct json *j);

/* Add the GC collector's data to a built report (per process, matched by PID). */
int report_add_gc(struct report *r, const struct gc_snapshot *gs);
void report_free_gc(struct rep_proc *rp);
void report_print_gc_text(const struct rep_proc *rp, FILE *f);
void report_print_gc_health_text(const struct report *r, FILE *f, int verbosity);
void report_print_gc_json(const struct rep_proc *rp, struct json *j);
void report_print_gc_findings_json(const struct rep_proc *rp, struct json *j);
void report_print_gc_health_json(const struct report *r, struct json *j);

#endif
