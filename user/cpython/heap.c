// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Heap census (see heap.h). Reads go through host/rmem.c; layouts come from cpython/heap_layout.c.
 *
 * Bytes per object follow sys.getsizeof: the collector's header and any pre-header, the basic size
 * plus ob_size items, and for lists, dicts and sets the storage they own (item array, keys and
 * values tables, hash table). An instance's attribute storage (its __dict__, or 3.11+ managed or
 * inline values) is counted with the instance, except a __dict__ the collector tracks itself (it
 * holds containers): that is counted once, as a dict of its own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cpython/debug_offsets.h"
#include "cpython/heap.h"
#include "cpython/heap_layout.h"
#include "host/elf.h"
#include "host/rmem.h"
#include "lib/hashidx.h"
#include "lib/log.h"

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

const char *heap_skip_name(int s)
{
	static const char *n[] = { "bad_type", "bad_name", "bad_size", "types_full" };

	return s >= 0 && s < HEAP_SKIP_MAX ? n[s] : "?";
}

const char *heap_stop_name(int s)
{
	static const char *n[] = { "complete", "list changed under the walk",
				   "implausible link", "node unreadable", "loop",
				   "reached another list", "object limit" };

	return s >= 0 && s < HEAP_STOP_MAX ? n[s] : "?";
}

static bool plausible(uint64_t a)
{
	return a >= USER_MIN && a < USER_TOP && !(a & 7);
}

