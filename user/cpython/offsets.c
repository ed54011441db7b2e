// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Offsets measured by compiling against each version's headers (see
 * /work/shared/notes/cpython-layout.md §2); tests/unit/test_offsets.c recompiles the probe in
 * tests/offsets/ against every installed interpreter and compares. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "host/elf.h"
#include "lib/log.h"
#include "cpython/offsets.h"

#define N PY_OFF_NONE

static const struct py_offsets py38 = {
	.version_hex = 0x03080000, .walk_kind = PY_WALK_FRAMEOBJ, .lasti_kind = PY_LASTI_BYTES,
	.runtime_interp_head = 32, .runtime_tsskey = 1396,
	.interp_next = 0, .interp_threads_head = 8,
	.tstate_next = 8, .tstate_thread_id = 176, .tstate_native_tid = N, .tstate_frame = 24,
	.cframe_current_frame = N,
	.frame_back = 24, .frame_code = 32, .frame_lasti = 104, .frame_owner = N, .frame_owner_skip = N,
	.code_argcount = 16, .code_flags = 36, .code_firstlineno = 40, .code_filename = 104,
	.code_name = 112, .code_qualname = N, .code_linetable = 120, .code_code = 48,
	.code_adaptive = N,
	.ob_type = 8, .var_size = 16, .bytes_sval = 32, .unicode_length = 16, .unicode_state = 32,
	.unicode_ascii_data = 48, .unicode_compact_data = 72, .unicode_data_ptr = 72,
};

static const struct py_offsets py39 = {
	.version_hex = 0x03090000, .walk_kind = PY_WALK_FRAMEOBJ, .lasti_kind = PY_LASTI_BYTES,
	.runtime_interp_head = 32, .runtime_tsskey = 588,
	.interp_next = 0, .interp_threads_head = 8,
	.tstate_next = 8, .tstate_thread_id = 176, .tstate_native_tid = N, .tstate_frame = 24,
	.cframe_current_frame = N,
	.frame_back = 24, .frame_code = 32, .frame_lasti = 104, .frame_owner = N, .frame_owner_skip = N,
	.code_argcount = 16, .code_flags = 36, .code_firstlineno = 40, .code_filename = 104,
	.code_name = 112, .code_qualname = N, .code_linetable = 120, .code_code = 48,
	.code_adaptive = N,
	.ob_type = 8, .var_size = 16, .bytes_sval = 32, .unicode_length = 16, .unicode_state = 32,
	.unicode_ascii_data = 48, .unicode_compact_data = 72, .unicode_data_ptr = 72,
};

static const struct py_offsets py310 = {
	.version_hex = 0x030a0000, .walk_kind = PY_WALK_FRAMEOBJ, .lasti_kind = PY_LASTI_UNITS,
	.runtime_interp_head = 32, .runtime_tsskey = 588,
	.interp_next = 0, .interp_threads_head = 8,
	.tstate_next = 8, .tstate_thread_id = 176, .tstate_native_tid = N, .tstate_frame = 24,
	.cframe_current_frame = N,
	.frame_back = 24, .frame_code = 32, .frame_lasti = 96, .frame_owner = N, .frame_owner_skip = N,
	.code_argcount = 16, .code_flags = 36, .code_firstlineno = 40, .code_filename = 104,
	.code_name = 112, .code_qualname = N, .code_linetable = 120, .code_code = 48,
	.code_adaptive = N,
	.ob_type = 8, .var_size = 16, .bytes_sval = 32, .unicode_length = 16, .unicode_state = 32,
	.unicode_ascii_data = 48, .unicode_compact_data = 72, .unicode_data_ptr = 72,
};

static const struct py_offsets py311 = {
	.version_hex = 0x030b0000, .walk_kind = PY_WALK_CFRAME, .lasti_kind = PY_LASTI_PTR,
	.runtime_interp_head = 40, .runtime_tsskey = 596,
	.interp_next = 0, .interp_threads_head = 16,
	.tstate_next = 8, .tstate_thread_id = 152, .tstate_native_tid = 160, .tstate_frame = 56,
	.cframe_current_frame = 8,
	.frame_back = 48, .frame_code = 32, .frame_lasti = 56, .frame_owner = 69, .frame_owner_skip = N,
	.code_argcount = 56, .code_flags = 48, .code_firstlineno = 72, .code_filename = 112,
	.code_name = 120, .code_qualname = 128, .code_linetable = 136, .code_code = N,
	.code_adaptive = 184,
	.ob_type = 8, .var_size = 16, .bytes_sval = 32, .unicode_length = 16, .unicode_state = 32,
	.unicode_ascii_data = 48, .unicode_compact_data = 72, .unicode_data_ptr = 72,
};

