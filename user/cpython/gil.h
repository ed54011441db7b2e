/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a CPython process's GIL is (struct _gil_runtime_state), for the wall-clock sampler:
 * a thread blocked on a futex inside it waits for the GIL; locked and last_holder name the
 * thread holding it. Offsets from each version's headers (pycore_gil.h, pycore_runtime.h,
 * pycore_interp.h; x86_64, default builds) up to 3.12, from _Py_DebugOffsets from 3.13. */
#ifndef PYHOUND_GIL_H
#define PYHOUND_GIL_H

#include <stddef.h>
#include <stdint.h>
#include "host/discover.h"
#include "wall.h"

struct py_debug_offsets;

/* 0 and *g for 3.8 .. 3.12 (compiled in) and 3.13+ (the process's own _Py_DebugOffsets; a
 * table that fails a check is logged with its reason); -ENOTSUP for other versions. */
int py_gil_info(const struct py_proc *p, struct ph_gil_info *g);

/* 3.13+: *g from a checked table and _PyRuntime's address. 0, or -EPROTO with why when the
 * table's GIL fields are not where the known struct _gil_runtime_state has them. */
int py_gil_from_debug(const struct py_debug_offsets *d, uint64_t runtime_addr,
		      struct ph_gil_info *g, char *why, size_t whylen);

#endif
