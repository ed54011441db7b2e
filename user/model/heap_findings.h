/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What a heap census (or two) means: __slots__ candidates and types that grow. */
#ifndef PYHOUND_HEAP_FINDINGS_H
#define PYHOUND_HEAP_FINDINGS_H

#include <stdint.h>
#include "cpython/heap.h"

#define HEAP_SLOTS_MIN 100000 /* instances of one class before __slots__ is suggested */

struct heap_slots_finding {
	const struct heap_type_stat *t;
	uint64_t count;	     /* instances with their own attribute storage */
	uint64_t storage;    /* bytes of that storage */
	double attrs;	     /* attributes per instance (mean) */
	uint64_t now_each;   /* measured bytes per instance, storage included */
	uint64_t slots_each; /* the same instance with __slots__ for its attributes */
	uint64_t saving;     /* count * (now_each - slots_each) */
};

/* Classes with at least min instances keeping their own attribute storage, largest saving first.
 * Returns how many were written to out (at most cap). */
int heap_slots_findings(const struct heap_census *c, uint64_t min, struct heap_slots_finding *out,
			int cap);

struct heap_growth {
	char name[HEAP_NAME_MAX];
	uint64_t count0, count1, bytes0, bytes1;
};
/* Types of b whose bytes differ from a's, by growth in bytes (largest first); *out is allocated. */
int heap_diff(const struct heap_census *a, const struct heap_census *b, struct heap_growth **out,
	      size_t *n);
/* Does g count as steady growth (a finding)? At least 1 MiB and 10% more bytes, or 10,000 and
 * 10% more objects. */
bool heap_growth_is_finding(const struct heap_growth *g);

#endif