static uint64_t u64at(const uint8_t *b, int64_t off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

static int rd(struct walker *w, uint64_t addr, void *buf, size_t len)
{
	return rmem_read(w->m, addr, buf, len);
}

static int rd64(struct walker *w, uint64_t addr, uint64_t *v)
{
	return rd(w, addr, v, 8);
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- names ---- */

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static size_t put_utf8(char *out, size_t cap, size_t n, uint32_t c)
{
	char b[4];
	size_t k;

	if (c < 0x80) {
		b[0] = (char)c;
		k = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		k = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		k = 4;
	}
	if (n + k >= cap)
		return 0;
	memcpy(out + n, b, k);
	return k;
}

/* A str object at addr into out as printable UTF-8: 0, or -1 (not a compact str, too long,
 * unreadable, or holding control characters). */
static int read_str(struct walker *w, uint64_t addr, char *out, size_t cap)
{
	const struct py_heap_layout *L = w->L;
	uint8_t hdr[80], raw[4 * 128];
	uint64_t len;
	unsigned state, kind;
	int64_t data;
	size_t n = 0;

	if (!plausible(addr) || rd(w, addr, hdr, (size_t)L->unicode_compact_data) ||
	    u64at(hdr, L->ob_type) != w->t_unicode)
		return -1;
	len = u64at(hdr, L->unicode_length);
	state = hdr[L->unicode_state]; /* the low byte: the rest may be padding */
	kind = (state >> 2) & 7;
	if (!(state & 0x20) || len >= cap || len > 128 || (kind != 1 && kind != 2 && kind != 4))
		return -1;
	data = (state & 0x40) ? L->unicode_ascii_data : L->unicode_compact_data;
	if (len && rd(w, addr + (uint64_t)data, raw, len * kind))
		return -1;
	for (uint64_t i = 0; i < len; i++) {
		uint32_t c = kind == 1 ? raw[i] : kind == 2 ? (uint32_t)(raw[2 * i] | raw[2 * i + 1] << 8)
			     : (uint32_t)(raw[4 * i] | raw[4 * i + 1] << 8 | raw[4 * i + 2] << 16 |
					  (uint32_t)raw[4 * i + 3] << 24);
		size_t k;

		if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || (c >= 0xd800 && c < 0xe000) ||
		    c > 0x10ffff)
			return -1;
		k = put_utf8(out, cap, n, c);
		if (!k)
			return -1;
		n += k;
	}
	out[n] = 0;
	return 0;
}

/* A C string (tp_name) into out: 0 or -1. */
static int read_cstr(struct walker *w, uint64_t addr, char *out, size_t cap)
{
	size_t n = 0;

	if (!plausible(addr & ~7ull) || addr < USER_MIN)
		return -1;
	while (n < cap - 1) {
		size_t chunk = 32 - (addr + n) % 32; /* never read past a 32-byte boundary needlessly */

		if (chunk > cap - 1 - n)
			chunk = cap - 1 - n;
		if (rd(w, addr + n, out + n, chunk))
			return -1;
		for (size_t i = 0; i < chunk; i++)
			if (!out[n + i]) {
				n += i;
				out[n] = 0;
				return n && printable_ascii(out) ? 0 : -1;
			}
		n += chunk;
	}
	return -1;
}

/* ---- dicts ---- */

struct keysinfo {
	uint64_t size;	  /* slots in the hash table */
	uint64_t usable_frac, nentries, usable, refcnt;
	uint64_t bytes;	  /* the keys object's allocation */
	uint64_t entries; /* address of the entries array */
	uint64_t entry_size;
};

static int read_keys(struct walker *w, uint64_t keys, struct keysinfo *k)
{
	const struct py_heap_layout *L = w->L;
	uint8_t b[48];
	uint64_t ixbytes;

	if (!plausible(keys) || rd(w, keys, b, (size_t)L->keys_header))
		return -1;
	k->refcnt = u64at(b, L->keys_refcnt);
	k->usable = u64at(b, L->keys_usable);
	k->nentries = u64at(b, L->keys_nentries);
	if (L->keys_size != HL_NONE) { /* 3.8-3.10 */
		uint64_t s = u64at(b, L->keys_size);

		if (!s || s > (1ull << 31) || (s & (s - 1))) /* the empty keys: size 1 */
			return -1;
		k->size = s;
		ixbytes = s * (s <= 0xff ? 1 : s <= 0xffff ? 2 : s <= 0xffffffffull ? 4 : 8);
		k->entry_size = (uint64_t)L->keys_entry_size;
	} else {
		unsigned l2 = b[L->keys_log2_size], l2i = b[L->keys_log2_index_bytes];
		unsigned kind = b[L->keys_kind];

		if (l2 > 31 || l2i < l2 || l2i > l2 + 3 || kind > 2) /* the empty keys: size 1 */
			return -1;
		k->size = 1ull << l2;
		ixbytes = 1ull << l2i;
		k->entry_size = (uint64_t)(kind ? L->keys_unicode_entry_size : L->keys_entry_size);
	}
	k->usable_frac = (k->size << 1) / 3;
	if (k->usable > k->usable_frac || k->nentries > k->usable_frac ||
	    k->usable + k->nentries > k->usable_frac)
		return -1;
	k->entries = keys + (uint64_t)L->keys_header + ixbytes;
	k->bytes = (uint64_t)L->keys_header + ixbytes + k->usable_frac * k->entry_size;
	return 0;
}

/* Bytes of a split table's values array. 3.11/3.12 keep a prefix whose size is its last byte;
 * 3.13 a 8-byte header with the capacity. n: the values' capacity when known (3.11/3.12). */
static int values_bytes(struct walker *w, uint64_t values, uint64_t n, uint64_t *bytes,
			uint64_t *used)
{
	const struct py_heap_layout *L = w->L;
	uint8_t b[8];

	if (!plausible(values))
		return -1;
	if (L->values_capacity != HL_NONE) { /* 3.13 */
		uint64_t cap;

		if (rd(w, values, b, 8))
			return -1;
		cap = b[L->values_capacity];
		*bytes = ((cap + 7) & ~7ull) + (cap + 1) * 8;
		if (used)
			*used = b[L->values_size];
		return 0;
	}
	if (rd(w, values - 8, b, 8) || b[7] < 8 || b[7] % 8 || n > 255)
		return -1;
	*bytes = b[7] + n * 8;
	if (used)
		*used = 0;
	return 0;
}

/* Storage a dict owns beyond its object (keys when not shared, values when split; 3.13 values
 * embedded in an object are the object's). Also its length. */
static int dict_storage(struct walker *w, uint64_t keys, uint64_t values, uint64_t *bytes)
{
	struct keysinfo k;
	uint64_t vb = 0;

	*bytes = 0;
	if (read_keys(w, keys, &k))
		return -1;
	if (values) {
		if (w->L->values_capacity != HL_NONE) { /* 3.13: embedded values are the owner's */
			uint8_t b[8];

			if (!plausible(values) || rd(w, values, b, 8))
				return -1;
			if (!b[2] && values_bytes(w, values, 0, &vb, NULL))
				return -1;
		} else if (w->L->keys_size != HL_NONE) { /* 3.8-3.10: usable fraction, no prefix */
			vb = k.usable_frac * 8;
		} else if (values_bytes(w, values, k.usable + k.nentries, &vb, NULL)) {
			return -1;
		}
		*bytes = vb;
		return 0;
	}
	if (k.refcnt == 1)
		*bytes = k.bytes;
	return 0;
}

/* The whole size of the dict object at d (as sys.getsizeof): 0 or -1. tracked: the collector
 * tracks it (then it is counted on its own list). used: its length. */
static int dict_total(struct walker *w, uint64_t d, uint64_t *bytes, bool *tracked, uint64_t *used)
{
	const struct py_heap_layout *L = w->L;
	uint8_t b[16 + 48];
	uint64_t st;

	if (!plausible(d) || rd(w, d - (uint64_t)L->gc_head_size, b, sizeof(b)))
		return -1;
	if (u64at(b, 16 + L->ob_type) != w->t_dict) /* an instance __dict__ is an exact dict */
		return -1;
	*tracked = u64at(b, L->gc_head_next) != 0;
	*used = u64at(b, 16 + L->dict_used);
	if (*used > MAX_ITEMS ||
	    dict_storage(w, u64at(b, 16 + L->dict_keys), u64at(b, 16 + L->dict_values), &st))
		return -1;
	*bytes = (uint64_t)L->gc_head_size + (uint64_t)L->dict_size + st;
	return 0;
}

/* tp_dict["__module__"] of a class, as a string. */
static int class_module(struct walker *w, uint64_t tdict, char *out, size_t cap)
{
	const struct py_heap_layout *L = w->L;
	uint8_t b[48];
	struct keysinfo k;
	uint8_t *ents;
	uint64_t n, keyoff, valoff;
	int ret = -1;

	if (!plausible(tdict) || rd(w, tdict, b, 48) || u64at(b, L->ob_type) != w->t_dict ||
	    u64at(b, L->dict_values) || read_keys(w, u64at(b, L->dict_keys), &k))
		return -1;
	n = k.nentries < MAX_DICT_SCAN ? k.nentries : MAX_DICT_SCAN;
	if (!n)
		return -1;
	ents = malloc(n * k.entry_size);
	if (!ents || rd(w, k.entries, ents, n * k.entry_size))
		goto out;
	keyoff = k.entry_size == 24 ? 8 : 0; /* {hash, key, value} or {key, value} */
	valoff = keyoff + 8;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t key = u64at(ents, (int64_t)(i * k.entry_size + keyoff));
		char s[16];

		if (!key)
			continue;
		if (w->module_key ? key != w->module_key
				  : read_str(w, key, s, sizeof(s)) || strcmp(s, "__module__"))
			continue;
		w->module_key = key;
		ret = read_str(w, u64at(ents, (int64_t)(i * k.entry_size + valoff)), out, cap);
		break;
	}
out:
	free(ents);
	return ret;
}

