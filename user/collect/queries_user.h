/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The queries collector (bpf/queries.bpf.c): database client libraries found in each tracked
 * process's mappings get uprobes once per library file (device, inode), for all processes;
 * queries come back with the Python stack that issued them and are aggregated in a querystats
 * (user/model/querystats.h).
 *
 *   queries_open(&opts, &q)            before tracker_start(); reuses tracked_pids
 *   tracker_add_hooks(t, &(queries_tracker_hooks(q)))
 *   queries_attach(q)                  the ring buffer
 *   loop: queries_poll(q, ms)          records, and a rescan of mappings every second
 *   queries_stats(q) at the end; queries_free(q). */
#ifndef PYHOUND_QUERIES_USER_H
#define PYHOUND_QUERIES_USER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "host/discover.h"
#include "host/tracker.h"
#include "collect/probe_window.h"
#include "model/querystats.h"
#include "../../include/queries.h"

struct queries_opts {
	int tracked_fd;		 /* the tracker's tracked_pids map */
	unsigned int max_procs;	 /* proc_info entries (<= Q_MAX_PROCS) */
	unsigned int max_active; /* SQLite statements executing at once (<= Q_MAX_ACTIVE) */
	unsigned int ringbuf_kb; /* default 4096 */
	unsigned int n1_min;	 /* repeats per call that make an N+1 (default QS_N1_MIN) */
};

/* a client library file seen in some process */
struct queries_lib {
	int lib; /* enum q_lib */
	uint64_t dev, ino;
	char path[PATH_MAX]; /* as the first process that mapped it sees it */
	pid_t first_pid;
	bool attached;
	int probes;
	bool rows; /* libpq: PGresult's ntups offset decoded from PQntuples */
	bool status_read; /* libpq: its resultStatus offset decoded from PQresultStatus */
	char status[192]; /* "attached: N probes", or "skipped: <reason>" */
};

enum queries_counter {
	QC_UNKNOWN_TEXT = 0, /* a query whose statement text was never seen (prepared earlier) */
	QC_TEXTS_RESET,	     /* the text table filled up and was cleared */
	QC_BAD_RECORDS,
	QC_UNKNOWN_FRAMES,
	QC_PROCS_REFUSED,    /* tracked processes whose stacks cannot be walked */
	QC_DRIVER_FRAMES,    /* driver/ORM frames left out of call sites (not a loss) */
	QC_CUT,		     /* executions in progress when a window closed: not counted */
	QC_WINDOW_ATTACH_FAILED, /* a library's probes could not go in at a window's start */
	QC_OUTSIDE_WINDOW,   /* executions started while probes went in or out: not counted */
	QC_COUNTER_MAX,
};

struct queries;

int queries_open(const struct queries_opts *opts, struct queries **out);
struct tracker_hooks queries_tracker_hooks(struct queries *q);
/* Register a process and attach to the libraries it has mapped. 0 or -errno (not walked). */
int queries_add_process(struct queries *q, const struct py_proc *p);
int queries_attach(struct queries *q);
int queries_poll(struct queries *q, int timeout_ms);
/* Look for libraries loaded since (dlopen of _sqlite3 at "import sqlite3"). */
void queries_rescan(struct queries *q);
struct querystats *queries_stats(struct queries *q);
/* A process aged out (serve): its rows go, summed per command (querystats_forget). */
void queries_forget(struct queries *q, pid_t pid, const char *comm);
const struct queries_lib *queries_libs(const struct queries *q, size_t *n);
void queries_bpf_stats(struct queries *q, uint64_t out[Q_STAT_MAX]);
uint64_t queries_counter(const struct queries *q, enum queries_counter c);
const char *queries_counter_name(enum queries_counter c);
const char *queries_bpf_stat_name(unsigned int s);
void queries_free(struct queries *q);
struct bpf_object *queries_bpf_object(const struct queries *q);

/* Budget windows (user/collect/probe_window.h drives them; without it every probe stays
 * attached). The probes of each execution go in and out; those of prepares stay, so that a
 * statement prepared between windows is named when it runs in one. At a close, executions in
 * progress are dropped and counted (cut_by_window_end) and the N+1 follower's calls in
 * progress closed as cut (querystats_cut). */
int queries_window_open(struct queries *q);
void queries_window_close(struct queries *q);
bool queries_window_is_open(const struct queries *q);
/* probe hits so far, every process, and what they cost beyond an entry trap each: the BPF
 * time (one run in 16 timed) and the return probes' costlier traps (calibrated) */
uint64_t queries_hits(struct queries *q, uint64_t *extra_ns);
/* A uprobe hit's trap here, measured on pyhound's own code. 0 or -errno. */
int queries_calibrate(struct queries *q, double *ns_per_hit);
/* How many queries pid ran over the run per query seen in windows: its CPU time over the run
 * per CPU-second of its own work inside windows (basis "cpu": the modelled CPU cost of the
 * probe hits its SQLite executions took -- calibrated trap CPU time + measured BPF time per
 * hit -- taken out, at most half); wall time over covered time when it ran under 1 ms of CPU
 * inside windows ("wall"). Hits the model misses (the reset before an execution, libpq's)
 * leave a process the probes slowed estimated somewhat low. */
double queries_run_scale(struct queries *q, pid_t pid, double wall_ns, double covered_ns,
			 const char **basis);
/* read the processes' CPU clocks now (queries_poll does it every second) */
void queries_refresh_usage(struct queries *q);

/* The client libraries pid has mapped, each checked for the probes' symbols (nothing is
 * attached): for pyhound list. status: "N probes can attach" or "skipped: <reason>". */
typedef void (*queries_lib_cb)(const char *path, int lib, bool usable, const char *status,
			       void *ctx);
void queries_list_libs(pid_t pid, queries_lib_cb cb, void *ctx);

/* PGresult's ntups offset from the code of libpq's PQntuples ("return res ? res->ntups : 0":
 * [endbr64] test %rdi,%rdi; je; mov disp(%rdi),%eax; ret), or -1 when it is anything else. */
int queries_pq_ntuples_offset(const uint8_t *code, size_t n);

/* 5 if code starts "mov $imm32,%edx; jmp rel32" (a wrapper such as libpq's PQsendQuery: its
 * probe goes on the jmp, which the kernel emulates, not the single-stepped mov), else 0. */
int queries_wrapper_skip(const uint8_t *code, size_t n);

/* Which library a mapped file is, from its file name: Q_LIB_SQLITE for libsqlite3.so*,
 * Q_LIB_PQ for libpq.so*, 0 otherwise. */
int queries_lib_kind(const char *path);

/* probe_window ops over a struct queries (ctx) */
extern const struct probe_window_ops queries_window_ops;
/* The coverage of the run so far (start: the window's start, now) into the querystats
 * (querystats_set_coverage) and, with estimate, each process's estimate (set_scale). */
void queries_set_coverage(struct queries *q, const struct probe_window *w, uint64_t start,
			  uint64_t now, bool estimate);

#endif
