/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* An open-addressing hash index over entries kept by the caller in an array: the table stores
 * (hash, array index) pairs and the caller's eq callback compares an entry with the key. Used to
 * intern strings and to merge stacks, frames and tree nodes in the profile and its writers. */
#ifndef PYHOUND_HASHIDX_H
#define PYHOUND_HASHIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashidx_slot {
	uint32_t hash;
	uint32_t idx1; /* entry index + 1; 0 marks an empty slot */
};

struct hashidx {
	struct hashidx_slot *slots;
	size_t cap; /* power of two, or 0 before the first insert */
	size_t n;
};

/* Does entry idx equal the key the caller is looking for? */
typedef bool (*hashidx_eq_fn)(const void *ctx, uint32_t idx);

void hashidx_init(struct hashidx *h);
void hashidx_free(struct hashidx *h);
/* Index of the entry with this hash for which eq(ctx, idx) holds, or -1. */
int64_t hashidx_find(const struct hashidx *h, uint32_t hash, hashidx_eq_fn eq, const void *ctx);
/* Record entry idx under hash (no duplicate check). 0, -EOVERFLOW or -ENOMEM. */
int hashidx_insert(struct hashidx *h, uint32_t hash, uint32_t idx);

/* FNV-1a, continued from seed (start with HASH_SEED) */
#define HASH_SEED 2166136261u
uint32_t hash_bytes(uint32_t seed, const void *p, size_t n);
uint32_t hash_str(uint32_t seed, const char *s);
uint32_t hash_u64(uint32_t seed, uint64_t v);
uint32_t hash_ptr(uint32_t seed, const void *p);

#endif
