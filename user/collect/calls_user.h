/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The exact-call collector (bpf/calls.bpf.c): choose how each process's calls are seen, prove
 * and attach the probes per binary, read and name the counts. */
#ifndef PYHOUND_CALLS_USER_H
#define PYHOUND_CALLS_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "calls.h"
#include "host/discover.h"

struct calls_collector_opts {
	int tracked_fd;		  /* the tracker's tracked_pids map */
	unsigned int max_stats;	  /* (process, code object) entries (capped at CALLS_MAX_STATS) */
	unsigned int max_procs;
	bool counts_only;	  /* probe where calls start only: no latency, half the hits */
	bool usdt;		  /* the USDT probe function__return where the binary has it,
				   * before handler uprobes (on 3.11 this can harm the target) */
};

/* one (process, code object) with its name (resolved while the process lived) */
struct calls_entry {
	pid_t pid;
	uint64_t code;
	struct calls_stats s;
	char name[160], file[256];
	int first_line;
	unsigned int code_objects; /* summed into this entry (pyhound calls: one row per function) */
};

struct calls_snapshot {
	struct calls_entry *e;
	size_t n;
	uint64_t counters[CC_MAX];
};

struct calls_collector;

int calls_open(const struct calls_collector_opts *opts, struct calls_collector **out);
/* How `pyhound calls` would see this process's calls, without loading anything: the probe
 * sites proved as for attaching (cached per binary). enum calls_source, or 0 with why. */
int calls_probe_source(const struct py_proc *p, char *why, size_t whylen);
/* Register a process: choose its source (enum calls_source), prove its probe sites (once per
 * binary) and attach them if the collector is attached. 0, or -errno with why filled. */
int calls_add_process(struct calls_collector *c, const struct py_proc *p, char *why,
		      size_t whylen);
void calls_remove_process(struct calls_collector *c, pid_t pid);
/* The process exited: it leaves the kernel's process map; its counts and names stay. */
void calls_process_exited(struct calls_collector *c, pid_t pid);
/* Forget a process and, at the next calls_resolve(), its counts and names (serve's age-out).
 * 0 or -ENOMEM. */
int calls_purge_pid(struct calls_collector *c, pid_t pid);
/* The source chosen for pid (0 when not registered) and a description of its probes. */
int calls_source_of(const struct calls_collector *c, pid_t pid, char *desc, size_t desclen);
const char *calls_source_name(int source);
/* Attach / detach every known binary's probes (windows). A binary whose processes have all gone
 * is not attached again (its probes went with its last process); one that fails to attach
 * leaves only its own processes uncounted (warned once, see calls_failure_of()) and is tried
 * again at the next attach. */
int calls_attach(struct calls_collector *c);
/* Each process's CPU time inside windows, for rates over the whole run: read it when a window
 * opens (before attaching) and closes (after detaching); REFRESH only updates totals. */
enum calls_mark { CALLS_MARK_REFRESH, CALLS_MARK_OPEN, CALLS_MARK_CLOSE };
void calls_usage_mark(struct calls_collector *c, enum calls_mark what);

struct calls_usage {
	uint64_t hits;	     /* probe hits in the process */
	uint64_t cpu_ns;     /* its CPU time (every thread) since registered, as last read */
	uint64_t cpu_win_ns; /* of which inside windows (probe cost included) */
	uint64_t hits_win;   /* probe hits inside windows (the rest: while attaching) */
	bool exited;
};
int calls_proc_usage(const struct calls_collector *c, pid_t pid, struct calls_usage *u);

/* Why pid's calls are not being counted (its binary's probes failed): -errno with why, or 0. */
int calls_failure_of(const struct calls_collector *c, pid_t pid, char *why, size_t whylen);
/* Registered live processes whose probes did not fail. */
int calls_counting(const struct calls_collector *c);
void calls_detach(struct calls_collector *c);
bool calls_attached(const struct calls_collector *c);
/* Forget the shadow stacks (at a window start: calls begun before it are not paired). */
void calls_reset_shadow(struct calls_collector *c);
/* Take the names the probes copied, name what they could not while the processes live, and
 * drop purged processes' entries (call it every 100 ms or so). */
void calls_resolve(struct calls_collector *c);
/* probe hits in tracked processes so far, and the time their BPF programs took (ns) */
uint64_t calls_hits(struct calls_collector *c, uint64_t *bpf_ns);
int calls_snapshot(struct calls_collector *c, struct calls_snapshot *snap);
void calls_snapshot_free(struct calls_snapshot *snap);
const char *calls_counter_name(unsigned int i);
/* Time what the trap of one uprobe hit on an emulated branch costs here (the BPF program's own
 * time is counted per hit, CC_BPF_NS): pyhound probes a function of its own and calls it
 * 100,000 times with and without the probe. */
int calls_calibrate(struct calls_collector *c, double *ns_per_hit);
/* The same trap as seen in the CPU time of the process it traps in (0: not calibrated): a
 * process's CPU clock shows less than the wall time a hit costs it (measured here: 0.5 against
 * 1.7-3 us); rates over the run compare CPU times, so they take this one. */
double calls_trap_cpu_ns(const struct calls_collector *c);
void calls_free(struct calls_collector *c);
/* the loaded BPF object (for run-time statistics) */
struct bpf_object *calls_bpf_object(const struct calls_collector *c);

/* The p-th percentile (0..100) of a log2 histogram, as the upper bound of its slot (ns). */
uint64_t calls_hist_percentile(const __u64 *lat, unsigned int nslots, double p);

#endif
