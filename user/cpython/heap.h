/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Heap census: walk, from outside and without stopping the process, every object CPython's cyclic
 * collector tracks (each generation's list, the permanent one included) and count objects and
 * bytes per type. Everything read is untrusted: pointers, types, names and sizes are checked before
 * use, every list walk is bounded and checked link by link (a node's back link must name the node
 * before it), and what could not be counted is counted by reason. */
#ifndef PYHOUND_HEAP_H
#define PYHOUND_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "host/discover.h"

#define HEAP_NAME_MAX 160
#define HEAP_MAX_LISTS 64     /* generation lists walked: 4 per interpreter */
#define HEAP_TOP_CONTAINERS 10 /* largest lists/dicts/sets kept per census */

/* Objects met on a list but not counted. */
enum heap_skip {
	HEAP_SKIP_BAD_TYPE,  /* ob_type is not a readable type (of `type` or a metatype) with GC */
	HEAP_SKIP_BAD_NAME,  /* the type's name is unreadable or not printable */
	HEAP_SKIP_BAD_SIZE,  /* size fields out of range */
	HEAP_SKIP_TYPES_FULL, /* more distinct types than the census keeps */
	HEAP_SKIP_MAX
};
/* Why a list's walk ended before its head. */
enum heap_stop {
	HEAP_STOP_DONE,	      /* back at the head: complete */
	HEAP_STOP_CHANGED,    /* a back link did not match: the list changed under the walk */
	HEAP_STOP_BAD_POINTER, /* a link was not a plausible user address */
	HEAP_STOP_UNREADABLE, /* a node could not be read (freed and unmapped) */
	HEAP_STOP_LOOP,	      /* a cycle that does not pass the head */
	HEAP_STOP_OTHER_LIST, /* the walk reached another generation's head */
	HEAP_STOP_LIMIT,      /* the object limit was reached */
	HEAP_STOP_MAX
};
const char *heap_skip_name(int skip);
const char *heap_stop_name(int stop);

struct heap_type_stat {
	char name[HEAP_NAME_MAX]; /* module-qualified for classes ("__main__.Point") */
	bool is_class;		  /* a heap type (defined in Python) */
	uint64_t count, bytes;	  /* objects, bytes (own size plus owned storage) */
	/* instances keeping attributes in their own storage (a __dict__, or 3.11+ managed or inline
	 * values): how many, the bytes of that storage, the attributes they hold (summed) */
	uint64_t attr_count, attr_bytes, attr_names;
	uint64_t own_bytes; /* bytes of the objects themselves (header, pre-header, basic size) */
};

struct heap_container {
	uint64_t addr;
	char type[HEAP_NAME_MAX];
	uint64_t len, bytes;
};

struct heap_list_stat {
	int interp, gen; /* gen 3 = the permanent generation (gc.freeze) */
	uint64_t objects;
	int attempts;
	int stop; /* enum heap_stop of the attempt kept */
};

struct heap_opts {
	uint64_t max_objects; /* bound on objects visited over the whole census */
	unsigned max_types;   /* distinct types kept */
};

struct heap_census {
	pid_t pid;
	int major, minor, micro;
	double started, seconds; /* CLOCK_REALTIME at the start, walk time */
	uint64_t objects, bytes;
	uint64_t skipped[HEAP_SKIP_MAX];
	uint64_t storage_unread; /* objects counted without storage that could not be read */
	bool truncated;		 /* the object limit stopped the census */
	bool collecting_seen;	 /* the collector was running during some walk */
	struct heap_list_stat lists[HEAP_MAX_LISTS];
	int nlists;
	struct heap_type_stat *types; /* merged by name, sorted by bytes, largest first */
	size_t ntypes;
	struct heap_container top[HEAP_TOP_CONTAINERS]; /* by bytes, largest first */
	int ntop;
	uint64_t reads, page_fetches;
};

/* Take a census of p. 0, or -errno with one line in why: -ENOTSUP (version or build not
 * supported, e.g. a 3.14 still running the incremental collector), -EPROTO (a layout check failed), -ESRCH (the
 * process exited), -EPERM/-EACCES (memory not readable), -ENOMEM. */
int heap_census_take(const struct py_proc *p, const struct heap_opts *o, struct heap_census *c,
		     char *why, size_t whylen);
void heap_census_free(struct heap_census *c);

/* The stat of name in c, or NULL. */
const struct heap_type_stat *heap_census_find(const struct heap_census *c, const char *name);

#endif