/* ---- types ---- */

static bool is_type(struct walker *w, uint64_t t)
{
	const struct py_heap_layout *L = w->L;
	uint64_t meta, flags;

	/* t's type is `type`, or a metatype (a subclass of type) whose own type is `type` or, one
	 * level further, another metatype */
	for (int depth = 0; depth < 3; depth++) {
		if (!plausible(t) || rd64(w, t + (uint64_t)L->ob_type, &meta))
			return false;
		if (meta == w->t_type)
			return true;
		if (!plausible(meta) || rd64(w, meta + (uint64_t)L->tp_flags, &flags) ||
		    !(flags & (uint64_t)L->flag_type_subclass))
			return false;
		t = meta;
	}
	return false;
}

static int type_kind(struct walker *w, uint64_t t)
{
	for (int i = 0; i < 32 && plausible(t); i++) {
		if (t == w->t_gen || t == w->t_coro || t == w->t_agen)
			return K_GEN;
		if (t == w->t_list)
			return K_LIST;
		if (t == w->t_dict)
			return K_DICT;
		if (t == w->t_set || t == w->t_frozenset)
			return K_SET;
		if (rd64(w, t + (uint64_t)w->L->tp_base, &t))
			break;
	}
	return K_OTHER;
}

static void type_fill(struct walker *w, struct tinfo *ti)
{
	const struct py_heap_layout *L = w->L;
	uint8_t b[320];
	uint64_t t = ti->addr;
	char mod[HEAP_NAME_MAX], qual[HEAP_NAME_MAX];

	ti->skip = HEAP_SKIP_BAD_TYPE;
	if (!is_type(w, t) || rd(w, t, b, (size_t)L->tp_dictoffset + 8))
		return;
	ti->flags = u64at(b, L->tp_flags);
	ti->basicsize = (int64_t)u64at(b, L->tp_basicsize);
	ti->itemsize = (int64_t)u64at(b, L->tp_itemsize);
	ti->dictoffset = (int64_t)u64at(b, L->tp_dictoffset);
	if (!(ti->flags & (uint64_t)L->flag_have_gc))
		return;
	ti->skip = HEAP_SKIP_BAD_SIZE;
	if (ti->basicsize < 16 || (uint64_t)ti->basicsize > MAX_BASICSIZE || ti->itemsize < 0 ||
	    (uint64_t)ti->itemsize > MAX_ITEMSIZE ||
	    (ti->dictoffset > 0 && ti->dictoffset > ti->basicsize - 8))
		return;
	ti->preheader = (uint64_t)L->gc_head_size;
	if (L->flag_managed_dict != HL_NONE &&
	    (ti->flags & (uint64_t)(L->flag_managed_dict |
				    (L->flag_managed_weakref != HL_NONE ? L->flag_managed_weakref : 0))))
		ti->preheader += 16;
	ti->is_class = ti->flags & (uint64_t)L->flag_heaptype;
	ti->kind = type_kind(w, t);
	ti->skip = HEAP_SKIP_BAD_NAME;
	if (ti->is_class) {
		uint8_t h[16];

		if (rd(w, t + (uint64_t)L->ht_qualname, h, 16))
			return;
		if (L->ht_cached_keys != HL_NONE)
			ti->cached_keys = u64at(h, 8);
		if (!read_str(w, u64at(h, 0), qual, sizeof(qual))) {
			size_t ml = 0, ql = strlen(qual);

			if (!class_module(w, u64at(b, L->tp_dict), mod, sizeof(mod)) &&
			    strcmp(mod, "builtins") && strlen(mod) + ql + 2 <= sizeof(ti->name)) {
				ml = strlen(mod);
				memcpy(ti->name, mod, ml);
				ti->name[ml++] = '.';
			}
			memcpy(ti->name + ml, qual, ql + 1);
			ti->skip = -1;
			return;
		}
	}
	if (read_cstr(w, u64at(b, L->tp_name), ti->name, sizeof(ti->name)))
		return;
	ti->skip = -1;
}

static bool tinfo_eq(const void *ctx, uint32_t idx)
{
	const struct walker *w = ((const void *const *)ctx)[0];
	const uint64_t *addr = ((const void *const *)ctx)[1];

	return w->types[idx].addr == *addr;
}

static struct tinfo *type_get(struct walker *w, uint64_t t)
{
	const void *ctx[2] = { w, &t };
	uint32_t h = hash_u64(HASH_SEED, t);
	int64_t i = hashidx_find(&w->idx, h, tinfo_eq, ctx);
	struct tinfo *ti;

