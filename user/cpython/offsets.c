// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* 3.8-3.12: offsets measured by compiling against each version's headers (see
 * /work/shared/notes/cpython-layout.md §2); tests/unit/test_offsets.c recompiles the probe in
 * tests/offsets/ against every installed interpreter and compares. 3.13+: the interpreter's own
 * _Py_DebugOffsets (cpython/debug_offsets.c), plus the few constants it does not carry, each
 * with its source below. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "host/elf.h"
#include "lib/log.h"
#include "cpython/debug_offsets.h"
#include "cpython/offsets.h"
#include "cpython/tstate_locate.h"

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
	.frame_localsplus = 360,
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
	.frame_localsplus = 360,
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
	.frame_localsplus = 352,
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
	.frame_localsplus = 72,
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
	.frame_localsplus = 72,
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
	default: return NULL;
	}
}

/* What _Py_DebugOffsets does not describe, per minor (x86-64, GIL builds):
 * - runtime_tsskey: _PyRuntime.autoTSSkey._key. 3.13: 2164 from the headers (checked against
 *   pyenv 3.13 by tests/unit/test_offsets.c); 3.14: decoded from PyGILState_GetThisThreadState
 *   (py_decode_tss_key_addr); 3.15 has no key (_Py_tss_gilstate, a thread-local).
 * - co_flags @48: PyCodeObject in 3.12-3.15 (gdb `ptype /o` on python3.14d/3.15d).
 * - frame owners >= 3 are not Python code: 3.12/3.13 FRAME_OWNED_BY_CSTACK = 3; 3.14
 *   FRAME_OWNED_BY_INTERPRETER = 3, CSTACK = 4; 3.15 INTERPRETER = 3 (enum _frameowner).
 * - f_executable is a _PyStackRef from 3.14: the low two bits are tags (Py_TAG_BITS).
 * - sizeof(PyCompactUnicodeObject) = 56 and PyUnicodeObject.data @56 in 3.12-3.15 (3.15's table
 *   has compactunicodeobject_size, which is used when present). */
#define TSSKEY_313 2164
#define CODE_FLAGS 48
#define UNICODE_COMPACT 56
#define UNICODE_DATA_PTR 56

static int put16(__u16 *dst, uint64_t v, const char *name, char *why, size_t whylen)
{
	if (v >= PY_OFF_NONE) {
		snprintf(why, whylen, "_Py_DebugOffsets: %s is %llu, beyond what the walker handles",
			 name, (unsigned long long)v);
		return -EPROTO;
	}
	*dst = (__u16)v;
	return 0;
}

int py_offsets_from_debug(const struct py_debug_offsets *d, struct py_offsets *o, char *why,
			  size_t whylen)
{
	int minor = (d->version >> 16) & 0xff, err = 0;

	memset(o, 0xff, sizeof(*o)); /* PY_OFF_NONE everywhere */
	o->version_hex = d->version & 0xffff0000u;
	o->walk_kind = PY_WALK_CURFRAME;
	o->lasti_kind = PY_LASTI_PTR;
	o->cframe_current_frame = PY_OFF_NONE;
	o->code_code = PY_OFF_NONE;
	o->frame_owner_skip = 3;
	o->frame_code_tag = minor >= 14 ? 3 : 0;
	o->runtime_tsskey = minor == 13 ? TSSKEY_313 : PY_OFF_NONE;
	o->code_flags = CODE_FLAGS;
	o->unicode_data_ptr = UNICODE_DATA_PTR;
#define P(dst, src) (err = err ?: put16(&o->dst, d->src, #src, why, whylen))
	P(runtime_interp_head, runtime_interp_head);
	P(interp_next, interp_next);
	P(interp_threads_head, interp_threads_head);
	P(tstate_next, tstate_next);
	P(tstate_thread_id, tstate_thread_id);
	P(tstate_native_tid, tstate_native_tid);
	P(tstate_frame, tstate_current_frame);
	P(frame_back, frame_previous);
	P(frame_code, frame_executable);
	P(frame_lasti, frame_instr_ptr);
	P(frame_owner, frame_owner);
	P(frame_localsplus, frame_localsplus);
	P(code_argcount, code_argcount);
	P(code_firstlineno, code_firstlineno);
	P(code_filename, code_filename);
	P(code_name, code_name);
	P(code_qualname, code_qualname);
	P(code_linetable, code_linetable);
	P(code_adaptive, code_adaptive);
	P(ob_type, ob_type);
	P(var_size, bytes_ob_size);
	P(bytes_sval, bytes_sval);
	P(unicode_length, unicode_length);
	P(unicode_state, unicode_state);
	P(unicode_ascii_data, unicode_ascii_size);
	if (d->unicode_compact_size)
		P(unicode_compact_data, unicode_compact_size);
	else
		o->unicode_compact_data = UNICODE_COMPACT;
#undef P
	/* the symbolizer reads one PyCodeObject prefix and one unicode header (symbolize.c) */
	if (!err && (d->code_linetable >= 248 || d->code_qualname >= 248 ||
		     d->code_filename >= 248 || d->code_name >= 248 || d->unicode_state >= 80 ||
		     d->unicode_length > 72 || d->unicode_ascii_size > 80)) {
		snprintf(why, whylen, "_Py_DebugOffsets: code or unicode fields beyond what the "
			 "symbolizer reads");
		err = -EPROTO;
	}
	return err;
}

