// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/hashidx.h"

#define HASHIDX_MIN_CAP 64

void hashidx_init(struct hashidx *h)
{
	memset(h, 0, sizeof(*h));
}

void hashidx_free(struct hashidx *h)
{
	free(h->slots);
	hashidx_init(h);
}

int64_t hashidx_find(const struct hashidx *h, uint32_t hash, hashidx_eq_fn eq, const void *ctx)
{
	size_t mask, i;

	if (!h->cap)
		return -1;
	mask = h->cap - 1;
	for (i = hash & mask;; i = (i + 1) & mask) {
		const struct hashidx_slot *s = &h->slots[i];

		if (!s->idx1)
			return -1;
		if (s->hash == hash && eq(ctx, s->idx1 - 1))
			return s->idx1 - 1;
	}
}

static void place(struct hashidx_slot *slots, size_t cap, uint32_t hash, uint32_t idx1)
{
	size_t mask = cap - 1, i;

	for (i = hash & mask; slots[i].idx1; i = (i + 1) & mask)
		;
	slots[i].hash = hash;
	slots[i].idx1 = idx1;
}

static int grow(struct hashidx *h)
{
	size_t ncap = h->cap ? h->cap * 2 : HASHIDX_MIN_CAP, i;
	struct hashidx_slot *ns;

	if (ncap > SIZE_MAX / sizeof(*ns))
		return -ENOMEM;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++)
		if (h->slots[i].idx1)
			place(ns, ncap, h->slots[i].hash, h->slots[i].idx1);
	free(h->slots);
	h->slots = ns;
	h->cap = ncap;
	return 0;
}

int hashidx_insert(struct hashidx *h, uint32_t hash, uint32_t idx)
{
	int err;

	if (idx >= UINT32_MAX)
		return -EOVERFLOW;
	/* keep the load factor at or under 1/2 so probe chains stay short */
	if ((h->n + 1) * 2 > h->cap) {
		err = grow(h);
		if (err)
			return err;
	}
	place(h->slots, h->cap, hash, idx + 1);
	h->n++;
	return 0;
}

uint32_t hash_bytes(uint32_t seed, const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = seed;

	while (n--) {
		h ^= *c++;
		h *= 16777619u;
	}
	return h;
}

uint32_t hash_str(uint32_t seed, const char *s)
{
	return hash_bytes(seed, s, strlen(s) + 1);
}

uint32_t hash_u64(uint32_t seed, uint64_t v)
{
	return hash_bytes(seed, &v, sizeof(v));
}

uint32_t hash_ptr(uint32_t seed, const void *p)
{
	return hash_u64(seed, (uint64_t)(uintptr_t)p);
}