	if (i >= 0)
		return &w->types[i];
	if (w->ntypes >= w->max_types)
		return NULL;
	if (w->ntypes == w->cap_types) {
		size_t nc = w->cap_types ? 2 * w->cap_types : 256;
		struct tinfo *n = realloc(w->types, nc * sizeof(*n));

		if (!n)
			return NULL;
		w->types = n;
		w->cap_types = nc;
	}
	ti = &w->types[w->ntypes];
	memset(ti, 0, sizeof(*ti));
	ti->addr = t;
	if (hashidx_insert(&w->idx, h, (uint32_t)w->ntypes))
		return NULL;
	w->ntypes++;
	type_fill(w, ti);
	return ti;
}

/* ---- objects ---- */

static void top_add(struct heap_container *top, int *n, const struct heap_container *c)
{
	int i;

	if (*n == HEAP_TOP_CONTAINERS && top[*n - 1].bytes >= c->bytes)
		return;
	if (*n < HEAP_TOP_CONTAINERS)
		(*n)++;
	for (i = *n - 1; i > 0 && top[i - 1].bytes < c->bytes; i--)
		top[i] = top[i - 1];
	top[i] = *c;
}

/* Attribute storage of an instance o of ti (hdr: its GC header and first 48 bytes). bytes: what
 * is counted with the instance; sbytes: the storage, whoever it is counted with. */
static int instance_storage(struct walker *w, struct tinfo *ti, uint64_t o, const uint8_t *hdr,
			    uint64_t *bytes, uint64_t *sbytes, uint64_t *names, bool *has)
{
	const struct py_heap_layout *L = w->L;
	uint64_t d = 0, values = 0, vb = 0, db = 0, used = 0, nvals = 0;
	bool tracked = false;

	*bytes = *sbytes = *names = 0;
	*has = false;
	if (L->flag_managed_dict != HL_NONE && (ti->flags & (uint64_t)L->flag_managed_dict)) {
		uint64_t word;
		struct keysinfo k = { 0 };

		if (rd64(w, o + (uint64_t)L->managed_dict_offset, &word))
			return -1;
		if (L->managed_values_offset != HL_NONE) { /* 3.11: values and dict apart */
			d = word;
			if (rd64(w, o + (uint64_t)L->managed_values_offset, &values))
				return -1;
		} else if (L->managed_dict_tagged != HL_NONE) { /* 3.12: one tagged word */
			if (word & 1)
				values = word + 1;
			else
				d = word;
		} else { /* 3.13: the dict pointer; values inline after the object */
			d = word;
			if (L->flag_inline_values != HL_NONE &&
			    (ti->flags & (uint64_t)L->flag_inline_values))
				values = o + (uint64_t)ti->basicsize;
		}
		if (values) {
			if (L->values_capacity == HL_NONE) {
				if (read_keys(w, ti->cached_keys, &k))
					return -1;
				nvals = k.usable + k.nentries;
			}
			if (values_bytes(w, values, nvals, &vb, &used))
				return -1;
			if (L->values_capacity == HL_NONE)
				used = k.nentries;
		}
	} else if (ti->dictoffset) {
		int64_t off = ti->dictoffset;

		if (off < 0) { /* from the end of a variable-size object */
			int64_t n = (int64_t)u64at(hdr, 16 + L->ob_size);

			if (n < 0)
				n = -n;
			off += (ti->basicsize + n * ti->itemsize + 7) & ~7ll;
			if (off < 16)
				return -1;
		}
		if (rd64(w, o + (uint64_t)off, &d))
			return -1;
	} else {
		return 0;
	}
	if (d) {
		uint64_t dused;

		if (dict_total(w, d, &db, &tracked, &dused))
			return -1;
		if (!values)
			used = dused;
	}
	if (!d && !values)
		return 0;
	*has = true;
	*sbytes = vb + db;
	*bytes = vb + (tracked ? 0 : db);
	*names = used;
	return 0;
}

static void skip(struct walker *w, const struct tinfo *ti, uint64_t o, int why, const char *what,
		 uint64_t v1, uint64_t v2)
{
	w->pend_skip[why]++;
	pr_debug("heap: object at 0x%llx (%s) skipped, %s: %s %llu %llu", (unsigned long long)o,
		 ti && ti->skip < 0 ? ti->name : "?", heap_skip_name(why), what,
		 (unsigned long long)v1, (unsigned long long)v2);
}

