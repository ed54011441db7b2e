/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Garbage-collector pauses per process and generation (aggregated in the kernel) and module
 * import times (one ring buffer record per import), shared by bpf/gc.bpf.c and userspace. */
#ifndef PYHOUND_GC_H
#define PYHOUND_GC_H

#define GC_GENS 3	   /* CPython 3.8-3.13 have three generations */
#define GC_LAT_SLOTS 40	   /* log2 of nanoseconds; last slot: >= 2^38 ns (~4.6 min) */
#define GC_TOP_N 16	   /* longest pauses kept per process, in the kernel */
#define GC_NEST 4	   /* collections in progress per thread (nesting is never expected) */
#define GC_MAX_PROCS 65536 /* hard cap on the per-process stats map */
#define IMP_NEST 16	   /* imports in progress per thread (an import imports others) */
#define IMP_NAME_LEN 96	   /* module name bytes kept, NUL included */
#define GC_USDT_SITES 8	   /* USDT sites attached per binary (gc + import; sid's 3.15: 5) */
#define GC_MAX_BINS 256	   /* distinct interpreter binaries attached */

#include "usdt_arg.h"

/* How the uprobe on the collection function learns the generation (the attach cookie). */
enum gc_gen_mode {
	/* generation is the 2nd argument: collect (3.8/3.9), gc_collect_main (3.10-3.13) */
	GC_MODE_ARG2 = 1,
	/* GCC's constant-propagated clones of 3.8's collect(): either (generation,
	 * n_collected, n_uncollectable) with the state argument dropped, or (n_collected,
	 * n_uncollectable, nofail) with generation fixed at 2. Told apart by value: the first
	 * argument is a generation (0..2) only in the first form, whose 2nd argument is never
	 * NULL. */
	GC_MODE_CLONE = 2,
	/* 3.13: invoke_gc_callback(interp, phase, generation, ...), probed to tell the
	 * collection in progress its generation */
	GC_MODE_FIX_ARG3 = 3,
	/* 3.13: gc_collect_main(tstate, generation, reason). Automatic calls pass -1 (it picks
	 * the generation itself, or none), and a call while a collection runs (a finalizer
	 * calling gc.collect()) returns at once without collecting. Both are settled by
	 * invoke_gc_callback, which runs at the start of every real collection except those
	 * at shutdown (reason 1), whose generation argument is taken as is. */
	GC_MODE_313 = 4,
};

#define GC_GEN_UNREAD (-2) /* a gc__start whose generation argument could not be read */
#define GC_REASON_SHUTDOWN_313 1 /* _Py_GC_REASON_SHUTDOWN in 3.13 */

/* Which probe a USDT site attached through a uprobe_multi link belongs to (see
 * struct gc_usdt_spec). */
enum gc_usdt_kind {
	GC_USDT_GC_START = 1,	  /* python:gc__start(int generation) */
	GC_USDT_GC_DONE,	  /* python:gc__done(long collected) */
	GC_USDT_IMPORT_START,	  /* python:import__find__load__start(char *name) */
	GC_USDT_IMPORT_DONE,	  /* python:import__find__load__done(char *name, int found) */
};

/* value of the gc_usdt_specs map: one USDT site of one binary, at index
 * bin * GC_USDT_SITES + site. The site's attach cookie is (gen << 32) | index: a slot
 * rewritten for another binary has another gen, so a hit on a link still being destroyed is
 * dropped rather than read with the wrong spec. */
struct gc_usdt_spec {
	unsigned int kind; /* enum gc_usdt_kind */
	unsigned int gen;
	struct usdt_arg args[USDT_MAX_ARGS];
};

/* a collection in the list of longest pauses */
struct gc_pause {
	unsigned long long ts_ns;  /* CLOCK_MONOTONIC at the start */
	unsigned long long dur_ns;
	unsigned int gen;
	unsigned int pad;
	unsigned long long collected; /* objects collected + uncollectable */
};

/* value of the gc_stats map, keyed by the process's PID */
struct gc_stats {
	unsigned long long count[GC_GENS];
	unsigned long long total_ns[GC_GENS];
	unsigned long long max_ns[GC_GENS];
	unsigned long long collected[GC_GENS]; /* objects found unreachable (collected +
						* uncollectable), as the interpreter returns */
	unsigned long long no_collection; /* 3.13 automatic calls that chose no generation */
	unsigned long long first_ts_ns, last_ts_ns;
	unsigned long long pad;
	unsigned long long lat[GC_GENS][GC_LAT_SLOTS]; /* pause ns, log2 slots (hist.h) */
	struct gc_pause top[GC_TOP_N];
};

enum gc_event_type {
	GC_EV_IMPORT = 1,
};

/* one module import finished (python:import__find__load__done) */
struct gc_import_event {
	unsigned int type; /* GC_EV_IMPORT */
	unsigned int pid;
	unsigned long long ts_ns; /* CLOCK_MONOTONIC at the start */
	unsigned long long dur_ns; /* includes the imports it triggered */
	unsigned int depth;	  /* imports in progress on this thread when it started */
	int found;		  /* the probe's 2nd argument: module found */
	char name[IMP_NAME_LEN];
};

enum gc_drop {
	GC_DROP_STATS_FULL = 0, /* gc_stats map full: a process's collections not counted */
	GC_DROP_NO_ENTRY,	/* end of a collection without its start (attached mid-call) */
	GC_DROP_NEST,		/* more than GC_NEST collections in progress on one thread */
	GC_DROP_EVENTS,		/* ring buffer full: an import record lost */
	GC_DROP_IMP_NO_ENTRY,	/* end of an import without its start */
	GC_DROP_IMP_NEST,	/* imports nested deeper than IMP_NEST */
	GC_DROP_USDT_ARG,	/* a USDT site's argument unreadable, or its spec stale */
	GC_DROP_MAX,
};

_Static_assert(sizeof(struct gc_pause) == 32, "gc_pause layout");
_Static_assert(sizeof(struct gc_stats) ==
		       8 * (4 * GC_GENS + 4 + GC_GENS * GC_LAT_SLOTS) + 32 * GC_TOP_N,
	       "gc_stats layout");
_Static_assert(sizeof(struct gc_usdt_spec) == 8 + 16 * USDT_MAX_ARGS, "usdt spec layout");
_Static_assert(sizeof(struct gc_import_event) == 32 + IMP_NAME_LEN, "import event layout");

#endif
