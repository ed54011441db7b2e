/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The GC pause and import-time collector (bpf/gc.bpf.c): load, attach per interpreter binary
 * as processes are found, read.
 *
 * Lifecycle (see tracker.h): gc_open() with the tracker's map fd, then tracker_add_hooks()
 * with gc_tracker_hooks(), gc_attach(), tracker_start(); poll with gc_poll() next to
 * tracker_poll(); gc_snapshot() at the end. Each distinct binary (by device and inode) holding
 * the interpreter gets its probes once, for all processes (pid -1): the USDT probes
 * python:gc__start/gc__done where the build has them, otherwise a uprobe + uretprobe on the
 * collection function from the symbol table. */
#ifndef PYHOUND_GC_USER_H
#define PYHOUND_GC_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "host/discover.h"
#include "gc.h"
#include "host/tracker.h"

#define GC_SOURCE_LEN 96
#define GC_IMPORTS_MAX 1024 /* hard cap on imports kept per process */

struct gc_collector_opts {
	int tracked_fd;		       /* the tracker's tracked_pids map */
	unsigned int max_procs;	       /* entries of the per-process stats map (<= GC_MAX_PROCS) */
	unsigned int max_threads;      /* threads with a collection or import in progress */
	unsigned int ringbuf_kb;       /* import records in flight (default 512 KiB) */
	unsigned int imports_per_proc; /* longest imports kept per process (default 32) */
	bool prefer_uprobes;	       /* the collection function's uprobes even where the GC
					  USDT probes exist (tests of builds that have both) */
};

struct gc_import {
	char name[IMP_NAME_LEN];
	uint64_t ts_ns, dur_ns;
	unsigned int depth; /* 0: a top-level import; n: imported while n others were loading */
	int found;
};

struct gc_proc_snap {
	pid_t pid;
	bool has_stats;	      /* at least one collection seen */
	struct gc_stats s;    /* zero when !has_stats */
	char source[GC_SOURCE_LEN]; /* "usdt", "uprobe", "none: <reason>" */
	bool imports_traced;  /* the binary has the import USDT probes and they are attached */
	uint64_t nimports;    /* imports seen */
	uint64_t imports_ns;  /* their total time, top-level imports only (no double counting) */
	struct gc_import *imports; /* the longest, longest first */
	size_t nimp;
};

struct gc_snapshot {
	struct gc_proc_snap *procs;
	size_t n;
	uint64_t drops[GC_DROP_MAX];
	unsigned int max_procs;
};

struct gc_collector;

int gc_open(const struct gc_collector_opts *opts, struct gc_collector **out);
/* Hooks for tracker_add_hooks(): on_add attaches to the process's binary if needed and
 * records its source; on_reject forgets a process that was not CPython. */
struct tracker_hooks gc_tracker_hooks(struct gc_collector *c);
/* Attach for one process now (what on_add does). 0 even when the source is "none: ..."
 * (the reason is kept); -errno only on failures that make the collector unusable. */
int gc_add_proc(struct gc_collector *c, const struct py_proc *p);
/* Set up the import record stream; call before tracker_start(). */
int gc_attach(struct gc_collector *c);
/* Read pending import records, waiting up to timeout_ms (0: do not wait). */
int gc_poll(struct gc_collector *c, int timeout_ms);
/* The source chosen for a process ("usdt", "uprobe", "none: ..."), NULL if never added. */
const char *gc_source(const struct gc_collector *c, pid_t pid);
int gc_snapshot(struct gc_collector *c, struct gc_snapshot *snap);
void gc_snapshot_free(struct gc_snapshot *snap);
const struct gc_proc_snap *gc_snapshot_find(const struct gc_snapshot *snap, pid_t pid);
/* A process exited: when it was its binary's last, the binary's probes are destroyed (they
 * pin the file and hold fds; a later process of the binary attaches them again). */
void gc_proc_exited(struct gc_collector *c, pid_t pid);
/* BPF links held now (all binaries). */
int gc_links(const struct gc_collector *c);
void gc_purge_pid(struct gc_collector *c, pid_t pid);
void gc_free(struct gc_collector *c);
struct bpf_object *gc_bpf_object(const struct gc_collector *c); /* for run-time statistics */

/* The collection function's symbol and how its generation is read, for a CPython minor
 * version and a symbol name; 0 and *mode set when the symbol is one pyhound can probe. */
int gc_symbol_mode(int minor, const char *name, int *mode);

#endif