static const struct py_offsets py312 = {
	.version_hex = 0x030c0000, .walk_kind = PY_WALK_CFRAME, .lasti_kind = PY_LASTI_PTR,
	.runtime_interp_head = 40, .runtime_tsskey = 1548,
	.interp_next = 0, .interp_threads_head = 72,
	.tstate_next = 8, .tstate_thread_id = 136, .tstate_native_tid = 144, .tstate_frame = 56,
	.cframe_current_frame = 0,
	.frame_back = 8, .frame_code = 0, .frame_lasti = 56, .frame_owner = 70, .frame_owner_skip = 3,
	.code_argcount = 52, .code_flags = 48, .code_firstlineno = 68, .code_filename = 112,
	.code_name = 120, .code_qualname = 128, .code_linetable = 136, .code_code = N,
	.code_adaptive = 192,
	.ob_type = 8, .var_size = 16, .bytes_sval = 32, .unicode_length = 16, .unicode_state = 32,
	.unicode_ascii_data = 40, .unicode_compact_data = 56, .unicode_data_ptr = 56,
};

static const struct py_offsets py313 = {
	.version_hex = 0x030d0000, .walk_kind = PY_WALK_CURFRAME, .lasti_kind = PY_LASTI_PTR,
	.runtime_interp_head = 632, .runtime_tsskey = 2164,
	.interp_next = 7264, .interp_threads_head = 7344,
	.tstate_next = 8, .tstate_thread_id = 152, .tstate_native_tid = 160, .tstate_frame = 72,
	.cframe_current_frame = N,
	.frame_back = 8, .frame_code = 0, .frame_lasti = 56, .frame_owner = 70, .frame_owner_skip = 3,
	.code_argcount = 52, .code_flags = 48, .code_firstlineno = 68, .code_filename = 112,
	.code_name = 120, .code_qualname = 128, .code_linetable = 136, .code_code = N,
	.code_adaptive = 200,
	.ob_type = 8, .var_size = 16, .bytes_sval = 32, .unicode_length = 16, .unicode_state = 32,
	.unicode_ascii_data = 40, .unicode_compact_data = 56, .unicode_data_ptr = 56,
};

#undef N

const struct py_offsets *py_offsets_for(int major, int minor)
{
	if (major != 3)
		return NULL;
	switch (minor) {
	case 8: return &py38;
	case 9: return &py39;
	case 10: return &py310;
	case 11: return &py311;
	case 12: return &py312;
	case 13: return &py313;
	default: return NULL;
	}
}

/* CPython 3.13's _Py_DebugOffsets (Include/internal/pycore_runtime.h): every field after the
 * cookie is a uint64_t. Only 3.13's layout is described; 3.14 inserts fields. */
struct dbg313 {
	char cookie[8];
	uint64_t version, free_threaded;
	struct { uint64_t size, finalizing, interpreters_head; } runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct { uint64_t size, previous, executable, instr_ptr, localsplus, owner; } interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} code_object;
	struct { uint64_t size, ob_type; } pyobject;
	struct { uint64_t size, tp_name, tp_repr, tp_flags; } type_object;
	struct { uint64_t size, ob_item, ob_size; } tuple_object;
	struct { uint64_t size, ob_item, ob_size; } list_object;
	struct { uint64_t size, ma_keys, ma_values; } dict_object;
	struct { uint64_t size, ob_fval; } float_object;
	struct { uint64_t size, lv_tag, ob_digit; } long_object;
	struct { uint64_t size, ob_size, ob_sval; } bytes_object;
	struct { uint64_t size, state, length, asciiobject_size; } unicode_object;
	struct { uint64_t size, collecting; } gc;
};

_Static_assert(sizeof(struct dbg313) == 584, "_Py_DebugOffsets 3.13 layout");

