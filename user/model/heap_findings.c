// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/heap_findings.h"

/* An instance of a class with __slots__ naming its N attributes (and no __dict__ or
 * __weakref__): the collector's 16-byte header, the 16-byte object header, and one 8-byte
 * pointer per slot (CPython's layout on x86_64 for 3.8-3.13). */
#define SLOTS_FIXED 32
#define SLOT_SIZE 8

static int slots_cmp(const void *a, const void *b)
{
	const struct heap_slots_finding *x = a, *y = b;

	return x->saving == y->saving ? 0 : x->saving < y->saving ? 1 : -1;
}

int heap_slots_findings(const struct heap_census *c, uint64_t min, struct heap_slots_finding *out,
			int cap)
{
	int n = 0;

	for (size_t i = 0; i < c->ntypes && n < cap; i++) {
		const struct heap_type_stat *t = &c->types[i];
		struct heap_slots_finding f = { .t = t };
		uint64_t attrs_each;

		if (!t->is_class || t->attr_count < min || !t->count)
			continue;
		f.count = t->attr_count;
		f.storage = t->attr_bytes;
		f.attrs = (double)t->attr_names / (double)t->attr_count;
		attrs_each = (t->attr_names + t->attr_count - 1) / t->attr_count;
		f.now_each = (t->own_bytes + t->attr_bytes) / t->count;
		f.slots_each = SLOTS_FIXED + SLOT_SIZE * attrs_each;
		if (f.now_each <= f.slots_each)
			continue;
		f.saving = f.count * (f.now_each - f.slots_each);
		out[n++] = f;
	}
	qsort(out, (size_t)n, sizeof(*out), slots_cmp);
	return n;
}

static int growth_cmp(const void *a, const void *b)
{
	const struct heap_growth *x = a, *y = b;
	int64_t dx = (int64_t)(x->bytes1 - x->bytes0), dy = (int64_t)(y->bytes1 - y->bytes0);

	return dx == dy ? strcmp(x->name, y->name) : dx < dy ? 1 : -1;
}

int heap_diff(const struct heap_census *a, const struct heap_census *b, struct heap_growth **out,
	      size_t *n)
{
	struct heap_growth *g = calloc(a->ntypes + b->ntypes + 1, sizeof(*g));
	size_t k = 0;

	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < b->ntypes; i++) {
		const struct heap_type_stat *t = &b->types[i], *o = heap_census_find(a, t->name);

		snprintf(g[k].name, sizeof(g[k].name), "%s", t->name);
		g[k].count1 = t->count;
		g[k].bytes1 = t->bytes;
		if (o) {
			g[k].count0 = o->count;
			g[k].bytes0 = o->bytes;
		}
		if (g[k].bytes0 != g[k].bytes1 || g[k].count0 != g[k].count1)
			k++;
	}
	for (size_t i = 0; i < a->ntypes; i++) {
		if (heap_census_find(b, a->types[i].name))
			continue;
		snprintf(g[k].name, sizeof(g[k].name), "%s", a->types[i].name);
		g[k].count0 = a->types[i].count;
		g[k].bytes0 = a->types[i].bytes;
		k++;
	}
	qsort(g, k, sizeof(*g), growth_cmp);
	*out = g;
	*n = k;
	return 0;
}

bool heap_growth_is_finding(const struct heap_growth *g)
{
	if (g->bytes1 >= g->bytes0 + (1u << 20) && g->bytes1 - g->bytes0 >= g->bytes0 / 10)
		return true;
	return g->count1 >= g->count0 + 10000 && g->count1 - g->count0 >= g->count0 / 10;
}
