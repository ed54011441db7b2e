/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a CPython process's GIL is (struct _gil_runtime_state), for the wall-clock sampler:
 * a thread blocked on a futex inside it waits for the GIL; locked and last_holder name the
 * thread holding it. Offsets from each version's headers (pycore_gil.h, pycore_runtime.h,
 * pycore_interp.h; x86_64, default builds). */
#ifndef PYHOUND_GIL_H
#define PYHOUND_GIL_H

#include "host/discover.h"
#include "wall.h"

/* 0 and *g for 3.8 .. 3.13; -ENOTSUP for other versions. */
int py_gil_info(const struct py_proc *p, struct ph_gil_info *g);

#endif