#define CHECK(ours, theirs)                                                                 \
	do {                                                                                \
		if ((uint64_t)(ours) != (theirs)) {                                           \
			pr_err("CPython debug offsets: %s is %llu in the interpreter, %llu in "    \
			       "pyhound's table\n",                                           \
			       #theirs, (unsigned long long)(theirs), (unsigned long long)(ours)); \
			bad++;                                                              \
		}                                                                           \
	} while (0)

int py_offsets_check_debug(const struct py_offsets *o, const void *buf, size_t len)
{
	struct dbg313 d;
	int bad = 0;

	if (len < sizeof(d))
		return -EINVAL;
	memcpy(&d, buf, sizeof(d));
	if (memcmp(d.cookie, "xdebugpy", 8)) {
		pr_err("CPython debug offsets: bad cookie (not a 3.13+ _PyRuntime?)\n");
		return -EPROTO;
	}
	if ((d.version >> 16) != (o->version_hex >> 16)) {
		pr_err("CPython debug offsets: interpreter is version 0x%llx, table is for 0x%x\n",
		       (unsigned long long)d.version, o->version_hex);
		return -EPROTO;
	}
	if (d.free_threaded) {
		pr_err("CPython debug offsets: free-threaded builds are not supported\n");
		return -ENOTSUP;
	}
	CHECK(o->runtime_interp_head, d.runtime_state.interpreters_head);
	CHECK(o->interp_next, d.interpreter_state.next);
	CHECK(o->interp_threads_head, d.interpreter_state.threads_head);
	CHECK(o->tstate_next, d.thread_state.next);
	CHECK(o->tstate_frame, d.thread_state.current_frame);
	CHECK(o->tstate_thread_id, d.thread_state.thread_id);
	CHECK(o->tstate_native_tid, d.thread_state.native_thread_id);
	CHECK(o->frame_back, d.interpreter_frame.previous);
	CHECK(o->frame_code, d.interpreter_frame.executable);
	CHECK(o->frame_lasti, d.interpreter_frame.instr_ptr);
	CHECK(o->frame_owner, d.interpreter_frame.owner);
	CHECK(o->code_filename, d.code_object.filename);
	CHECK(o->code_name, d.code_object.name);
	CHECK(o->code_qualname, d.code_object.qualname);
	CHECK(o->code_linetable, d.code_object.linetable);
	CHECK(o->code_firstlineno, d.code_object.firstlineno);
	CHECK(o->code_argcount, d.code_object.argcount);
	CHECK(o->code_adaptive, d.code_object.co_code_adaptive);
	CHECK(o->ob_type, d.pyobject.ob_type);
	CHECK(o->bytes_sval, d.bytes_object.ob_sval);
	CHECK(o->var_size, d.bytes_object.ob_size);
	CHECK(o->unicode_state, d.unicode_object.state);
	CHECK(o->unicode_length, d.unicode_object.length);
	CHECK(o->unicode_ascii_data, d.unicode_object.asciiobject_size);
	return bad ? -EPROTO : 0;
}

int py_offsets_resolve(const struct py_proc *p, struct py_offsets *out)
{
	const struct py_offsets *o = py_offsets_for(p->major, p->minor);
	struct elf_file *ef;
	struct elf_sym sym;
	struct dbg313 d;
	int err;

	if (!o) {
		pr_err("pid %d: CPython %d.%d is not supported (3.8 .. 3.13)\n", p->pid, p->major,
		       p->minor);
		return -ENOTSUP;
	}
	*out = *o;
	if (p->minor < 13)
		return 0;

	ef = elf_open(p->obj_open_path);
	if (!ef) {
		err = -errno;
		pr_err("pid %d: can't open %s: %s\n", p->pid, p->obj_open_path, strerror(errno));
		return err;
	}
	err = elf_find_symbol(ef, "_PyRuntime", &sym);
	if (!err)
		err = elf_read_vaddr(ef, sym.value, &d, sizeof(d));
	if (err) {
		pr_err("pid %d: can't read _PyRuntime.debug_offsets from %s: %s\n", p->pid,
		       p->obj_open_path, strerror(-err));
		goto out;
	}
	err = py_offsets_check_debug(o, &d, sizeof(d));
	if (err)
		pr_err("pid %d: CPython %d.%d in %s does not match pyhound's offsets; refusing to "
		       "walk its stacks\n", p->pid, p->major, p->minor, p->obj_path);
out:
	elf_close(ef);
	return err;
}
