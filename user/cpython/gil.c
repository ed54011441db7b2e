// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* GIL location per CPython version. Measured by compiling offsetof() against each pyenv
 * version's internal headers (gcc 12, x86_64; the method of cpython-layout.md §2):
 *   3.8-3.11  struct _gil_runtime_state is embedded at _PyRuntime.ceval.gil;
 *   3.12-3.13 each interpreter points to its GIL (interp->ceval.gil; the main interpreter's own
 *             is interp->_gil), the main interpreter at _PyRuntime.interpreters.main.
 * The struct itself is the same in every version: interval, last_holder @8, locked @16 (int),
 * switch_number, cond @32, mutex @80, switch_cond @120, switch_mutex @168; 208 bytes. */
#include <errno.h>
#include "cpython/gil.h"

struct gil_layout {
	int minor;
	unsigned int runtime_gil; /* 3.8-3.11 */
	unsigned int runtime_main, interp_gil; /* 3.12+ */
};

static const struct gil_layout layouts[] = {
	{ 8, 1152, 0, 0 },  { 9, 352, 0, 0 },  { 10, 352, 0, 0 },
	{ 11, 360, 0, 0 },  { 12, 0, 48, 384 }, { 13, 0, 640, 16 },
};

int py_gil_info(const struct py_proc *p, struct ph_gil_info *g)
{
	if (p->major != 3)
		return -ENOTSUP;
	for (unsigned int i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		const struct gil_layout *l = &layouts[i];

		if (l->minor != p->minor)
			continue;
		*g = (struct ph_gil_info){
			.gil_addr = l->runtime_gil ? p->runtime_addr + l->runtime_gil : 0,
			.interp_addr = l->runtime_main ? p->runtime_addr + l->runtime_main : 0,
			.interp_gil = l->interp_gil,
			.gil_size = 208,
			.gil_locked = 16,
			.gil_holder = 8,
		};
		return 0;
	}
	return -ENOTSUP;
}
