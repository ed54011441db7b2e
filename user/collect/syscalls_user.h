/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The syscall and I/O batching collector (bpf/syscalls.bpf.c): load, attach, read. */
#ifndef PYHOUND_SYSCALLS_USER_H
#define PYHOUND_SYSCALLS_USER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "syscalls.h"

struct sc_collector_opts {
	int tracked_fd;		/* the tracker's tracked_pids map */
	unsigned int max_stats;	/* entries of each stats map (capped at SC_MAX_STATS) */
	/* syscalls in flight live in task storage: bounded by the number of threads */
};

struct sc_entry {
	struct sc_key key;
	struct sc_stats s;
};

struct io_entry {
	struct io_key key;
	struct io_stats s;
};

/* A copy of the kernel's aggregates at one moment. */
struct sc_snapshot {
	struct sc_entry *sc;
	size_t nsc;
	struct io_entry *io;
	size_t nio;
	uint64_t drops[SC_DROP_MAX];
	unsigned int max_stats;
	size_t kernel_nsc, kernel_nio; /* entries still in the kernel maps (live processes) */
	uint64_t retired_dropped;      /* exited processes' entries dropped at the bound */
};

struct sc_collector;

int sc_open(const struct sc_collector_opts *opts, struct sc_collector **out);
int sc_attach(struct sc_collector *c);
int sc_snapshot(struct sc_collector *c, struct sc_snapshot *snap);
void sc_snapshot_free(struct sc_snapshot *snap);
/* Forget everything recorded for pid (a process that turned out not to be CPython, or aged
 * out). The kernel maps are cleaned at the next sc_flush() (or snapshot). */
void sc_purge_pid(struct sc_collector *c, pid_t pid);
/* An exited (retired) process's syscalls and time in them so far. */
void sc_pid_totals(const struct sc_collector *c, pid_t pid, uint64_t *calls, uint64_t *ns);
void sc_free(struct sc_collector *c);
/* A process exited: move its entries out of the kernel maps (which then hold live processes
 * only) into userspace, where snapshots still include them until sc_purge_pid(). The retired
 * store is bounded by max_stats entries of each kind; the oldest go first, counted. */
int sc_retire_pid(struct sc_collector *c, pid_t pid);
/* Carry out queued retirements and purges: one batch read of each map, one batch delete. Cheap
 * when nothing is queued; call it from the poll loop. */
int sc_flush(struct sc_collector *c);
struct bpf_object *sc_bpf_object(const struct sc_collector *c);

/* Read/write family: is nr one whose return value is a byte count; is it a write. */
int sc_is_write(unsigned int nr);

#endif