static void count_object(struct walker *w, uint64_t o, const uint8_t *hdr)
{
	const struct py_heap_layout *L = w->L;
	struct tinfo *ti = type_get(w, u64at(hdr, 16 + L->ob_type));
	int64_t n = 0;
	uint64_t own, storage = 0, len = 0, ib, sb, names;
	bool has;

	if (!ti) {
		skip(w, NULL, o, HEAP_SKIP_TYPES_FULL, "types kept", w->ntypes, 0);
		return;
	}
	if (ti->skip >= 0) {
		skip(w, ti, o, ti->skip, "type at", ti->addr, 0);
		return;
	}
	/* 3.11+ generators and coroutines size their frame from the code object and have no
	 * ob_size: counted at their basic size (the frame's slots are not counted) */
	if (ti->itemsize && !(ti->kind == K_GEN && L->version_hex >= 0x030b0000)) {
		n = (int64_t)u64at(hdr, 16 + L->ob_size);
		if (n < 0)
			n = -n;
		if ((uint64_t)n > MAX_ITEMS) {
			skip(w, ti, o, HEAP_SKIP_BAD_SIZE, "ob_size", (uint64_t)n, 0);
			return;
		}
	}
	own = ti->preheader + (uint64_t)ti->basicsize + (uint64_t)n * (uint64_t)ti->itemsize;
	switch (ti->kind) {
	case K_LIST: {
		uint64_t alloc = u64at(hdr, 16 + L->list_allocated);

		len = u64at(hdr, 16 + L->ob_size);
		if (alloc > MAX_ITEMS || len > alloc) {
			skip(w, ti, o, HEAP_SKIP_BAD_SIZE, "list length, allocated", len, alloc);
			return;
		}
		storage = alloc * 8;
		break;
	}
	case K_DICT:
		len = u64at(hdr, 16 + L->dict_used);
		if (len > MAX_ITEMS || dict_storage(w, u64at(hdr, 16 + L->dict_keys),
						     u64at(hdr, 16 + L->dict_values), &storage)) {
			storage = 0;
			w->pend_unread++;
			pr_debug("heap: %s at 0x%llx: keys unreadable", ti->name, (unsigned long long)o);
		}
		break;
	case K_SET: {
		uint64_t mask = u64at(hdr, 16 + L->set_mask), table = u64at(hdr, 16 + L->set_table);

		len = u64at(hdr, 16 + L->set_mask - 8); /* used precedes mask */
		if (mask > MAX_ITEMS || ((mask + 1) & mask)) {
			skip(w, ti, o, HEAP_SKIP_BAD_SIZE, "set mask", mask, 0);
			return;
		}
		if (table != o + (uint64_t)L->set_smalltable)
			storage = (mask + 1) * (uint64_t)L->set_entry_size;
		break;
	}
	default:
		break;
	}
	if (ti->dictoffset || (L->flag_managed_dict != HL_NONE &&
			       (ti->flags & (uint64_t)L->flag_managed_dict))) {
		if (instance_storage(w, ti, o, hdr, &ib, &sb, &names, &has)) {
			w->pend_unread++;
			pr_debug("heap: %s at 0x%llx: attribute storage unreadable", ti->name,
				 (unsigned long long)o);
		} else if (has) {
			storage += ib;
			ti->pend.attr_count++;
			ti->pend.attr_bytes += sb;
			ti->pend.attr_names += names;
		}
	}
	if (own + storage > MAX_OBJ_BYTES) {
		skip(w, ti, o, HEAP_SKIP_BAD_SIZE, "bytes", own, storage);
		return;
	}
	ti->pend.count++;
	ti->pend.own_bytes += own;
	ti->pend.bytes += own + storage;
	if (ti->kind == K_LIST || ti->kind == K_DICT || ti->kind == K_SET) {
		struct heap_container c = { .addr = o, .len = len, .bytes = own + storage };

		snprintf(c.type, sizeof(c.type), "%s", ti->name);
		top_add(w->pend_top, &w->npend_top, &c);
	}
}

static void pending_reset(struct walker *w)
{
	for (size_t i = 0; i < w->ntypes; i++)
		memset(&w->types[i].pend, 0, sizeof(w->types[i].pend));
	memset(w->pend_skip, 0, sizeof(w->pend_skip));
	w->pend_unread = 0;
	w->npend_top = 0;
}

static void pending_commit(struct walker *w, struct heap_census *c)
{
	for (size_t i = 0; i < w->ntypes; i++) {
		struct heap_type_stat *s = &w->types[i].st, *p = &w->types[i].pend;

		s->count += p->count;
		s->bytes += p->bytes;
		s->own_bytes += p->own_bytes;
		s->attr_count += p->attr_count;
		s->attr_bytes += p->attr_bytes;
		s->attr_names += p->attr_names;
	}
	for (int i = 0; i < HEAP_SKIP_MAX; i++)
		c->skipped[i] += w->pend_skip[i];
	c->storage_unread += w->pend_unread;
	for (int i = 0; i < w->npend_top; i++)
		top_add(w->top, &w->ntop, &w->pend_top[i]);
	pending_reset(w);
}

static bool is_other_head(const struct walker *w, uint64_t g, uint64_t head)
{
	for (int i = 0; i < w->nheads; i++)
		if (w->heads[i] == g && g != head)
			return true;
	return false;
}

/* A node's GC header and its object's first 48 bytes. An object may end less than 48 bytes
 * before an unmapped page: then the header and as much as its type's basic size says it has. */
static int read_node(struct walker *w, uint64_t g, uint8_t *hdr, size_t len)
{
	const struct py_heap_layout *L = w->L;
	uint64_t head = (uint64_t)L->gc_head_size + 16, bs;
	int err = rd(w, g, hdr, len);
	struct tinfo *ti;

	if (err != -EFAULT)
		return err;
	if ((err = rd(w, g, hdr, head)))
		return err;
	memset(hdr + head, 0, len - head);
	ti = type_get(w, u64at(hdr, L->gc_head_size + L->ob_type));
	if (!ti || ti->skip >= 0)
		return 0; /* skipped by count_object, for its type */
	bs = (uint64_t)ti->basicsize + (uint64_t)L->gc_head_size;
	if (bs > len)
		bs = len;
	return bs > head ? rd(w, g + head, hdr + head, bs - head) : 0;
}

