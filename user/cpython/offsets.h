/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython structure offsets (include/py_offsets.h): compiled in for 3.8-3.12, from the
 * interpreter's own _Py_DebugOffsets for 3.13+. */
#ifndef PYHOUND_OFFSETS_H
#define PYHOUND_OFFSETS_H

#include <stddef.h>
#include <stdint.h>
#include "host/discover.h"
#include "cpython/debug_offsets.h"
#include "py_offsets.h"

/* The compiled-in table for CPython major.minor (3.8 .. 3.12), or NULL. */
const struct py_offsets *py_offsets_for(int major, int minor);

/* The walker's offsets from a checked _Py_DebugOffsets (3.13+) plus the constants the table
 * lacks. 0, or -EPROTO with why (an offset too large for the walker's 16-bit fields). */
int py_offsets_from_debug(const struct py_debug_offsets *d, struct py_offsets *o, char *why,
			  size_t whylen);

/* The offsets for the ELF object at path holding _PyRuntime, whose Py_Version is version_hex:
 * the compiled table up to 3.12; from 3.13 the object's _Py_DebugOffsets, checked (see
 * py_debug_offsets_parse), and for 3.14 autoTSSkey decoded from the object's code. 0, or
 * -errno with one line of reason in why (-ENOTSUP: version or build not supported). */
int py_offsets_resolve_elf(const char *path, uint32_t version_hex, struct py_offsets *out,
			   char *why, size_t whylen);

/* The same for a discovered process; a refusal is logged (pr_err) naming the process. */
int py_offsets_resolve(const struct py_proc *p, struct py_offsets *out);

#endif
