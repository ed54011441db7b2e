// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Prints, as "field value" lines named after struct py_heap_layout's members, the layout the heap
 * census (user/cpython/heap_layout.c) must hold for the CPython whose headers this is compiled
 * against:
 *   cc -w -DNDEBUG -I$P/include/python3.X -I$P/include/python3.X/internal heap_probe.c
 * Fields the version lacks are not printed. Used by tests/unit/test_heap_layout.c.
 *
 * 3.8-3.10 do not install the dict keys layout (Objects/dict-common.h); its fields are printed
 * from the struct below, as those versions' dict-common.h declares it, and the census checks it
 * on every live dict it sizes (power-of-two size, usable + entries within it). */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX < 0x03090000
#include "internal/pycore_pystate.h"
#else
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"
#endif
#include "setobject.h"

#define P(name, val) printf("%s %lld\n", name, (long long)(val))
#define OFF(name, T, F) P(name, offsetof(T, F))

#if PY_VERSION_HEX < 0x030B0000
typedef struct {
	Py_hash_t me_hash;
	PyObject *me_key;
	PyObject *me_value;
} probe_key_entry;
struct probe_dictkeys {
	Py_ssize_t dk_refcnt;
	Py_ssize_t dk_size;
	void *dk_lookup;
	Py_ssize_t dk_usable;
	Py_ssize_t dk_nentries;
	char dk_indices[];
};
#endif

int main(void)
{
	printf("version_hex %u\n", (unsigned)(PY_VERSION_HEX & 0xffff0000u));
	OFF("runtime_interp_head", _PyRuntimeState, interpreters.head);
	OFF("interp_next", PyInterpreterState, next);
#if PY_VERSION_HEX < 0x03090000
	OFF("gc_state", _PyRuntimeState, gc);
	P("gc_in_runtime", 1);
#else
	OFF("gc_state", PyInterpreterState, gc);
	P("gc_in_runtime", 0);
#endif
	P("gc_state_size", sizeof(struct _gc_runtime_state));
	OFF("gc_generations", struct _gc_runtime_state, generations);
	P("gc_generation_size", sizeof(struct gc_generation));
	OFF("gc_generation_threshold", struct gc_generation, threshold);
	OFF("gc_generation_count", struct gc_generation, count);
	P("gc_num_generations", NUM_GENERATIONS);
	OFF("gc_generation0", struct _gc_runtime_state, generation0);
	OFF("gc_permanent", struct _gc_runtime_state, permanent_generation);
	OFF("gc_collecting", struct _gc_runtime_state, collecting);
	P("gc_head_size", sizeof(PyGC_Head));
	OFF("gc_head_next", PyGC_Head, _gc_next);
	OFF("gc_head_prev", PyGC_Head, _gc_prev);
	P("gc_prev_shift", _PyGC_PREV_SHIFT);

	OFF("ob_type", PyObject, ob_type);
	OFF("ob_size", PyVarObject, ob_size);
	P("type_size", sizeof(PyTypeObject));
	OFF("tp_name", PyTypeObject, tp_name);
	OFF("tp_basicsize", PyTypeObject, tp_basicsize);
	OFF("tp_itemsize", PyTypeObject, tp_itemsize);
	OFF("tp_flags", PyTypeObject, tp_flags);
	OFF("tp_base", PyTypeObject, tp_base);
	OFF("tp_dict", PyTypeObject, tp_dict);
	OFF("tp_dictoffset", PyTypeObject, tp_dictoffset);
	P("heaptype_size", sizeof(PyHeapTypeObject));
	OFF("ht_qualname", PyHeapTypeObject, ht_qualname);
#if PY_VERSION_HEX >= 0x030B0000
	OFF("ht_cached_keys", PyHeapTypeObject, ht_cached_keys);
#endif
	P("flag_heaptype", Py_TPFLAGS_HEAPTYPE);
	P("flag_have_gc", Py_TPFLAGS_HAVE_GC);
	P("flag_type_subclass", Py_TPFLAGS_TYPE_SUBCLASS);
#if PY_VERSION_HEX >= 0x030B0000
	P("flag_managed_dict", Py_TPFLAGS_MANAGED_DICT);
	{ /* the pre-header pointers, as the interpreter's own accessors compute them (-DNDEBUG: no
	   * type check, pointer arithmetic only) */
		static char buf[64];
		PyObject *o = (PyObject *)(buf + 48);
#if PY_VERSION_HEX < 0x030C0000
		P("managed_dict_offset", (char *)_PyObject_ManagedDictPointer(o) - (char *)o);
		P("managed_values_offset", (char *)_PyObject_ValuesPointer(o) - (char *)o);
#elif PY_VERSION_HEX < 0x030D0000
		P("managed_dict_offset", (char *)_PyObject_DictOrValuesPointer(o) - (char *)o);
		P("managed_dict_tagged", 1);
#else
		P("managed_dict_offset", (char *)_PyObject_ManagedDictPointer(o) - (char *)o);
#endif
	}
#endif
#if PY_VERSION_HEX >= 0x030C0000
	P("flag_managed_weakref", Py_TPFLAGS_MANAGED_WEAKREF);
#endif
#if PY_VERSION_HEX >= 0x030D0000
	P("flag_inline_values", Py_TPFLAGS_INLINE_VALUES);
	OFF("values_capacity", PyDictValues, capacity);
	OFF("values_size", PyDictValues, size);
	OFF("values_array", PyDictValues, values);
#endif

	P("list_size", sizeof(PyListObject));
	OFF("list_items", PyListObject, ob_item);
	OFF("list_allocated", PyListObject, allocated);
	P("dict_size", sizeof(PyDictObject));
	OFF("dict_used", PyDictObject, ma_used);
	OFF("dict_keys", PyDictObject, ma_keys);
	OFF("dict_values", PyDictObject, ma_values);
#if PY_VERSION_HEX < 0x030B0000
	OFF("keys_refcnt", struct probe_dictkeys, dk_refcnt);
	OFF("keys_size", struct probe_dictkeys, dk_size);
	OFF("keys_usable", struct probe_dictkeys, dk_usable);
	OFF("keys_nentries", struct probe_dictkeys, dk_nentries);
	P("keys_header", sizeof(struct probe_dictkeys));
	P("keys_entry_size", sizeof(probe_key_entry));
#else
	OFF("keys_refcnt", PyDictKeysObject, dk_refcnt);
	OFF("keys_log2_size", PyDictKeysObject, dk_log2_size);
	OFF("keys_log2_index_bytes", PyDictKeysObject, dk_log2_index_bytes);
	OFF("keys_kind", PyDictKeysObject, dk_kind);
	OFF("keys_usable", PyDictKeysObject, dk_usable);
	OFF("keys_nentries", PyDictKeysObject, dk_nentries);
	P("keys_header", sizeof(PyDictKeysObject));
	P("keys_entry_size", sizeof(PyDictKeyEntry));
	P("keys_unicode_entry_size", sizeof(PyDictUnicodeEntry));
#endif
	P("set_size", sizeof(PySetObject));
	OFF("set_mask", PySetObject, mask);
	OFF("set_table", PySetObject, table);
	OFF("set_smalltable", PySetObject, smalltable);
	P("set_entry_size", sizeof(setentry));

	OFF("unicode_length", PyASCIIObject, length);
	OFF("unicode_state", PyASCIIObject, state);
	P("unicode_ascii_data", sizeof(PyASCIIObject));
	P("unicode_compact_data", sizeof(PyCompactUnicodeObject));
	return 0;
}
