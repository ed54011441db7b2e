/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Byte offsets into CPython's structures that the stack walker (BPF) and the symbolizer
 * (userspace) need: compiled in for 3.8-3.12, taken from the interpreter's own _Py_DebugOffsets
 * for 3.13+ (user/cpython/offsets.c). Fixed-size types only: the
 * struct is copied as-is into a BPF map. PY_OFF_NONE marks a field the version lacks. */
#ifndef PYHOUND_PY_OFFSETS_H
#define PYHOUND_PY_OFFSETS_H

#ifndef __VMLINUX_H__ /* BPF side: vmlinux.h has the __u* types */
#include <linux/types.h>
#endif

#define PY_OFF_NONE 0xffff

/* How the walker finds and links frames. */
enum py_walk_kind {
	PY_WALK_FRAMEOBJ = 1, /* 3.8-3.10: tstate->frame, PyFrameObject.f_back, f_lasti */
	PY_WALK_CFRAME = 2,   /* 3.11/3.12: tstate->cframe->current_frame, iframe.previous */
	PY_WALK_CURFRAME = 3, /* 3.13+: tstate->current_frame */
};

/* How the instruction position is expressed in the frame. */
enum py_lasti_kind {
	PY_LASTI_BYTES = 1, /* 3.8/3.9: f_lasti is a byte offset (int) */
	PY_LASTI_UNITS = 2, /* 3.10: f_lasti counts 2-byte code units (int) */
	PY_LASTI_PTR = 3,   /* 3.11+: pointer into co_code_adaptive (prev_instr / instr_ptr) */
};

struct py_offsets {
	__u32 version_hex; /* major << 24 | minor << 16 (micro and level not significant) */
	__u16 walk_kind;   /* enum py_walk_kind */
	__u16 lasti_kind;  /* enum py_lasti_kind */

	/* _PyRuntimeState */
	__u16 runtime_interp_head; /* interpreters.head */
	__u16 runtime_tsskey;	   /* (gilstate.)autoTSSkey._key: an int pthread key */

	/* PyInterpreterState */
	__u16 interp_next;
	__u16 interp_threads_head; /* tstate_head / threads.head */

	/* PyThreadState */
	__u16 tstate_next;
	__u16 tstate_thread_id;	   /* pthread_self() == fsbase on glibc x86_64 */
	__u16 tstate_native_tid;   /* 3.11+ */
	__u16 tstate_frame;	   /* frame (3.8-3.10), cframe (3.11/3.12), current_frame (3.13) */
	__u16 cframe_current_frame; /* _PyCFrame.current_frame (3.11/3.12) */

	/* PyFrameObject (3.8-3.10) or _PyInterpreterFrame (3.11+) */
	__u16 frame_back;  /* f_back / previous */
	__u16 frame_code;  /* f_code / f_executable */
	__u16 frame_lasti; /* f_lasti / prev_instr / instr_ptr */
	__u16 frame_owner; /* 3.11+: a char */
	__u16 frame_owner_skip; /* skip frames whose owner >= this (3 on 3.12+, PY_OFF_NONE otherwise) */

	/* PyCodeObject */
	__u16 code_argcount;
	__u16 code_flags;
	__u16 code_firstlineno;
	__u16 code_filename;
	__u16 code_name;
	__u16 code_qualname; /* 3.11+ */
	__u16 code_linetable; /* co_lnotab (3.8/3.9), co_linetable (3.10+): a bytes object */
	__u16 code_code;      /* co_code bytes object (3.8-3.10) */
	__u16 code_adaptive;  /* co_code_adaptive (3.11+) */

	/* objects */
	__u16 ob_type;
	__u16 var_size;	    /* PyVarObject.ob_size */
	__u16 bytes_sval;   /* PyBytesObject.ob_sval */
	__u16 unicode_length;
	__u16 unicode_state;
	__u16 unicode_ascii_data;   /* sizeof(PyASCIIObject) */
	__u16 unicode_compact_data; /* sizeof(PyCompactUnicodeObject) */
	__u16 unicode_data_ptr;	    /* PyUnicodeObject.data (legacy, non-compact strings) */
	__u16 frame_code_tag; /* low tag bits to clear in frame_code (3.14+: a _PyStackRef), or 0 */
	__u16 frame_localsplus; /* f_localsplus / localsplus: the arguments, then the locals (3.14+:
				   _PyStackRefs, tagged as frame_code is) */
	__u16 pad[3];
};

_Static_assert(sizeof(struct py_offsets) == 80, "py_offsets layout");

#endif
