/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The CPython layouts the heap census needs (the collector's generation lists, type, list, dict,
 * set and instance-attribute storage), per minor version 3.8-3.13, measured from each version's
 * headers by tests/offsets/heap_probe.c and checked against them by tests/unit/test_heap_layout.c. */
#ifndef PYHOUND_HEAP_LAYOUT_H
#define PYHOUND_HEAP_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* What the census reads at once: an object's first bytes after its GC header, a type object's,
 * a str's header. */
#define HL_OBJ_PREFIX 48
#define HL_TYPE_PREFIX 320
#define HL_STR_PREFIX 80

/* A field the version does not have. */
#define HL_NONE INT32_MIN

struct py_heap_layout {
	int64_t version_hex;
	int64_t runtime_interp_head;
	int64_t interp_next;
	int64_t gc_state;
	int64_t gc_in_runtime;
	int64_t gc_state_size;
	int64_t gc_generations;
	int64_t gc_generation_size;
	int64_t gc_generation_threshold;
	int64_t gc_generation_count;
	int64_t gc_num_generations;
	int64_t gc_generation0;
	int64_t gc_permanent;
	int64_t gc_collecting;
	int64_t gc_head_size;
	int64_t gc_head_next;
	int64_t gc_head_prev;
	int64_t gc_prev_shift;
	int64_t ob_type;
	int64_t ob_size;
	int64_t type_size;
	int64_t tp_name;
	int64_t tp_basicsize;
	int64_t tp_itemsize;
	int64_t tp_flags;
	int64_t tp_base;
	int64_t tp_dict;
	int64_t tp_dictoffset;
	int64_t heaptype_size;
	int64_t ht_qualname;
	int64_t flag_heaptype;
	int64_t flag_have_gc;
	int64_t flag_type_subclass;
	int64_t list_size;
	int64_t list_items;
	int64_t list_allocated;
	int64_t dict_size;
	int64_t dict_used;
	int64_t dict_keys;
	int64_t dict_values;
	int64_t keys_refcnt;
	int64_t keys_size;
	int64_t keys_usable;
	int64_t keys_nentries;
	int64_t keys_header;
	int64_t keys_entry_size;
	int64_t set_size;
	int64_t set_mask;
	int64_t set_table;
	int64_t set_smalltable;
	int64_t set_entry_size;
	int64_t unicode_length;
	int64_t unicode_state;
	int64_t unicode_ascii_data;
	int64_t unicode_compact_data;
	int64_t ht_cached_keys;
	int64_t flag_managed_dict;
	int64_t managed_dict_offset;
	int64_t managed_values_offset;
	int64_t keys_log2_size;
	int64_t keys_log2_index_bytes;
	int64_t keys_kind;
	int64_t keys_unicode_entry_size;
	int64_t managed_dict_tagged;
	int64_t flag_managed_weakref;
	int64_t flag_inline_values;
	int64_t values_capacity;
	int64_t values_size;
	int64_t values_array;
};

/* The layout for CPython major.minor (3.8-3.15), or NULL. */
const struct py_heap_layout *py_heap_layout_for(int major, int minor);

struct py_debug_offsets;

/* 3.13+: the census's layout for one interpreter. Every field the interpreter's own (checked)
 * _Py_DebugOffsets gives is taken from it; the rest come from base (measured), and only when
 * the table's size of the struct holding them is base's: a struct that changed refuses. Every
 * offset is bounded by what the census reads of an object. 0, or -EPROTO with one line in why. */
int py_heap_layout_resolve(const struct py_heap_layout *base, const struct py_debug_offsets *d,
			   struct py_heap_layout *out, char *why, size_t whylen);

/* Field names and offsets within struct py_heap_layout, for the layout test. */
struct py_heap_layout_field {
	const char *name;
	unsigned off;
};
extern const struct py_heap_layout_field py_heap_layout_fields[];
extern const unsigned py_heap_layout_nfields;

#endif
