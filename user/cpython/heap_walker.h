/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Inside the heap census (heap.c walks the lists, heap_objects.c reads one object: its type,
 * name and the storage it owns). Not for use outside user/cpython/heap*.c. */
#ifndef PYHOUND_HEAP_WALKER_H
#define PYHOUND_HEAP_WALKER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "cpython/heap.h"
#include "cpython/heap_layout.h"
#include "host/rmem.h"
#include "lib/hashidx.h"

#define USER_MIN 0x10000ull
#define USER_TOP 0x800000000000ull
#define MAX_BASICSIZE (1ull << 20)
#define MAX_ITEMSIZE (1ull << 12)
#define MAX_OBJ_BYTES (1ull << 40)
#define MAX_ITEMS (1ull << 36)
#define MAX_INTERPS 16
#define MAX_ATTEMPTS 5
#define IDLE_WAIT 0.5 /* seconds to wait for a running collection to end */
#define MAX_DICT_SCAN 4096 /* entries scanned for __module__ in a class dict */
#define DEFAULT_MAX_TYPES 65536

enum kind { K_OTHER, K_LIST, K_DICT, K_SET, K_GEN };

struct tinfo {
	uint64_t addr;
	int kind;
	int skip; /* -1 valid, else enum heap_skip */
	bool is_class;
	uint64_t flags;
	int64_t basicsize, itemsize, dictoffset;
	uint64_t cached_keys;
	uint64_t preheader; /* bytes before the object: GC header + managed pre-header */
	char name[HEAP_NAME_MAX];
	/* kept (committed) and pending (this list attempt) counts */
	struct heap_type_stat st, pend;
};

struct walker {
	const struct py_heap_layout *L;
	struct rmem *m;
	uint64_t t_type, t_list, t_dict, t_set, t_frozenset, t_unicode;
	uint64_t t_gen, t_coro, t_agen; /* 3.11+: variable size, but no ob_size field */
	uint64_t module_key; /* address of the interned "__module__" once seen */
	struct tinfo *types;
	size_t ntypes, cap_types, max_types;
	struct hashidx idx;
	uint64_t heads[HEAP_MAX_LISTS];
	int nheads;
	uint64_t visited, max_objects;
	double wait_left; /* seconds left to wait for running collections */
	uint64_t pend_skip[HEAP_SKIP_MAX], pend_unread;
	struct heap_container top[HEAP_TOP_CONTAINERS], pend_top[HEAP_TOP_CONTAINERS];
	int ntop, npend_top;
};

static inline bool plausible(uint64_t a)
{
	return a >= USER_MIN && a < USER_TOP && !(a & 7);
}

static inline uint64_t u64at(const uint8_t *b, int64_t off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

static inline int rd(struct walker *w, uint64_t addr, void *buf, size_t len)
{
	return rmem_read(w->m, addr, buf, len);
}

static inline int rd64(struct walker *w, uint64_t addr, uint64_t *v)
{
	return rd(w, addr, v, 8);
}

/* The type at t, read and checked the first time (its skip says why it cannot be counted), or
 * NULL when more types than the census keeps. */
struct tinfo *heap_type_get(struct walker *w, uint64_t t);
/* Storage a dict owns beyond its object (keys when not shared, values when split): 0 or -1. */
int heap_dict_storage(struct walker *w, uint64_t keys, uint64_t values, uint64_t *bytes);
/* The value under the str key name in the dict at d (checked as a dict, keys layout included):
 * 0 and *val, or -1. *cache (may be NULL) keeps the key's address for later lookups. */
int heap_dict_lookup_str(struct walker *w, uint64_t d, const char *name, uint64_t *cache,
			 uint64_t *val);
/* Attribute storage of an instance o of ti (hdr: its GC header and first 48 bytes): bytes
 * counted with the instance, the storage's bytes whoever counts it, attributes held, and whether
 * it has any. 0 or -1 (unreadable). */
int heap_instance_storage(struct walker *w, struct tinfo *ti, uint64_t o, const uint8_t *hdr,
			  uint64_t *bytes, uint64_t *sbytes, uint64_t *names, bool *has);

#endif
