/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython 3.13+ describes its own layout in _Py_DebugOffsets, the first member of _PyRuntime
 * (section .PyRuntime). The table is untrusted input: it is read only through a layout pyhound
 * knows for that minor version, and every check below must pass before any offset is used. */
#ifndef PYHOUND_DEBUG_OFFSETS_H
#define PYHOUND_DEBUG_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;

/* Largest _Py_DebugOffsets layout known (3.15: 888 bytes). */
#define PY_DEBUG_OFFSETS_MAX 888

/* The fields pyhound uses, whatever the minor version's layout. Sizes are the sizes of the
 * structs the interpreter reports; 0 for a field the version does not describe. */
struct py_debug_offsets {
	uint64_t version; /* PY_VERSION_HEX */
	bool free_threaded;
	uint64_t runtime_size, runtime_interp_head;
	uint64_t interp_size, interp_next, interp_threads_head, interp_gc;
	uint64_t tstate_size, tstate_next, tstate_current_frame, tstate_thread_id,
		tstate_native_tid;
	uint64_t frame_size, frame_previous, frame_executable, frame_instr_ptr, frame_owner,
		frame_localsplus;
	uint64_t code_size, code_filename, code_name, code_qualname, code_linetable,
		code_firstlineno, code_argcount, code_adaptive;
	uint64_t object_size, ob_type;
	uint64_t bytes_size, bytes_ob_size, bytes_sval;
	uint64_t unicode_size, unicode_state, unicode_length, unicode_ascii_size;
	uint64_t unicode_compact_size; /* 3.15+ (compactunicodeobject_size), else 0 */
	uint64_t gc_size, gc_collecting;
	/* the GIL (struct _gil_runtime_state): interp->ceval.gil, the main interpreter's own
	 * interp->_gil, and its locked / last_holder as offsets in PyInterpreterState */
	uint64_t interp_ceval_gil, interp_gil_state, interp_gil_locked, interp_gil_holder;
	/* objects the heap census reads; 0 where the minor's table lacks them (set_object: 3.14+;
	 * tp_basicsize, tp_dictoffset, heap_type_object: 3.15+) */
	uint64_t type_size, tp_name, tp_flags, tp_basicsize, tp_dictoffset;
	uint64_t heaptype_size, ht_cached_keys;
	uint64_t list_size, list_items, list_ob_size;
	uint64_t dict_size, dict_keys, dict_values;
	uint64_t set_size, set_used, set_table, set_mask;
};

/* Size of the _Py_DebugOffsets layout of CPython 3.<minor>, 0 when pyhound knows none. */
size_t py_debug_offsets_size(int minor);

/* Parse and check a raw copy of _PyRuntime's first len bytes against the interpreter's
 * Py_Version (expect_version): the cookie "xdebugpy", the version (exactly expect_version),
 * the layout size for that minor, no free-threaded build, every struct size non-zero and below
 * a sanity bound, and every offset (plus its field's width) within its struct. 0 and *out
 * filled, or -ENOTSUP (no layout for the minor, or a free-threaded build) / -EPROTO (a check
 * failed) / -EINVAL (len too short) with one line of reason in why. */
int py_debug_offsets_parse(const void *raw, size_t len, uint32_t expect_version,
			   struct py_debug_offsets *out, char *why, size_t whylen);

/* Read _PyRuntime's table from an ELF object: at the _PyRuntime symbol, or at the .PyRuntime
 * section in a binary without the symbol; then parse it as above. *runtime_vaddr (may be NULL)
 * gets the link-time address used. */
int py_debug_offsets_read(struct elf_file *ef, uint32_t expect_version,
			  struct py_debug_offsets *out, uint64_t *runtime_vaddr, char *why,
			  size_t whylen);

#endif
