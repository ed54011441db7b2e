// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Heap census: what one object is (its type, checked, and name) and the storage it owns (dict
 * keys and values, instance attributes). Every read is bounded and every value checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpython/heap_walker.h"

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
	uint8_t hdr[HL_STR_PREFIX], raw[4 * 128];
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
int heap_dict_storage(struct walker *w, uint64_t keys, uint64_t values, uint64_t *bytes)
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
	uint8_t b[16 + HL_OBJ_PREFIX];
	uint64_t st;

	if (!plausible(d) || rd(w, d - (uint64_t)L->gc_head_size, b, sizeof(b)))
		return -1;
	if (u64at(b, 16 + L->ob_type) != w->t_dict) /* an instance __dict__ is an exact dict */
		return -1;
	*tracked = u64at(b, L->gc_head_next) != 0;
	*used = u64at(b, 16 + L->dict_used);
	if (*used > MAX_ITEMS ||
	    heap_dict_storage(w, u64at(b, 16 + L->dict_keys), u64at(b, 16 + L->dict_values), &st))
		return -1;
	*bytes = (uint64_t)L->gc_head_size + (uint64_t)L->dict_size + st;
	return 0;
}

/* The value under the str key name in the (combined) dict at d: 0 and *val, or -1. *cache
 * (may be NULL) remembers the key's address: interned names are shared, so later lookups
 * compare addresses only. */
int heap_dict_lookup_str(struct walker *w, uint64_t d, const char *name, uint64_t *cache,
			 uint64_t *val)
{
	const struct py_heap_layout *L = w->L;
	uint8_t b[HL_OBJ_PREFIX];
	struct keysinfo k;
	uint8_t *ents;
	uint64_t n, keyoff;
	int ret = -1;

	if (!plausible(d) || rd(w, d, b, sizeof(b)) || u64at(b, L->ob_type) != w->t_dict ||
	    u64at(b, L->dict_values) || read_keys(w, u64at(b, L->dict_keys), &k))
		return -1;
	n = k.nentries < MAX_DICT_SCAN ? k.nentries : MAX_DICT_SCAN;
	if (!n)
		return -1;
	ents = malloc(n * k.entry_size);
	if (!ents || rd(w, k.entries, ents, n * k.entry_size))
		goto out;
	keyoff = k.entry_size == 24 ? 8 : 0; /* {hash, key, value} or {key, value} */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t key = u64at(ents, (int64_t)(i * k.entry_size + keyoff));
		char s[64];

		if (!key)
			continue;
		if (cache && *cache ? key != *cache
				    : read_str(w, key, s, sizeof(s)) || strcmp(s, name))
			continue;
		if (cache)
			*cache = key;
		*val = u64at(ents, (int64_t)(i * k.entry_size + keyoff + 8));
		ret = 0;
		break;
	}
out:
	free(ents);
	return ret;
}

/* tp_dict["__module__"] of a class, as a string. */
static int class_module(struct walker *w, uint64_t tdict, char *out, size_t cap)
{
	uint64_t v;

	if (heap_dict_lookup_str(w, tdict, "__module__", &w->module_key, &v))
		return -1;
	return read_str(w, v, out, cap);
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
	uint8_t b[HL_TYPE_PREFIX];
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

struct tinfo *heap_type_get(struct walker *w, uint64_t t)
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

int heap_instance_storage(struct walker *w, struct tinfo *ti, uint64_t o, const uint8_t *hdr,
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