/* One walk of the list whose head (a PyGC_Head) is at head. Returns enum heap_stop, or -ESRCH. */
static int walk_list(struct walker *w, uint64_t head, uint64_t *objects)
{
	const struct py_heap_layout *L = w->L;
	uint64_t mask = ~((1ull << L->gc_prev_shift) - 1);
	uint64_t prev = head, cur, tortoise = head, power = 1, lam = 0;
	uint8_t hdr[16 + 48];
	int err;

	*objects = 0;
	if ((err = rd64(w, head + (uint64_t)L->gc_head_next, &cur)))
		return err == -ESRCH ? -ESRCH : HEAP_STOP_UNREADABLE;
	while (cur != head) {
		if (w->visited >= w->max_objects)
			return HEAP_STOP_LIMIT;
		if (!plausible(cur))
			return HEAP_STOP_BAD_POINTER;
		if (is_other_head(w, cur, head))
			return HEAP_STOP_OTHER_LIST;
		if (cur == tortoise)
			return HEAP_STOP_LOOP;
		if (power == lam) {
			tortoise = cur;
			power <<= 1;
			lam = 0;
		}
		lam++;
		err = read_node(w, cur, hdr, sizeof(hdr));
		if (err) {
			pr_debug("heap: node 0x%llx (after 0x%llx) unreadable: %s",
				 (unsigned long long)cur, (unsigned long long)prev, strerror(-err));
			return err == -ESRCH ? -ESRCH : HEAP_STOP_UNREADABLE;
		}
		if ((u64at(hdr, L->gc_head_prev) & mask) != prev)
			return HEAP_STOP_CHANGED;
		w->visited++;
		(*objects)++;
		count_object(w, cur + (uint64_t)L->gc_head_size, hdr);
		prev = cur;
		cur = u64at(hdr, L->gc_head_next);
	}
	return HEAP_STOP_DONE;
}

/* ---- set-up and checks ---- */

static int find_types(struct walker *w, const struct py_proc *p, char *why, size_t whylen)
{
	static const char *names[] = { "PyType_Type", "PyList_Type", "PyDict_Type",
				       "PySet_Type", "PyFrozenSet_Type", "PyUnicode_Type",
				       "PyGen_Type", "PyCoro_Type", "PyAsyncGen_Type" };
	uint64_t *dst[] = { &w->t_type, &w->t_list, &w->t_dict, &w->t_set, &w->t_frozenset,
			    &w->t_unicode, &w->t_gen, &w->t_coro, &w->t_agen };
	struct elf_file *ef = elf_open(p->obj_open_path);
	struct elf_sym sym;

	if (!ef) {
		snprintf(why, whylen, "cannot open %s: %s", p->obj_path, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (elf_find_symbol(ef, names[i], &sym)) {
			snprintf(why, whylen, "%s has no %s symbol", p->obj_path, names[i]);
			elf_close(ef);
			return -ENOTSUP;
		}
		*dst[i] = p->load_bias + sym.value;
	}
	elf_close(ef);
	return 0;
}

/* The built-in types' sizes as the table says: a wrong type layout fails here. */
static int check_types(struct walker *w, char *why, size_t whylen)
{
	const struct py_heap_layout *L = w->L;
	struct {
		const char *name;
		uint64_t t;
		int64_t size;
	} c[] = {
		{ "type", w->t_type, L->heaptype_size }, /* first: its items are slot descriptors */
		{ "list", w->t_list, L->list_size },
		{ "dict", w->t_dict, L->dict_size },
		{ "set", w->t_set, L->set_size },
	};
	uint64_t meta, bs, is;
	int err;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if ((err = rd64(w, c[i].t + (uint64_t)L->ob_type, &meta)) ||
		    (err = rd64(w, c[i].t + (uint64_t)L->tp_basicsize, &bs)) ||
		    (err = rd64(w, c[i].t + (uint64_t)L->tp_itemsize, &is))) {
			snprintf(why, whylen, "cannot read the %s type object: %s", c[i].name,
				 strerror(-err));
			return err == -ESRCH ? -ESRCH : -EPROTO;
		}
		if (meta != w->t_type || bs != (uint64_t)c[i].size || (i && is != 0)) {
			snprintf(why, whylen,
				 "layout check failed: the %s type reports basic size %llu, item size "
				 "%llu (expected %lld, 0)", c[i].name, (unsigned long long)bs,
				 (unsigned long long)is, (long long)c[i].size);
			return -EPROTO;
		}
	}
	return 0;
}

/* The collector's state of one interpreter (or 3.8's runtime) at gc: its lists' heads after a
 * check that generation0 points at the first generation's head. */
