// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The layouts of _Py_DebugOffsets per minor version. Sources: 3.13 from
 * Include/internal/pycore_runtime.h (checked against pyenv 3.13's table); 3.14 and 3.15 from
 * the DWARF of Debian sid's python3.14d / python3.15d (`ptype /o struct _Py_DebugOffsets`),
 * 760 and 888 bytes, the same struct as in Include/internal/pycore_debug_offsets.h. Every
 * field after the cookie is a uint64_t. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "host/elf.h"
#include "cpython/debug_offsets.h"

typedef uint64_t u64;

struct dbg313 {
	char cookie[8];
	u64 version, free_threaded;
	struct { u64 size, finalizing, interpreters_head; } runtime_state;
	struct {
		u64 size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct {
		u64 size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct { u64 size, previous, executable, instr_ptr, localsplus, owner; } interpreter_frame;
	struct {
		u64 size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} code_object;
	struct { u64 size, ob_type; } pyobject;
	struct { u64 size, tp_name, tp_repr, tp_flags; } type_object;
	struct { u64 size, ob_item, ob_size; } tuple_object;
	struct { u64 size, ob_item, ob_size; } list_object;
	struct { u64 size, ma_keys, ma_values; } dict_object;
	struct { u64 size, ob_fval; } float_object;
	struct { u64 size, lv_tag, ob_digit; } long_object;
	struct { u64 size, ob_size, ob_sval; } bytes_object;
	struct { u64 size, state, length, asciiobject_size; } unicode_object;
	struct { u64 size, collecting; } gc;
};
_Static_assert(sizeof(struct dbg313) == 584, "_Py_DebugOffsets 3.13 layout");

struct dbg314 {
	char cookie[8];
	u64 version, free_threaded;
	struct { u64 size, finalizing, interpreters_head; } runtime_state;
	struct {
		u64 size, id, next, threads_head, threads_main, gc, imports_modules, sysdict,
			builtins, ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder, code_object_generation,
			tlbc_generation;
	} interpreter_state;
	struct {
		u64 size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		u64 size, previous, executable, instr_ptr, localsplus, owner, stackpointer,
			tlbc_index;
	} interpreter_frame;
	struct {
		u64 size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct { u64 size, ob_type; } pyobject;
	struct { u64 size, tp_name, tp_repr, tp_flags; } type_object;
	struct { u64 size, ob_item, ob_size; } tuple_object;
	struct { u64 size, ob_item, ob_size; } list_object;
	struct { u64 size, used, table, mask; } set_object;
	struct { u64 size, ma_keys, ma_values; } dict_object;
	struct { u64 size, ob_fval; } float_object;
	struct { u64 size, lv_tag, ob_digit; } long_object;
	struct { u64 size, ob_size, ob_sval; } bytes_object;
	struct { u64 size, state, length, asciiobject_size; } unicode_object;
	struct { u64 size, collecting; } gc;
	struct { u64 size, gi_name, gi_iframe, gi_frame_state; } gen_object;
	struct { u64 next, prev; } llist_node;
	struct {
		u64 eval_breaker, remote_debugger_support, remote_debugging_enabled,
			debugger_pending_call, debugger_script_path, debugger_script_path_size;
	} debugger_support;
};
_Static_assert(sizeof(struct dbg314) == 760, "_Py_DebugOffsets 3.14 layout");

struct dbg315 {
	char cookie[8];
	u64 version, free_threaded;
	struct { u64 size, finalizing, interpreters_head; } runtime_state;
	struct {
		u64 size, id, next, threads_head, threads_main, gc, imports_modules, sysdict,
			builtins, ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder, code_object_generation,
			tlbc_generation;
	} interpreter_state;
	struct {
		u64 size, prev, next, interp, current_frame, base_frame, last_profiled_frame,
			last_profiled_frame_seq, thread_id, native_thread_id, datastack_chunk,
			status, holds_gil, gil_requested, current_exception, exc_state;
	} thread_state;
	struct { u64 exc_value; } err_stackitem;
	struct {
		u64 size, previous, executable, instr_ptr, localsplus, owner, stackpointer,
			tlbc_index;
	} interpreter_frame;
	struct {
		u64 size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct { u64 size, ob_type; } pyobject;
	struct { u64 size, tp_name, tp_repr, tp_flags, tp_basicsize, tp_dictoffset; } type_object;
	struct { u64 size, ht_cached_keys; } heap_type_object;
	struct { u64 size, ob_item, ob_size; } tuple_object;
	struct { u64 size, ob_item, ob_size; } list_object;
	struct { u64 size, used, table, mask; } set_object;
	struct { u64 size, ma_keys, ma_values; } dict_object;
	struct { u64 size, ob_fval; } float_object;
	struct { u64 size, lv_tag, ob_digit; } long_object;
	struct { u64 size, ob_size, ob_sval; } bytes_object;
	struct { u64 size, state, length, asciiobject_size, compactunicodeobject_size; }
		unicode_object;
	struct { u64 size, collecting, frame, generation_stats_size, generation_stats; } gc;
	struct { u64 size, gi_name, gi_iframe, gi_frame_state; } gen_object;
	struct { u64 next, prev; } llist_node;
	struct {
		u64 eval_breaker, remote_debugger_support, remote_debugging_enabled,
			debugger_pending_call, debugger_script_path, debugger_script_path_size;
	} debugger_support;
};
_Static_assert(sizeof(struct dbg315) == 888, "_Py_DebugOffsets 3.15 layout");

/* One field pyhound takes from the table: where it is in the raw table, where the size of its
 * struct is, the width of the field in the target (an offset must leave room for it; 0: the
 * value is itself a size, bounded by its struct's size), and where it goes. */
struct field {
	const char *name;
	unsigned short raw, raw_size, width, dst;
};

#define DST(f) offsetof(struct py_debug_offsets, f)
#define FLD(T, sec, fld, w, dst) \
	{ #sec "." #fld, offsetof(T, sec.fld), offsetof(T, sec.size), w, DST(dst) }
#define SIZE(T, sec, dst) { #sec ".size", offsetof(T, sec.size), 0, 0, DST(dst) }

/* Fields common to the three layouts, in each one's own positions. Widths: pointers 8,
 * co_firstlineno/co_argcount int 4, frame owner char 1, unicode state a 4-byte bitfield,
 * Py_ssize_t 8. */
#define COMMON(T)                                                                             \
	SIZE(T, runtime_state, runtime_size),                                                 \
	FLD(T, runtime_state, interpreters_head, 8, runtime_interp_head),                    \
	SIZE(T, interpreter_state, interp_size),                                              \
	FLD(T, interpreter_state, next, 8, interp_next),                                      \
	FLD(T, interpreter_state, threads_head, 8, interp_threads_head),                      \
	FLD(T, interpreter_state, gc, 8, interp_gc),                                          \
	SIZE(T, thread_state, tstate_size),                                                   \
	FLD(T, thread_state, next, 8, tstate_next),                                           \
	FLD(T, thread_state, current_frame, 8, tstate_current_frame),                         \
	FLD(T, thread_state, thread_id, 8, tstate_thread_id),                                 \
	FLD(T, thread_state, native_thread_id, 8, tstate_native_tid),                         \
	SIZE(T, interpreter_frame, frame_size),                                               \
	FLD(T, interpreter_frame, previous, 8, frame_previous),                               \
	FLD(T, interpreter_frame, executable, 8, frame_executable),                           \
	FLD(T, interpreter_frame, instr_ptr, 8, frame_instr_ptr),                             \
	FLD(T, interpreter_frame, owner, 1, frame_owner),                                     \
	FLD(T, interpreter_frame, localsplus, 8, frame_localsplus),                           \
	SIZE(T, code_object, code_size),                                                      \
	FLD(T, code_object, filename, 8, code_filename),                                      \
	FLD(T, code_object, name, 8, code_name),                                              \
	FLD(T, code_object, qualname, 8, code_qualname),                                      \
	FLD(T, code_object, linetable, 8, code_linetable),                                    \
	FLD(T, code_object, firstlineno, 4, code_firstlineno),                                \
	FLD(T, code_object, argcount, 4, code_argcount),                                      \
	FLD(T, code_object, co_code_adaptive, 2, code_adaptive),                              \
	SIZE(T, pyobject, object_size),                                                       \
	FLD(T, pyobject, ob_type, 8, ob_type),                                                \
	SIZE(T, bytes_object, bytes_size),                                                    \
	FLD(T, bytes_object, ob_size, 8, bytes_ob_size),                                      \
	FLD(T, bytes_object, ob_sval, 1, bytes_sval),                                         \
	SIZE(T, unicode_object, unicode_size),                                                \
	FLD(T, unicode_object, state, 4, unicode_state),                                      \
	FLD(T, unicode_object, length, 8, unicode_length),                                    \
	FLD(T, unicode_object, asciiobject_size, 0, unicode_ascii_size),                      \
	SIZE(T, gc, gc_size),                                                                 \
	FLD(T, gc, collecting, 4, gc_collecting),                                             \
	FLD(T, interpreter_state, ceval_gil, 8, interp_ceval_gil),                            \
	FLD(T, interpreter_state, gil_runtime_state, 8, interp_gil_state),                    \
	FLD(T, interpreter_state, gil_runtime_state_locked, 4, interp_gil_locked),            \
	FLD(T, interpreter_state, gil_runtime_state_holder, 8, interp_gil_holder),            \
	SIZE(T, type_object, type_size),                                                      \
	FLD(T, type_object, tp_name, 8, tp_name),                                             \
	FLD(T, type_object, tp_flags, 8, tp_flags),                                           \
	SIZE(T, list_object, list_size),                                                      \
	FLD(T, list_object, ob_item, 8, list_items),                                          \
	FLD(T, list_object, ob_size, 8, list_ob_size),                                        \
	SIZE(T, dict_object, dict_size),                                                      \
	FLD(T, dict_object, ma_keys, 8, dict_keys),                                           \
	FLD(T, dict_object, ma_values, 8, dict_values)

/* 3.14+ */
#define SETS(T)                                                                               \
	SIZE(T, set_object, set_size),                                                        \
	FLD(T, set_object, used, 8, set_used),                                                \
	FLD(T, set_object, table, 8, set_table),                                              \
	FLD(T, set_object, mask, 8, set_mask)

static const struct field fields313[] = { COMMON(struct dbg313) };
static const struct field fields314[] = { COMMON(struct dbg314), SETS(struct dbg314) };
static const struct field fields315[] = {
	COMMON(struct dbg315),
	SETS(struct dbg315),
	FLD(struct dbg315, type_object, tp_basicsize, 8, tp_basicsize),
	FLD(struct dbg315, type_object, tp_dictoffset, 8, tp_dictoffset),
	SIZE(struct dbg315, heap_type_object, heaptype_size),
	FLD(struct dbg315, heap_type_object, ht_cached_keys, 8, ht_cached_keys),
	FLD(struct dbg315, unicode_object, compactunicodeobject_size, 0, unicode_compact_size),
};

static const struct layout {
	int minor;
	size_t size;
	const struct field *f;
	size_t n;
} layouts[] = {
	{ 13, sizeof(struct dbg313), fields313, sizeof(fields313) / sizeof(fields313[0]) },
	{ 14, sizeof(struct dbg314), fields314, sizeof(fields314) / sizeof(fields314[0]) },
	{ 15, sizeof(struct dbg315), fields315, sizeof(fields315) / sizeof(fields315[0]) },
};

/* Struct sizes above this are not believed (the largest, PyInterpreterState, is ~230 KB and
 * _PyRuntimeState ~360 KB in 3.15's debug build). */
#define MAX_STRUCT_SIZE (16u << 20)

static const struct layout *layout_for(int minor)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].minor == minor)
			return &layouts[i];
	return NULL;
}

size_t py_debug_offsets_size(int minor)
{
	const struct layout *l = layout_for(minor);

	return l ? l->size : 0;
}

static int fail(int err, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (why && len)
		vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

static u64 raw_u64(const unsigned char *raw, size_t off)
{
	u64 v;

	memcpy(&v, raw + off, 8);
	return v;
}

int py_debug_offsets_parse(const void *buf, size_t len, uint32_t expect_version,
			   struct py_debug_offsets *out, char *why, size_t whylen)
{
	int major = expect_version >> 24, minor = (expect_version >> 16) & 0xff;
	const struct layout *l = major == 3 ? layout_for(minor) : NULL;
	const unsigned char *raw = buf;
	u64 version;

	memset(out, 0, sizeof(*out));
	if (!l)
		return fail(-ENOTSUP, why, whylen,
			    "no _Py_DebugOffsets layout known for CPython %d.%d", major, minor);
	if (len < l->size)
		return fail(-EINVAL, why, whylen, "_Py_DebugOffsets: %zu bytes, 3.%d's is %zu",
			    len, minor, l->size);
	if (memcmp(raw, "xdebugpy", 8))
		return fail(-EPROTO, why, whylen,
			    "_PyRuntime does not start with the _Py_DebugOffsets cookie");
	version = raw_u64(raw, 8);
	if (version != expect_version)
		return fail(-EPROTO, why, whylen,
			    "_Py_DebugOffsets version 0x%llx differs from Py_Version 0x%x",
			    (unsigned long long)version, expect_version);
	out->version = version;
	out->free_threaded = raw_u64(raw, 16) != 0;
	if (out->free_threaded)
		return fail(-ENOTSUP, why, whylen, "free-threaded build: not supported yet");
	for (size_t i = 0; i < l->n; i++) {
		const struct field *f = &l->f[i];
		u64 v = raw_u64(raw, f->raw);

		if (!f->raw_size) { /* a struct size */
			if (!v || v > MAX_STRUCT_SIZE)
				return fail(-EPROTO, why, whylen,
					    "_Py_DebugOffsets: %s is %llu (not a plausible size)",
					    f->name, (unsigned long long)v);
		} else {
			u64 size = raw_u64(raw, f->raw_size);

			if (v > size || size - v < f->width)
				return fail(-EPROTO, why, whylen,
					    "_Py_DebugOffsets: %s is %llu, past its struct (size "
					    "%llu)", f->name, (unsigned long long)v,
					    (unsigned long long)size);
		}
		memcpy((char *)out + f->dst, &v, sizeof(v));
	}
	return 0;
}

int py_debug_offsets_read(struct elf_file *ef, uint32_t expect_version,
			  struct py_debug_offsets *out, uint64_t *runtime_vaddr, char *why,
			  size_t whylen)
{
	unsigned char raw[PY_DEBUG_OFFSETS_MAX];
	size_t need = py_debug_offsets_size((expect_version >> 16) & 0xff);
	struct elf_sym sym;
	uint64_t addr;
	int err;

	if ((expect_version >> 24) != 3 || !need)
		return fail(-ENOTSUP, why, whylen,
			    "no _Py_DebugOffsets layout known for CPython %u.%u",
			    expect_version >> 24, (expect_version >> 16) & 0xff);
	if (!elf_find_symbol(ef, "_PyRuntime", &sym)) {
		addr = sym.value;
		if (sym.size && sym.size < need)
			return fail(-EPROTO, why, whylen,
				    "_PyRuntime is %llu bytes, smaller than 3.%u's _Py_DebugOffsets",
				    (unsigned long long)sym.size, (expect_version >> 16) & 0xff);
	} else if (elf_section_addr(ef, ".PyRuntime", &addr)) {
		return fail(-ENOENT, why, whylen, "neither a _PyRuntime symbol nor a .PyRuntime "
			    "section");
	}
	err = elf_read_vaddr(ef, addr, raw, need);
	if (err)
		return fail(err, why, whylen, "can't read _Py_DebugOffsets at 0x%llx: %s",
			    (unsigned long long)addr, strerror(-err));
	if (runtime_vaddr)
		*runtime_vaddr = addr;
	return py_debug_offsets_parse(raw, need, expect_version, out, why, whylen);
}