/* 3.14+: _PyRuntime.autoTSSkey._key's offset, from the address PyGILState_GetThisThreadState
 * passes; it must lie inside _PyRuntime. 3.15 has no key: PY_OFF_NONE. */
static int resolve_tsskey(struct elf_file *ef, const struct py_debug_offsets *d,
			  uint64_t runtime_vaddr, struct py_offsets *o, char *why, size_t whylen)
{
	uint8_t code[64];
	struct elf_sym sym;
	uint64_t addr;
	size_t n;
	int err;

	if (((d->version >> 16) & 0xff) != 14)
		return 0;
	err = elf_find_symbol(ef, "PyGILState_GetThisThreadState", &sym);
	if (err) {
		snprintf(why, whylen, "no PyGILState_GetThisThreadState to find autoTSSkey");
		return err;
	}
	n = sym.size && sym.size < sizeof(code) ? sym.size : sizeof(code);
	err = elf_read_vaddr(ef, sym.value, code, n);
	if (err) {
		snprintf(why, whylen, "can't read PyGILState_GetThisThreadState");
		return err;
	}
	err = py_decode_tss_key_addr(code, n, sym.value, &addr, why, whylen);
	if (err)
		return err;
	/* Py_tss_t { int _is_initialized; pthread_key_t _key; } */
	if (addr < runtime_vaddr || addr + 8 > runtime_vaddr + d->runtime_size ||
	    addr + 4 - runtime_vaddr >= PY_OFF_NONE) {
		snprintf(why, whylen, "autoTSSkey at 0x%llx is not inside _PyRuntime",
			 (unsigned long long)addr);
		return -EPROTO;
	}
	o->runtime_tsskey = addr + 4 - runtime_vaddr;
	return 0;
}

int py_offsets_resolve_elf(const char *path, uint32_t version_hex, struct py_offsets *out,
			   char *why, size_t whylen)
{
	int major = version_hex >> 24, minor = (version_hex >> 16) & 0xff;
	const struct py_offsets *o = py_offsets_for(major, minor);
	struct py_debug_offsets d;
	struct elf_file *ef;
	uint64_t runtime;
	int err;

	if (o) {
		*out = *o;
		return 0;
	}
	if (major != 3 || minor < 13) {
		snprintf(why, whylen, "CPython %d.%d is not supported (3.8 and newer are)", major,
			 minor);
		return -ENOTSUP;
	}
	ef = elf_open(path);
	if (!ef) {
		err = -errno;
		snprintf(why, whylen, "can't open %s: %s", path, strerror(errno));
		return err;
	}
	err = py_debug_offsets_read(ef, version_hex, &d, &runtime, why, whylen);
	if (!err)
		err = py_offsets_from_debug(&d, out, why, whylen);
	if (!err)
		err = resolve_tsskey(ef, &d, runtime, out, why, whylen);
	elf_close(ef);
	return err;
}

int py_offsets_resolve(const struct py_proc *p, struct py_offsets *out)
{
	char why[256] = "";
	int err;

	if (!p->supported) { /* e.g. no _PyRuntime to be found: nothing to resolve against */
		pr_err("pid %d: CPython %d.%d in %s: %s; its stacks are not walked\n", p->pid,
		       p->major, p->minor, p->obj_path, p->unsupported);
		return -ENOTSUP;
	}
	err = py_offsets_resolve_elf(p->obj_open_path, p->version_hex, out, why, sizeof(why));
	if (err)
		pr_err("pid %d: CPython %d.%d in %s: %s; its stacks are not walked\n", p->pid,
		       p->major, p->minor, p->obj_path, why);
	return err;
}
