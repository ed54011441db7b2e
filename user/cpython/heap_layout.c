// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-version layouts for the heap census. 3.8-3.13: generated from tests/offsets/heap_probe.c's
 * output for the pyenv CPython 3.8-3.13 headers; tests/unit/test_heap_layout.c recompiles the
 * probe against each and compares every field. 3.14 and 3.15: measured from the DWARF of Debian
 * sid's python3.14d / python3.15d (gdb, the expressions in tests/unit/test_heap_layout.c, which
 * checks them), except what DWARF cannot say:
 *  - the type flags (Py_TPFLAGS_HEAPTYPE 1<<9, HAVE_GC 1<<14, TYPE_SUBCLASS 1<<31, MANAGED_DICT
 *    1<<4, MANAGED_WEAKREF 1<<3, INLINE_VALUES 1<<2: Include/object.h, unchanged since 3.13;
 *    a plain class's __flags__ reads 0x561c on all four sid builds, `type` has 1<<31);
 *  - the managed __dict__ pointer at -24 (MANAGED_DICT_OFFSET, 3 words before the object: a
 *    plain instance's word there is id(o.__dict__) on all four, read with ctypes);
 *  - _PyGC_PREV_SHIFT 2 (Include/internal/pycore_gc.h; the walk checks every back link).
 * Sid's 3.14 and 3.15 run the generational collector (the incremental one was reverted,
 * python/cpython#148726): generations[3] + permanent_generation, a 3.14 without the revert has
 * another struct _gc_runtime_state size and is refused by py_heap_layout_resolve.
 * At run time 3.13+ take every offset _Py_DebugOffsets has from the interpreter itself.
 * Absent fields are HL_NONE. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "cpython/debug_offsets.h"
#include "cpython/heap_layout.h"

static const struct py_heap_layout layout_38 = {
	.version_hex = 0x3080000,
	.runtime_interp_head = 32,
	.interp_next = 0,
	.gc_state = 344,
	.gc_in_runtime = 1,
	.gc_state_size = 240,
	.gc_generations = 24,
	.gc_generation_size = 24,
	.gc_generation_threshold = 16,
	.gc_generation_count = 20,
	.gc_num_generations = 3,
	.gc_generation0 = 96,
	.gc_permanent = 104,
	.gc_collecting = 200,
	.gc_head_size = 16,
	.gc_head_next = 0,
	.gc_head_prev = 8,
	.gc_prev_shift = 2,
	.ob_type = 8,
	.ob_size = 16,
	.type_size = 416,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_itemsize = 40,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dict = 264,
	.tp_dictoffset = 288,
	.heaptype_size = 880,
	.ht_qualname = 864,
	.flag_heaptype = 512,
	.flag_have_gc = 16384,
	.flag_type_subclass = 2147483648,
	.list_size = 40,
	.list_items = 24,
	.list_allocated = 32,
	.dict_size = 48,
	.dict_used = 16,
	.dict_keys = 32,
	.dict_values = 40,
	.keys_refcnt = 0,
	.keys_size = 8,
	.keys_usable = 24,
	.keys_nentries = 32,
	.keys_header = 40,
	.keys_entry_size = 24,
	.set_size = 200,
	.set_mask = 32,
	.set_table = 40,
	.set_smalltable = 64,
	.set_entry_size = 16,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 48,
	.unicode_compact_data = 72,
	.ht_cached_keys = HL_NONE,
	.flag_managed_dict = HL_NONE,
	.managed_dict_offset = HL_NONE,
	.managed_values_offset = HL_NONE,
	.keys_log2_size = HL_NONE,
	.keys_log2_index_bytes = HL_NONE,
	.keys_kind = HL_NONE,
	.keys_unicode_entry_size = HL_NONE,
	.managed_dict_tagged = HL_NONE,
	.flag_managed_weakref = HL_NONE,
	.flag_inline_values = HL_NONE,
	.values_capacity = HL_NONE,
	.values_size = HL_NONE,
	.values_array = HL_NONE,
};

static const struct py_heap_layout layout_39 = {
	.version_hex = 0x3090000,
	.runtime_interp_head = 32,
	.interp_next = 0,
	.gc_state = 616,
	.gc_in_runtime = 0,
	.gc_state_size = 240,
	.gc_generations = 24,
	.gc_generation_size = 24,
	.gc_generation_threshold = 16,
	.gc_generation_count = 20,
	.gc_num_generations = 3,
	.gc_generation0 = 96,
	.gc_permanent = 104,
	.gc_collecting = 200,
	.gc_head_size = 16,
	.gc_head_next = 0,
	.gc_head_prev = 8,
	.gc_prev_shift = 2,
	.ob_type = 8,
	.ob_size = 16,
	.type_size = 408,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_itemsize = 40,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dict = 264,
	.tp_dictoffset = 288,
	.heaptype_size = 880,
	.ht_qualname = 856,
	.flag_heaptype = 512,
	.flag_have_gc = 16384,
	.flag_type_subclass = 2147483648,
	.list_size = 40,
	.list_items = 24,
	.list_allocated = 32,
	.dict_size = 48,
	.dict_used = 16,
	.dict_keys = 32,
	.dict_values = 40,
	.keys_refcnt = 0,
	.keys_size = 8,
	.keys_usable = 24,
	.keys_nentries = 32,
	.keys_header = 40,
	.keys_entry_size = 24,
	.set_size = 200,
	.set_mask = 32,
	.set_table = 40,
	.set_smalltable = 64,
	.set_entry_size = 16,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 48,
	.unicode_compact_data = 72,
	.ht_cached_keys = HL_NONE,
	.flag_managed_dict = HL_NONE,
	.managed_dict_offset = HL_NONE,
	.managed_values_offset = HL_NONE,
	.keys_log2_size = HL_NONE,
	.keys_log2_index_bytes = HL_NONE,
	.keys_kind = HL_NONE,
	.keys_unicode_entry_size = HL_NONE,
	.managed_dict_tagged = HL_NONE,
	.flag_managed_weakref = HL_NONE,
	.flag_inline_values = HL_NONE,
	.values_capacity = HL_NONE,
	.values_size = HL_NONE,
	.values_array = HL_NONE,
};

static const struct py_heap_layout layout_310 = {
	.version_hex = 0x30a0000,
	.runtime_interp_head = 32,
	.interp_next = 0,
	.gc_state = 616,
	.gc_in_runtime = 0,
	.gc_state_size = 240,
	.gc_generations = 24,
	.gc_generation_size = 24,
	.gc_generation_threshold = 16,
	.gc_generation_count = 20,
	.gc_num_generations = 3,
	.gc_generation0 = 96,
	.gc_permanent = 104,
	.gc_collecting = 200,
	.gc_head_size = 16,
	.gc_head_next = 0,
	.gc_head_prev = 8,
	.gc_prev_shift = 2,
	.ob_type = 8,
	.ob_size = 16,
	.type_size = 408,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_itemsize = 40,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dict = 264,
	.tp_dictoffset = 288,
	.heaptype_size = 888,
	.ht_qualname = 864,
	.flag_heaptype = 512,
	.flag_have_gc = 16384,
	.flag_type_subclass = 2147483648,
	.list_size = 40,
	.list_items = 24,
	.list_allocated = 32,
	.dict_size = 48,
	.dict_used = 16,
	.dict_keys = 32,
	.dict_values = 40,
	.keys_refcnt = 0,
	.keys_size = 8,
	.keys_usable = 24,
	.keys_nentries = 32,
	.keys_header = 40,
	.keys_entry_size = 24,
	.set_size = 200,
	.set_mask = 32,
	.set_table = 40,
	.set_smalltable = 64,
	.set_entry_size = 16,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 48,
	.unicode_compact_data = 72,
	.ht_cached_keys = HL_NONE,
	.flag_managed_dict = HL_NONE,
	.managed_dict_offset = HL_NONE,
	.managed_values_offset = HL_NONE,
	.keys_log2_size = HL_NONE,
	.keys_log2_index_bytes = HL_NONE,
	.keys_kind = HL_NONE,
	.keys_unicode_entry_size = HL_NONE,
	.managed_dict_tagged = HL_NONE,
	.flag_managed_weakref = HL_NONE,
	.flag_inline_values = HL_NONE,
	.values_capacity = HL_NONE,
	.values_size = HL_NONE,
	.values_array = HL_NONE,
};

static const struct py_heap_layout layout_311 = {
	.version_hex = 0x30b0000,
	.runtime_interp_head = 40,
	.interp_next = 0,
	.gc_state = 648,
	.gc_in_runtime = 0,
	.gc_state_size = 240,
	.gc_generations = 24,
	.gc_generation_size = 24,
	.gc_generation_threshold = 16,
	.gc_generation_count = 20,
	.gc_num_generations = 3,
	.gc_generation0 = 96,
	.gc_permanent = 104,
	.gc_collecting = 200,
	.gc_head_size = 16,
	.gc_head_next = 0,
	.gc_head_prev = 8,
	.gc_prev_shift = 2,
	.ob_type = 8,
	.ob_size = 16,
	.type_size = 408,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_itemsize = 40,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dict = 264,
	.tp_dictoffset = 288,
	.heaptype_size = 904,
	.ht_qualname = 864,
	.flag_heaptype = 512,
	.flag_have_gc = 16384,
	.flag_type_subclass = 2147483648,
	.list_size = 40,
	.list_items = 24,
	.list_allocated = 32,
	.dict_size = 48,
	.dict_used = 16,
	.dict_keys = 32,
	.dict_values = 40,
	.keys_refcnt = 0,
	.keys_size = HL_NONE,
	.keys_usable = 16,
	.keys_nentries = 24,
	.keys_header = 32,
	.keys_entry_size = 24,
	.set_size = 200,
	.set_mask = 32,
	.set_table = 40,
	.set_smalltable = 64,
	.set_entry_size = 16,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 48,
	.unicode_compact_data = 72,
	.ht_cached_keys = 872,
	.flag_managed_dict = 16,
	.managed_dict_offset = -24,
	.managed_values_offset = -32,
	.keys_log2_size = 8,
	.keys_log2_index_bytes = 9,
	.keys_kind = 10,
	.keys_unicode_entry_size = 16,
	.managed_dict_tagged = HL_NONE,
	.flag_managed_weakref = HL_NONE,
	.flag_inline_values = HL_NONE,
	.values_capacity = HL_NONE,
	.values_size = HL_NONE,
	.values_array = HL_NONE,
};

static const struct py_heap_layout layout_312 = {
	.version_hex = 0x30c0000,
	.runtime_interp_head = 40,
	.interp_next = 0,
	.gc_state = 112,
	.gc_in_runtime = 0,
	.gc_state_size = 240,
	.gc_generations = 24,
	.gc_generation_size = 24,
	.gc_generation_threshold = 16,
	.gc_generation_count = 20,
	.gc_num_generations = 3,
	.gc_generation0 = 96,
	.gc_permanent = 104,
	.gc_collecting = 200,
	.gc_head_size = 16,
	.gc_head_next = 0,
	.gc_head_prev = 8,
	.gc_prev_shift = 2,
	.ob_type = 8,
	.ob_size = 16,
	.type_size = 416,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_itemsize = 40,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dict = 264,
	.tp_dictoffset = 288,
	.heaptype_size = 920,
	.ht_qualname = 872,
	.flag_heaptype = 512,
	.flag_have_gc = 16384,
	.flag_type_subclass = 2147483648,
	.list_size = 40,
	.list_items = 24,
	.list_allocated = 32,
	.dict_size = 48,
	.dict_used = 16,
	.dict_keys = 32,
	.dict_values = 40,
	.keys_refcnt = 0,
	.keys_size = HL_NONE,
	.keys_usable = 16,
	.keys_nentries = 24,
	.keys_header = 32,
	.keys_entry_size = 24,
	.set_size = 200,
	.set_mask = 32,
	.set_table = 40,
	.set_smalltable = 64,
	.set_entry_size = 16,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 40,
	.unicode_compact_data = 56,
	.ht_cached_keys = 880,
	.flag_managed_dict = 16,
	.managed_dict_offset = -24,
	.managed_values_offset = HL_NONE,
	.keys_log2_size = 8,
	.keys_log2_index_bytes = 9,
	.keys_kind = 10,
	.keys_unicode_entry_size = 16,
	.managed_dict_tagged = 1,
	.flag_managed_weakref = 8,
	.flag_inline_values = HL_NONE,
	.values_capacity = HL_NONE,
	.values_size = HL_NONE,
	.values_array = HL_NONE,
};

static const struct py_heap_layout layout_313 = {
	.version_hex = 0x30d0000,
	.runtime_interp_head = 632,
	.interp_next = 7264,
	.gc_state = 7400,
	.gc_in_runtime = 0,
	.gc_state_size = 240,
	.gc_generations = 24,
	.gc_generation_size = 24,
	.gc_generation_threshold = 16,
	.gc_generation_count = 20,
	.gc_num_generations = 3,
	.gc_generation0 = 96,
	.gc_permanent = 104,
	.gc_collecting = 200,
	.gc_head_size = 16,
	.gc_head_next = 0,
	.gc_head_prev = 8,
	.gc_prev_shift = 2,
	.ob_type = 8,
	.ob_size = 16,
	.type_size = 416,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_itemsize = 40,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dict = 264,
	.tp_dictoffset = 288,
	.heaptype_size = 928,
	.ht_qualname = 872,
	.flag_heaptype = 512,
	.flag_have_gc = 16384,
	.flag_type_subclass = 2147483648,
	.list_size = 40,
	.list_items = 24,
	.list_allocated = 32,
	.dict_size = 48,
	.dict_used = 16,
	.dict_keys = 32,
	.dict_values = 40,
	.keys_refcnt = 0,
	.keys_size = HL_NONE,
	.keys_usable = 16,
	.keys_nentries = 24,
	.keys_header = 32,
	.keys_entry_size = 24,
	.set_size = 200,
	.set_mask = 32,
	.set_table = 40,
	.set_smalltable = 64,
	.set_entry_size = 16,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 40,
	.unicode_compact_data = 56,
	.ht_cached_keys = 880,
	.flag_managed_dict = 16,
	.managed_dict_offset = -24,
	.managed_values_offset = HL_NONE,
	.keys_log2_size = 8,
	.keys_log2_index_bytes = 9,
	.keys_kind = 10,
	.keys_unicode_entry_size = 16,
	.managed_dict_tagged = HL_NONE,
	.flag_managed_weakref = 8,
	.flag_inline_values = 4,
	.values_capacity = 0,
	.values_size = 1,
	.values_array = 8,
};

static const struct py_heap_layout layout_314 = {
	.version_hex = 0x30e0000,
	.runtime_interp_head = 808,
	.interp_next = 7272,
	.gc_state = 7408,
	.gc_in_runtime = 0,
	.gc_state_size = 264,
	.gc_generations = 24,
	.gc_generation_size = 24,
	.gc_generation_threshold = 16,
	.gc_generation_count = 20,
	.gc_num_generations = 3,
	.gc_generation0 = 256,
	.gc_permanent = 96,
	.gc_collecting = 192,
	.gc_head_size = 16,
	.gc_head_next = 0,
	.gc_head_prev = 8,
	.gc_prev_shift = 2,
	.ob_type = 8,
	.ob_size = 16,
	.type_size = 416,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_itemsize = 40,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dict = 264,
	.tp_dictoffset = 288,
	.heaptype_size = 936,
	.ht_qualname = 872,
	.flag_heaptype = 512,
	.flag_have_gc = 16384,
	.flag_type_subclass = 2147483648,
	.list_size = 40,
	.list_items = 24,
	.list_allocated = 32,
	.dict_size = 48,
	.dict_used = 16,
	.dict_keys = 32,
	.dict_values = 40,
	.keys_refcnt = 0,
	.keys_size = HL_NONE,
	.keys_usable = 16,
	.keys_nentries = 24,
	.keys_header = 32,
	.keys_entry_size = 24,
	.set_size = 200,
	.set_mask = 32,
	.set_table = 40,
	.set_smalltable = 64,
	.set_entry_size = 16,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 40,
	.unicode_compact_data = 56,
	.ht_cached_keys = 880,
	.flag_managed_dict = 16,
	.managed_dict_offset = -24,
	.managed_values_offset = HL_NONE,
	.keys_log2_size = 8,
	.keys_log2_index_bytes = 9,
	.keys_kind = 10,
	.keys_unicode_entry_size = 16,
	.managed_dict_tagged = HL_NONE,
	.flag_managed_weakref = 8,
	.flag_inline_values = 4,
	.values_capacity = 0,
	.values_size = 1,
	.values_array = 8,
};

static const struct py_heap_layout layout_315 = {
	.version_hex = 0x30f0000,
	.runtime_interp_head = 936,
	.interp_next = 7264,
	.gc_state = 7400,
	.gc_in_runtime = 0,
	.gc_state_size = 176,
	.gc_generations = 8,
	.gc_generation_size = 24,
	.gc_generation_threshold = 16,
	.gc_generation_count = 20,
	.gc_num_generations = 3,
	.gc_generation0 = 168,
	.gc_permanent = 80,
	.gc_collecting = 112,
	.gc_head_size = 16,
	.gc_head_next = 0,
	.gc_head_prev = 8,
	.gc_prev_shift = 2,
	.ob_type = 8,
	.ob_size = 16,
	.type_size = 424,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_itemsize = 40,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dict = 264,
	.tp_dictoffset = 288,
	.heaptype_size = 944,
	.ht_qualname = 880,
	.flag_heaptype = 512,
	.flag_have_gc = 16384,
	.flag_type_subclass = 2147483648,
	.list_size = 40,
	.list_items = 24,
	.list_allocated = 32,
	.dict_size = 48,
	.dict_used = 16,
	.dict_keys = 32,
	.dict_values = 40,
	.keys_refcnt = 0,
	.keys_size = HL_NONE,
	.keys_usable = 16,
	.keys_nentries = 24,
	.keys_header = 32,
	.keys_entry_size = 24,
	.set_size = 200,
	.set_mask = 32,
	.set_table = 40,
	.set_smalltable = 64,
	.set_entry_size = 16,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 40,
	.unicode_compact_data = 56,
	.ht_cached_keys = 888,
	.flag_managed_dict = 16,
	.managed_dict_offset = -24,
	.managed_values_offset = HL_NONE,
	.keys_log2_size = 8,
	.keys_log2_index_bytes = 9,
	.keys_kind = 10,
	.keys_unicode_entry_size = 16,
	.managed_dict_tagged = HL_NONE,
	.flag_managed_weakref = 8,
	.flag_inline_values = 4,
	.values_capacity = 0,
	.values_size = 1,
	.values_array = 8,
};

const struct py_heap_layout *py_heap_layout_for(int major, int minor)
{
	if (major != 3)
		return NULL;
	switch (minor) {
	case 8: return &layout_38;
	case 9: return &layout_39;
	case 10: return &layout_310;
	case 11: return &layout_311;
	case 12: return &layout_312;
	case 13: return &layout_313;
	case 14: return &layout_314;
	case 15: return &layout_315;
	default: return NULL;
	}
}

#define F(n) { #n, offsetof(struct py_heap_layout, n) }
const struct py_heap_layout_field py_heap_layout_fields[] = {
	F(version_hex),
	F(runtime_interp_head),
	F(interp_next),
	F(gc_state),
	F(gc_in_runtime),
	F(gc_state_size),
	F(gc_generations),
	F(gc_generation_size),
	F(gc_generation_threshold),
	F(gc_generation_count),
	F(gc_num_generations),
	F(gc_generation0),
	F(gc_permanent),
	F(gc_collecting),
	F(gc_head_size),
	F(gc_head_next),
	F(gc_head_prev),
	F(gc_prev_shift),
	F(ob_type),
	F(ob_size),
	F(type_size),
	F(tp_name),
	F(tp_basicsize),
	F(tp_itemsize),
	F(tp_flags),
	F(tp_base),
	F(tp_dict),
	F(tp_dictoffset),
	F(heaptype_size),
	F(ht_qualname),
	F(flag_heaptype),
	F(flag_have_gc),
	F(flag_type_subclass),
	F(list_size),
	F(list_items),
	F(list_allocated),
	F(dict_size),
	F(dict_used),
	F(dict_keys),
	F(dict_values),
	F(keys_refcnt),
	F(keys_size),
	F(keys_usable),
	F(keys_nentries),
	F(keys_header),
	F(keys_entry_size),
	F(set_size),
	F(set_mask),
	F(set_table),
	F(set_smalltable),
	F(set_entry_size),
	F(unicode_length),
	F(unicode_state),
	F(unicode_ascii_data),
	F(unicode_compact_data),
	F(ht_cached_keys),
	F(flag_managed_dict),
	F(managed_dict_offset),
	F(managed_values_offset),
	F(keys_log2_size),
	F(keys_log2_index_bytes),
	F(keys_kind),
	F(keys_unicode_entry_size),
	F(managed_dict_tagged),
	F(flag_managed_weakref),
	F(flag_inline_values),
	F(values_capacity),
	F(values_size),
	F(values_array),
};
const unsigned py_heap_layout_nfields = sizeof(py_heap_layout_fields) / sizeof(py_heap_layout_fields[0]);

/* ---- 3.13+: the interpreter's own table over the measured layout ---- */

static int refuse(char *why, size_t whylen, const char *what, uint64_t got, int64_t want)
{
	snprintf(why, whylen, "layout check failed: the interpreter's _Py_DebugOffsets say %s is "
		 "%llu, the census's measured layout has %lld", what, (unsigned long long)got,
		 (long long)want);
	return -EPROTO;
}

static int past(char *why, size_t whylen, const char *what, int64_t got, int64_t limit)
{
	snprintf(why, whylen, "layout check failed: the interpreter's _Py_DebugOffsets say %s is "
		 "%lld, past the %lld bytes the census reads there", what, (long long)got,
		 (long long)limit);
	return -EPROTO;
}

int py_heap_layout_resolve(const struct py_heap_layout *base, const struct py_debug_offsets *d,
			   struct py_heap_layout *out, char *why, size_t whylen)
{
	/* offsets read from an object's first HL_OBJ_PREFIX bytes (after its GC header) */
	static const struct {
		const char *name;
		unsigned off;
	} in_prefix[] = {
		{ "ob_type", offsetof(struct py_heap_layout, ob_type) },
		{ "ob_size", offsetof(struct py_heap_layout, ob_size) },
		{ "list allocated", offsetof(struct py_heap_layout, list_allocated) },
		{ "dict ma_used", offsetof(struct py_heap_layout, dict_used) },
		{ "dict ma_keys", offsetof(struct py_heap_layout, dict_keys) },
		{ "dict ma_values", offsetof(struct py_heap_layout, dict_values) },
		{ "set mask", offsetof(struct py_heap_layout, set_mask) },
		{ "set table", offsetof(struct py_heap_layout, set_table) },
	};
	struct py_heap_layout *L = out;
	int64_t v;

	*out = *base;
	/* offsets the table gives: the interpreter's own word */
	L->runtime_interp_head = (int64_t)d->runtime_interp_head;
	L->interp_next = (int64_t)d->interp_next;
	L->gc_state = (int64_t)d->interp_gc;
	L->gc_collecting = (int64_t)d->gc_collecting;
	L->ob_type = (int64_t)d->ob_type;
	L->ob_size = (int64_t)d->list_ob_size;
	L->tp_name = (int64_t)d->tp_name;
	L->tp_flags = (int64_t)d->tp_flags;
	L->list_items = (int64_t)d->list_items;
	L->dict_keys = (int64_t)d->dict_keys;
	L->dict_values = (int64_t)d->dict_values;
	L->unicode_length = (int64_t)d->unicode_length;
	L->unicode_state = (int64_t)d->unicode_state;
	L->unicode_ascii_data = (int64_t)d->unicode_ascii_size;
	if (d->unicode_compact_size)
		L->unicode_compact_data = (int64_t)d->unicode_compact_size;
	if (d->set_size) {
		L->set_mask = (int64_t)d->set_mask;
		L->set_table = (int64_t)d->set_table;
		if (d->set_used + 8 != d->set_mask) /* the census reads used just before mask */
			return refuse(why, whylen, "set used", d->set_used, L->set_mask - 8);
	}
	if (d->tp_basicsize) {
		L->tp_basicsize = (int64_t)d->tp_basicsize;
		L->tp_dictoffset = (int64_t)d->tp_dictoffset;
	}
	if (d->ht_cached_keys) {
		L->ht_cached_keys = (int64_t)d->ht_cached_keys;
		if (L->ht_cached_keys != L->ht_qualname + 8) /* read with ht_qualname */
			return refuse(why, whylen, "ht_cached_keys", d->ht_cached_keys,
				      L->ht_qualname + 8);
	}
	/* what only the measured layout has is used only where its struct is the size measured */
	if ((int64_t)d->gc_size != base->gc_state_size)
		return refuse(why, whylen, "the collector's state (struct _gc_runtime_state) size",
			      d->gc_size, base->gc_state_size);
	if ((int64_t)d->type_size != base->type_size)
		return refuse(why, whylen, "PyTypeObject's size", d->type_size, base->type_size);
	if ((int64_t)d->list_size != base->list_size)
		return refuse(why, whylen, "PyListObject's size", d->list_size, base->list_size);
	if ((int64_t)d->dict_size != base->dict_size)
		return refuse(why, whylen, "PyDictObject's size", d->dict_size, base->dict_size);
	if (d->set_size && (int64_t)d->set_size != base->set_size)
		return refuse(why, whylen, "PySetObject's size", d->set_size, base->set_size);
	if (d->heaptype_size && (int64_t)d->heaptype_size != base->heaptype_size)
		return refuse(why, whylen, "PyHeapTypeObject's size", d->heaptype_size,
			      base->heaptype_size);
	/* every offset within what the census reads */
	for (size_t i = 0; i < sizeof(in_prefix) / sizeof(in_prefix[0]); i++) {
		memcpy(&v, (const char *)L + in_prefix[i].off, sizeof(v));
		if (v < 0 || v + 8 > HL_OBJ_PREFIX)
			return past(why, whylen, in_prefix[i].name, v, HL_OBJ_PREFIX);
	}
	/* a type object is read up to its tp_dictoffset field */
	if (L->tp_dictoffset < 0 || L->tp_dictoffset + 8 > HL_TYPE_PREFIX)
		return past(why, whylen, "tp_dictoffset", L->tp_dictoffset, HL_TYPE_PREFIX);
	{
		const struct {
			const char *name;
			int64_t v;
		} tf[] = { { "tp_name", L->tp_name }, { "tp_flags", L->tp_flags },
			   { "tp_basicsize", L->tp_basicsize }, { "tp_itemsize", L->tp_itemsize },
			   { "tp_dict", L->tp_dict } };

		for (size_t i = 0; i < sizeof(tf) / sizeof(tf[0]); i++)
			if (tf[i].v < 0 || tf[i].v + 8 > L->tp_dictoffset + 8)
				return past(why, whylen, tf[i].name, tf[i].v, L->tp_dictoffset + 8);
	}
	if (L->unicode_compact_data > HL_STR_PREFIX || L->unicode_ascii_data > HL_STR_PREFIX ||
	    L->unicode_length + 8 > L->unicode_compact_data ||
	    L->unicode_state >= L->unicode_compact_data)
		return past(why, whylen, "a str header field (length, state or data)",
			    L->unicode_compact_data, HL_STR_PREFIX);
	if (L->gc_collecting + 4 > L->gc_state_size)
		return past(why, whylen, "gc.collecting", L->gc_collecting + 4, L->gc_state_size);
	return 0;
}
