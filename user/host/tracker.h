/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The set of CPython processes pyhound watches: found at start by scanning /proc, followed
 * through exec/fork/exit events (bpf/procwatch.bpf.c), mirrored into the tracked_pids BPF map
 * that every collector filters on.
 *
 * Lifecycle, shared by every command:
 *   tracker_open()            opens and loads procwatch: tracked_pids exists from here on
 *   collector_open(..., tracker_map_fd(t))   each collector reuses the map fd, then loads
 *   tracker_add_hooks()       collectors learn of processes as they come and go
 *   tracker_start()           attaches procwatch, scans /proc (hooks fire for each process)
 *   collector attach, then tracker_poll() in a loop
 */
#ifndef PYHOUND_TRACKER_H
#define PYHOUND_TRACKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "host/discover.h"

struct tracker_opts {
	bool follow;	      /* follow new processes (false when --pid narrows the set) */
	const pid_t *pids;    /* only these (npids > 0); each must be CPython or start fails */
	int npids;
	unsigned int max_procs; /* bound on tracked processes (BPF map size) */
};

struct tracked_proc {
	struct py_proc info;
	uint64_t seen_ns; /* CLOCK_MONOTONIC: when tracking started (pyhound start or exec) */
	uint64_t exit_ns; /* 0 while alive */
	bool exited;
	/* utime+stime in clock ticks when tracking started and when last read (at exit, or by
	 * tracker_read_cpu()); cpu_known when both reads worked */
	uint64_t cpu_ticks_seen, cpu_ticks_last;
	bool cpu_known;
	char unit[128];	      /* systemd unit from the cgroup path, "" if none */
	char container_id[65]; /* container id from the cgroup path, "" if none */
};

typedef void (*tracker_hook)(const struct tracked_proc *tp, void *ctx);
struct tracker_hooks {
	tracker_hook on_add;  /* a CPython process is now tracked */
	tracker_hook on_exit; /* it exited (its data stays until the tracker is freed) */
	tracker_hook on_reject; /* a pending process turned out not to be CPython: drop its data */
	tracker_hook on_forget; /* an exited process is aged out (serve): drop its data */
	void *ctx;
};

struct tracker_stats {
	uint64_t events, exec_seen, forks, exits;
	uint64_t rejected;	/* exec'd processes that were not CPython */
	uint64_t drop_events;	/* ring buffer full */
	uint64_t drop_full;	/* tracked_pids full */
	uint64_t inspect_failed; /* a process we could not inspect (e.g. permissions) */
	uint64_t seen;		 /* CPython processes tracked since start */
	uint64_t forgotten;	 /* exited processes aged out */
	uint64_t forgotten_over; /* of which for the bound on their number, before their age */
};

struct tracker;

int tracker_open(const struct tracker_opts *opts, struct tracker **out);
int tracker_map_fd(const struct tracker *t);
int tracker_add_hooks(struct tracker *t, const struct tracker_hooks *h);
int tracker_start(struct tracker *t);
/* Handle lifecycle events and classify pending processes; waits up to timeout_ms. */
int tracker_poll(struct tracker *t, int timeout_ms);
/* Iterate tracked (and exited) processes in order of discovery. */
typedef void (*tracker_iter)(const struct tracked_proc *tp, void *ctx);
void tracker_foreach(const struct tracker *t, tracker_iter cb, void *ctx);
/* Read the CPU time of every live tracked process now (cpu_ticks_last). */
void tracker_read_cpu(struct tracker *t);
const struct tracked_proc *tracker_find(const struct tracker *t, pid_t pid);
int tracker_count(const struct tracker *t);
void tracker_get_stats(const struct tracker *t, struct tracker_stats *s);
/* Forget processes that exited before cutoff_ns: on_forget hooks fire for each (collectors drop
 * their data). Returns how many were forgotten. */
int tracker_forget_exited(struct tracker *t, uint64_t cutoff_ns);
/* Forget the earliest exited processes while more than max_exited are kept (on_forget fires
 * for each). Returns how many were forgotten. */
int tracker_forget_over(struct tracker *t, unsigned int max_exited);
struct bpf_object *tracker_bpf_object(const struct tracker *t);
/* fd that becomes readable when lifecycle events wait (for the caller's own poll loop), and
 * how soon tracker_poll() should run again for pending processes (ms, -1: no hurry). */
int tracker_epoll_fd(const struct tracker *t);
int tracker_next_timeout(const struct tracker *t);
void tracker_free(struct tracker *t);

uint64_t now_ns(void); /* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */

#endif
