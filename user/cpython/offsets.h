/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-version CPython structure offsets (include/py_offsets.h), and the 3.13 cross-check
 * against the interpreter's own _PyRuntime.debug_offsets. */
#ifndef PYHOUND_OFFSETS_H
#define PYHOUND_OFFSETS_H

#include <stddef.h>
#include "host/discover.h"
#include "py_offsets.h"

/* The table for CPython major.minor (3.8 .. 3.13), or NULL. */
const struct py_offsets *py_offsets_for(int major, int minor);

/* Check a table against a raw copy of 3.13's _Py_DebugOffsets (the first len bytes of
 * _PyRuntime). 0 when every offset pyhound uses agrees; -EPROTO on a mismatch or a bad cookie
 * (each difference is logged with pr_err), -ENOTSUP for a free-threaded build, -EINVAL when
 * len is too short. */
int py_offsets_check_debug(const struct py_offsets *o, const void *dbg, size_t len);

/* The offsets for a discovered process: the version's table, validated for 3.13+ against
 * _PyRuntime.debug_offsets read from the ELF file on disk. 0, -ENOTSUP (version without a
 * table), -EPROTO (table disagrees with the interpreter), or -errno opening/reading the ELF. */
int py_offsets_resolve(const struct py_proc *p, struct py_offsets *out);

#endif
