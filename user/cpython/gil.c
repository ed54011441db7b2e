// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* GIL location per CPython version.
 * 3.8-3.12: measured by compiling offsetof() against each pyenv version's internal headers
 * (gcc 12, x86_64; the method of cpython-layout.md §2):
 *   3.8-3.11  struct _gil_runtime_state is embedded at _PyRuntime.ceval.gil;
 *   3.12      each interpreter points to its GIL (interp->ceval.gil; the main interpreter's own
 *             is interp->_gil), the main interpreter at _PyRuntime.interpreters.main.
 * 3.13+: as 3.12, from the interpreter's own _Py_DebugOffsets: interp->ceval.gil and
 *   interp->_gil with its locked and last_holder; _PyRuntime.interpreters.main is not in the
 *   table: it is the word after interpreters.head (struct pyinterpreters { mutex; head; main;
 *   ... }: 632/640 in pyenv 3.13's headers, 808/816 in sid python3.14d's DWARF, 936/944 in
 *   python3.15d's).
 * The struct itself is the same in every version: interval, last_holder @8, locked @16 (int),
 * switch_number, cond @32, mutex @80, switch_cond @120, switch_mutex @168; 208 bytes (3.14d and
 * 3.15d DWARF too). From 3.13 the table's locked and last_holder must be where that struct has
 * them, or the GIL is not used (a futex "inside" it would be a guess). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cpython/debug_offsets.h"
#include "cpython/gil.h"
#include "host/elf.h"
#include "lib/log.h"

#define GIL_SIZE 208
#define GIL_HOLDER 8
#define GIL_LOCKED 16

struct gil_layout {
	int minor;
	unsigned int runtime_gil; /* 3.8-3.11 */
	unsigned int runtime_main, interp_gil; /* 3.12+ */
};

static const struct gil_layout layouts[] = {
	{ 8, 1152, 0, 0 },  { 9, 352, 0, 0 },  { 10, 352, 0, 0 },
	{ 11, 360, 0, 0 },  { 12, 0, 48, 384 },
};

int py_gil_from_debug(const struct py_debug_offsets *d, uint64_t runtime_addr,
		      struct ph_gil_info *g, char *why, size_t whylen)
{
	uint64_t st = d->interp_gil_state;

	if (d->interp_gil_locked < st || d->interp_gil_locked - st != GIL_LOCKED ||
	    d->interp_gil_holder < st || d->interp_gil_holder - st != GIL_HOLDER ||
	    st + GIL_SIZE > d->interp_size) {
		snprintf(why, whylen, "_Py_DebugOffsets put the GIL's locked at %llu and last_holder "
			 "at %llu of _gil at %llu: not the 208-byte struct _gil_runtime_state "
			 "pyhound knows", (unsigned long long)d->interp_gil_locked,
			 (unsigned long long)d->interp_gil_holder, (unsigned long long)st);
		return -EPROTO;
	}
	if (d->runtime_interp_head + 16 > d->runtime_size || d->interp_ceval_gil > UINT32_MAX) {
		snprintf(why, whylen, "_Py_DebugOffsets: interpreters.main (after interpreters.head "
			 "at %llu) past _PyRuntime", (unsigned long long)d->runtime_interp_head);
		return -EPROTO;
	}
	*g = (struct ph_gil_info){
		.interp_addr = runtime_addr + d->runtime_interp_head + 8,
		.interp_gil = (__u32)d->interp_ceval_gil,
		.gil_size = GIL_SIZE,
		.gil_locked = GIL_LOCKED,
		.gil_holder = GIL_HOLDER,
	};
	return 0;
}

static int gil_from_table(const struct py_proc *p, struct ph_gil_info *g)
{
	struct py_debug_offsets d;
	struct elf_file *ef = elf_open(p->obj_open_path);
	char why[256] = "";
	int err;

	if (!ef)
		return -errno;
	err = py_debug_offsets_read(ef, p->version_hex, &d, NULL, why, sizeof(why));
	elf_close(ef);
	if (!err)
		err = py_gil_from_debug(&d, p->runtime_addr, g, why, sizeof(why));
	if (err)
		pr_warn("pid %d: CPython %d.%d: %s\n", p->pid, p->major, p->minor, why);
	return err;
}

int py_gil_info(const struct py_proc *p, struct ph_gil_info *g)
{
	if (p->major != 3)
		return -ENOTSUP;
	if (p->minor >= 13)
		return gil_from_table(p, g);
	for (unsigned int i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		const struct gil_layout *l = &layouts[i];

		if (l->minor != p->minor)
			continue;
		*g = (struct ph_gil_info){
			.gil_addr = l->runtime_gil ? p->runtime_addr + l->runtime_gil : 0,
			.interp_addr = l->runtime_main ? p->runtime_addr + l->runtime_main : 0,
			.interp_gil = l->interp_gil,
			.gil_size = GIL_SIZE,
			.gil_locked = GIL_LOCKED,
			.gil_holder = GIL_HOLDER,
		};
		return 0;
	}
	return -ENOTSUP;
}
