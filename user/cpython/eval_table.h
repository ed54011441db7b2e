/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The eval loop's computed-goto dispatch table (opcode_targets) in a binary without a symbol for
 * it (stripped release builds): candidate tables are the absolute addresses the eval loop's
 * code indexes by 8 (`jmp *T(,%r,8)`, `mov T(,%r,8),%r`) or stores as an immediate (3.15 keeps
 * the table in use in a local: `movq $T, slot`), and the opcode table is the one whose repeated
 * entry (the _unknown_opcode label) sits exactly at the opcode numbers that CPython 3.<minor>
 * leaves undefined, all other entries distinct. Pure functions over bytes: unit-tested. */
#ifndef PYHOUND_EVAL_TABLE_H
#define PYHOUND_EVAL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVAL_TABLE_SLOTS 256

/* Absolute addresses that code[0..len) at base uses as an 8-byte-indexed table or stores as a
 * 32-bit immediate, distinct, into out[0..max). Returns how many (<= max), or -errno (-EIO:
 * undecodable bytes). */
int eval_table_candidates(const uint8_t *code, size_t len, uint64_t base, uint64_t *out,
			  int max);

/* Whether a shape is known for CPython 3.<minor> (3.11, 3.14, 3.15). */
bool eval_table_known(int minor);

/* Whether tab[256] has the shape of CPython 3.<minor>'s opcode_targets. 0; -ENOTSUP when no
 * shape is known for the minor; -EINVAL with why when tab does not match. */
int eval_table_fingerprint(int minor, const uint64_t *tab, char *why, size_t whylen);

#endif