static int add_gc_state(struct walker *w, uint64_t gc, int interp, struct heap_census *c,
			char *why, size_t whylen)
{
	const struct py_heap_layout *L = w->L;
	uint64_t gen0, first = gc + (uint64_t)L->gc_generations;
	int err;

	if ((err = rd64(w, gc + (uint64_t)L->gc_generation0, &gen0))) {
		snprintf(why, whylen, "cannot read the collector's state: %s", strerror(-err));
		return err == -ESRCH ? -ESRCH : -EPROTO;
	}
	if (gen0 != first) {
		snprintf(why, whylen,
			 "layout check failed: generation0 is 0x%llx, expected the first "
			 "generation's head at 0x%llx", (unsigned long long)gen0,
			 (unsigned long long)first);
		return -EPROTO;
	}
	for (int g = 0; g <= L->gc_num_generations && w->nheads < HEAP_MAX_LISTS; g++) {
		uint64_t h = g < L->gc_num_generations
				     ? first + (uint64_t)(g * L->gc_generation_size)
				     : gc + (uint64_t)L->gc_permanent;

		w->heads[w->nheads++] = h;
		c->lists[c->nlists].interp = interp;
		c->lists[c->nlists].gen = g;
		c->nlists++;
	}
	return 0;
}

static int check_debug_offsets(const struct py_proc *p, const struct py_heap_layout *L, char *why,
			       size_t whylen)
{
	struct py_debug_offsets d;
	struct elf_file *ef;
	char dwhy[192] = "";
	int err;

	if (p->minor < 13)
		return 0;
	ef = elf_open(p->obj_open_path);
	if (!ef) {
		snprintf(why, whylen, "cannot open %s", p->obj_path);
		return -EPROTO;
	}
	err = py_debug_offsets_read(ef, p->version_hex, &d, NULL, dwhy, sizeof(dwhy));
	elf_close(ef);
	if (err) {
		snprintf(why, whylen, "%s", dwhy);
		return err == -ENOTSUP ? -ENOTSUP : -EPROTO;
	}
	if (d.interp_gc != (uint64_t)L->gc_state || d.gc_collecting != (uint64_t)L->gc_collecting ||
	    d.runtime_interp_head != (uint64_t)L->runtime_interp_head ||
	    d.interp_next != (uint64_t)L->interp_next) {
		snprintf(why, whylen,
			 "layout check failed: the interpreter's _Py_DebugOffsets say gc at %llu, "
			 "collecting at %llu (the census expects %lld, %lld)",
			 (unsigned long long)d.interp_gc, (unsigned long long)d.gc_collecting,
			 (long long)L->gc_state, (long long)L->gc_collecting);
		return -EPROTO;
	}
	return 0;
}

static int collect_heads(struct walker *w, const struct py_proc *p, struct heap_census *c,
			 char *why, size_t whylen)
{
	const struct py_heap_layout *L = w->L;
	uint64_t interp;
	int err, n = 0;

	if (L->gc_in_runtime == 1)
		return add_gc_state(w, p->runtime_addr + (uint64_t)L->gc_state, 0, c, why, whylen);
	if ((err = rd64(w, p->runtime_addr + (uint64_t)L->runtime_interp_head, &interp)))
		goto unreadable;
	if (!plausible(interp)) {
		snprintf(why, whylen, "no interpreter yet (interpreters.head is 0x%llx)",
			 (unsigned long long)interp);
		return -EPROTO;
	}
	for (; interp && n < MAX_INTERPS; n++) {
		if (!plausible(interp)) {
			snprintf(why, whylen, "implausible interpreter pointer 0x%llx",
				 (unsigned long long)interp);
			return -EPROTO;
		}
		err = add_gc_state(w, interp + (uint64_t)L->gc_state, n, c, why, whylen);
		if (err)
			return err;
		if ((err = rd64(w, interp + (uint64_t)L->interp_next, &interp)))
			goto unreadable;
	}
	return 0;
unreadable:
	snprintf(why, whylen, "cannot read the runtime: %s", strerror(-err));
	return err == -ESRCH ? -ESRCH : -EPROTO;
}

/* ---- results ---- */

static int stat_cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct heap_type_stat *)a)->name,
		      ((const struct heap_type_stat *)b)->name);
}

