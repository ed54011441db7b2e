/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Queries aggregated per (process, normalised statement, call site, enclosing function), and
 * the N+1 finding: one call site running the same statement many times within one call of the
 * function that encloses it.
 *
 * The call site is the innermost Python frame when the query ran (the function that called
 * the driver), the parent its caller. Calls are followed per thread and stack depth from the
 * sequence of queries alone (no entry probes): the call of the function at some depth ends
 * when another function is seen there, when a query comes from a shallower stack, or when
 * the function's line returns to (or before) the line of its call's first query after having
 * gone further -- the next call's first query, such as the "1" that loads the rows. Queries
 * with identical stacks cannot be told apart into calls, so a repeat counts towards an N+1
 * only when its parent's call was seen to start with a query at another line of the parent
 * (the "1"): a view running one query per request is never taken for a loop, and a loop in a
 * function that issued no other query first is not reported. */
#ifndef PYHOUND_QUERYSTATS_H
#define PYHOUND_QUERYSTATS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/profile.h"

#define QS_HIST_SLOTS 40     /* log2 ns (include/hist.h) */
#define QS_MAX_ENTRIES 16384 /* rows kept; beyond, queries are counted in "entries_full" */
#define QS_MAX_N1 1024
#define QS_GROUP_ITEMS 64    /* distinct (statement, call site) followed per thread */
#define QS_N1_MIN 10	     /* repeats per call from one site that make an N+1 */

struct qs_site {
	const char *name, *file; /* interned; "" when unknown */
	int line, first_line;
};

struct qs_entry {
	pid_t pid;
	const char *stmt; /* normalised, interned */
	int lib;	  /* enum q_lib */
	struct qs_site site, parent;
	uint64_t count, total_ns, max_ns, rows, errors;
	double est; /* count estimated over the run (querystats_set_scale; = count unwindowed) */
	unsigned long long hist[QS_HIST_SLOTS];
};

struct qs_n1 {
	pid_t pid;
	const char *stmt;
	struct qs_site site, parent;
	uint64_t parent_calls;		/* calls of parent in which site repeated stmt >= min,
					 * seen whole (from their start to their end) */
	uint64_t cut_calls;		/* more, seen from their start to a window's end */
	uint64_t cut_max_per_call;	/* the most repeats seen in one of those */
	uint64_t queries;		/* the repeated queries in all those calls */
	double est_queries;		/* queries estimated over the run */
	uint64_t min_per_call, max_per_call; /* of the calls seen whole */
	uint64_t query_ns;		/* their time in the library */
	uint64_t span_ns;		/* first query start to last query end, summed per call */
	uint64_t other_queries;		/* other queries in those calls (the "1") */
};

#define QS_MAX_FOLDED 64 /* commands whose forgotten processes are summed apart; then "other" */

/* what processes that were forgotten (serve ages exited ones out) counted, per command */
struct qs_folded {
	char comm[16];
	uint64_t procs, count, total_ns, rows, errors;
	uint64_t n1_queries; /* of their queries, run as an N+1 */
};

enum qs_counter {
	QS_ENTRIES_FULL = 0,
	QS_N1_FULL,
	QS_GROUP_FULL,
	QS_THREADS_RESET,
	QS_COUNTER_MAX,
};

/* Budget windows (user/collect/probe_window.h): queries seen only inside windows */
struct qs_coverage {
	bool windowed;	  /* budget < 100: counts are what the windows saw */
	double budget_pct;
	double wall_s, covered_s;
	int windows;
	double probe_cost_s; /* the probes' modelled cost */
	uint64_t cut;	     /* executions in progress when a window closed: not counted */
};

struct querystats;

struct querystats *querystats_new(unsigned int n1_min);
void querystats_free(struct querystats *qs);
/* One query. frames: innermost first (as walked), nframes may be 0 (stack not walked); depth:
 * the frames on the whole stack (>= nframes; 0 when unknown: no N+1 following). */
int querystats_add(struct querystats *qs, pid_t pid, pid_t tid, int lib, const char *stmt,
		   const struct prof_frame *frames, uint32_t nframes, uint32_t depth,
		   uint64_t start_ns, uint64_t dur_ns, uint64_t rows, bool error);
/* The index of the entry the last querystats_add counted in, -1 if none (entries full). */
int64_t querystats_last_entry(const struct querystats *qs);
/* Rows the library told after the query was added (libpq's PQntuples), for entry idx of pid
 * (from querystats_last_entry): false if that entry is gone. */
bool querystats_add_rows(struct querystats *qs, int64_t idx, pid_t pid, uint64_t rows);
/* Close every call in progress (at the end of a run, before reading the N+1 rows). */
void querystats_flush(struct querystats *qs);
/* A budget window ended: close every call in progress as cut (counted in cut_calls, not in
 * the per-call figures), and take the next query of each thread as the first of a window
 * (the calls on its stack may have started before: followed as partial, never an N+1). */
void querystats_cut(struct querystats *qs);
/* How the counts were seen; windowed: each entry's est is set by querystats_set_scale, else
 * est = count. */
void querystats_set_coverage(struct querystats *qs, const struct qs_coverage *c);
const struct qs_coverage *querystats_coverage(const struct querystats *qs);
/* pid's queries over the run per query seen (queries_run_scale): sets est of its rows. */
void querystats_set_scale(struct querystats *qs, pid_t pid, double scale);
/* Close the calls in progress of pid's threads (it exited): its N+1 rows are complete. */
void querystats_flush_pid(struct querystats *qs, pid_t pid);
/* Drop pid's rows, N+1 rows and threads, summing what it counted into the totals of its
 * command (comm; past QS_MAX_FOLDED commands, "other"). Entry indexes change. */
void querystats_forget(struct querystats *qs, pid_t pid, const char *comm);
/* The per-command totals of forgotten processes (the last one may be "other"). */
const struct qs_folded *querystats_folded(const struct querystats *qs, size_t *n);
/* The rows; valid until the next add or free. */
const struct qs_entry *querystats_entries(const struct querystats *qs, size_t *n);
const struct qs_n1 *querystats_n1(const struct querystats *qs, size_t *n);
uint64_t querystats_counter(const struct querystats *qs, enum qs_counter c);
const char *querystats_counter_name(enum qs_counter c);
/* The p-quantile (0..1) of an entry's times: the upper bound of its log2 slot, capped at max. */
uint64_t qs_entry_quantile(const struct qs_entry *e, double q);

#endif