static int stat_cmp_bytes(const void *a, const void *b)
{
	const struct heap_type_stat *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int export_types(struct walker *w, struct heap_census *c)
{
	size_t n = 0;

	c->types = calloc(w->ntypes ? w->ntypes : 1, sizeof(*c->types));
	if (!c->types)
		return -ENOMEM;
	for (size_t i = 0; i < w->ntypes; i++) {
		if (w->types[i].skip >= 0 || !w->types[i].st.count)
			continue;
		c->types[n] = w->types[i].st;
		snprintf(c->types[n].name, sizeof(c->types[n].name), "%s", w->types[i].name);
		c->types[n].is_class = w->types[i].is_class;
		n++;
	}
	/* classes of the same name (a module reloaded, a class made in a loop) in one row */
	qsort(c->types, n, sizeof(*c->types), stat_cmp_name);
	c->ntypes = 0;
	for (size_t i = 0; i < n; i++) {
		struct heap_type_stat *d = &c->types[c->ntypes];

		if (c->ntypes && !strcmp(d[-1].name, c->types[i].name)) {
			d[-1].count += c->types[i].count;
			d[-1].bytes += c->types[i].bytes;
			d[-1].own_bytes += c->types[i].own_bytes;
			d[-1].attr_count += c->types[i].attr_count;
			d[-1].attr_bytes += c->types[i].attr_bytes;
			d[-1].attr_names += c->types[i].attr_names;
			continue;
		}
		*d = c->types[i];
		c->ntypes++;
	}
	qsort(c->types, c->ntypes, sizeof(*c->types), stat_cmp_bytes);
	for (size_t i = 0; i < c->ntypes; i++) {
		c->objects += c->types[i].count;
		c->bytes += c->types[i].bytes;
	}
	memcpy(c->top, w->top, sizeof(c->top));
	c->ntop = w->ntop;
	return 0;
}

const struct heap_type_stat *heap_census_find(const struct heap_census *c, const char *name)
{
	for (size_t i = 0; i < c->ntypes; i++)
		if (!strcmp(c->types[i].name, name))
			return &c->types[i];
	return NULL;
}

void heap_census_free(struct heap_census *c)
{
	free(c->types);
	c->types = NULL;
	c->ntypes = 0;
}

static bool collecting(struct walker *w, uint64_t head, int gen)
{
	const struct py_heap_layout *L = w->L;
	uint64_t gc = head - (uint64_t)(gen < L->gc_num_generations
						? L->gc_generations + gen * L->gc_generation_size
						: L->gc_permanent);
	int32_t v = 0;

	return !rd(w, gc + (uint64_t)L->gc_collecting, &v, 4) && v;
}

/* Before walking a list: wait while the collector runs (IDLE_WAIT s at most over the whole
 * census), since it relinks the lists and reuses the back links for reference counts; a retry
 * also backs off a little.
 * true when the collector was still running at the end of the wait. */
static bool wait_idle(struct walker *w, uint64_t head, int gen, int attempt)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	double start = now_mono(), end = start + w->wait_left;
	bool busy = false;

	if (attempt > 1) {
		struct timespec b = { 0, 20 * 1000 * 1000 * (long)attempt };

		nanosleep(&b, NULL);
	}
	while (collecting(w, head, gen)) {
		if (now_mono() >= end) {
			busy = true;
			break;
		}
		nanosleep(&ts, NULL);
	}
	w->wait_left -= now_mono() - start;
	if (w->wait_left < 0)
		w->wait_left = 0;
	return busy;
}

int heap_census_take(const struct py_proc *p, const struct heap_opts *o, struct heap_census *c,
		     char *why, size_t whylen)
{
	struct walker w = { 0 };
	struct timespec rt;
	double t0 = now_mono();
	int err;

	memset(c, 0, sizeof(*c));
	c->pid = p->pid;
	c->major = p->major;
	c->minor = p->minor;
	c->micro = p->micro;
	clock_gettime(CLOCK_REALTIME, &rt);
	c->started = rt.tv_sec + rt.tv_nsec / 1e9;
	w.L = py_heap_layout_for(p->major, p->minor);
	if (!w.L) {
		if (p->major == 3 && p->minor >= 14)
			snprintf(why, whylen,
				 "CPython 3.%d keeps objects in its incremental collector's lists, "
				 "which the heap census does not walk yet", p->minor);
		else
			snprintf(why, whylen, "CPython %d.%d is not supported by the heap census "
				 "(3.8-3.13 are)", p->major, p->minor);
		return -ENOTSUP;
	}
	if ((err = check_debug_offsets(p, w.L, why, whylen)))
		return err;
	if ((err = find_types(&w, p, why, whylen)))
		return err;
	w.m = rmem_open(p->pid, 4096);
	if (!w.m) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	hashidx_init(&w.idx);
	w.max_objects = o->max_objects ? o->max_objects : UINT64_MAX;
	w.wait_left = IDLE_WAIT;
	w.max_types = o->max_types ? o->max_types : DEFAULT_MAX_TYPES;
	if ((err = check_types(&w, why, whylen)) || (err = collect_heads(&w, p, c, why, whylen)))
		goto out;
	for (int i = 0; i < c->nlists && !c->truncated; i++) {
		struct heap_list_stat *ls = &c->lists[i];
		uint64_t n = 0;
		int stop = HEAP_STOP_DONE;

		for (ls->attempts = 0; ls->attempts < MAX_ATTEMPTS;) {
			uint64_t before = w.visited;

			ls->attempts++;
			if (wait_idle(&w, w.heads[i], ls->gen, ls->attempts))
				c->collecting_seen = true;
			rmem_flush(w.m);
			stop = walk_list(&w, w.heads[i], &n);
			if (stop < 0) {
				err = stop;
				snprintf(why, whylen, "process %d exited during the heap walk",
					 (int)p->pid);
				goto out;
			}
			if (stop == HEAP_STOP_DONE || stop == HEAP_STOP_LIMIT ||
			    ls->attempts == MAX_ATTEMPTS)
				break;
			w.visited = before; /* discarded: walk the list again */
			pending_reset(&w);
		}
		ls->objects = n;
		ls->stop = stop;
		if (stop == HEAP_STOP_LIMIT)
			c->truncated = true;
		pending_commit(&w, c);
	}
	err = export_types(&w, c);
	if (err)
		snprintf(why, whylen, "out of memory");
out:
	{
		struct rmem_stats rs;

		rmem_stats(w.m, &rs);
		c->reads = rs.reads;
		c->page_fetches = rs.page_fetches;
	}
	c->seconds = now_mono() - t0;
	rmem_close(w.m);
	hashidx_free(&w.idx);
	free(w.types);
	if (err)
		heap_census_free(c);
	return err;
}
