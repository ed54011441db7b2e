/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython bytecode as the interpreter runs it, 3.8-3.13: per-version opcode tables generated
 * from each version's own opcode/dis modules (user/cpython/opcodes_tab.c, scripts/gen-opcodes.sh),
 * an instruction decoder (EXTENDED_ARG, 3.11+ inline caches), the opcode at a sampled offset
 * (with the specialised forms of 3.11+, which tell operand types apart) and loop nesting from
 * the backward jumps. Pure: works on a copy of the bytecode; every index is bound-checked, so a
 * corrupt or hostile copy gives "unknown", never a read out of bounds. */
#ifndef PYHOUND_OPCODES_H
#define PYHOUND_OPCODES_H

#include <stddef.h>
#include <stdint.h>

enum py_jump {
	PY_JUMP_NONE = 0,
	PY_JUMP_BACK = 1,	  /* 3.11+: relative, backward (a loop's end) */
	PY_JUMP_BACK_NOINT = 2,	  /* 3.11+: JUMP_BACKWARD_NO_INTERRUPT (await/yield from, no loop) */
	PY_JUMP_ABS = 3,	  /* 3.8-3.10: absolute target (backward: a loop) */
	PY_JUMP_FWD = 4,	  /* relative, forward */
};

struct py_optab {
	int minor;
	const char *const *names; /* [256], NULL for unused opcodes */
	const uint8_t *deopt;	  /* [256] base opcode of a specialised/instrumented form */
	const uint8_t *caches;	  /* [256] inline cache entries (code units) after the opcode */
	const uint8_t *jump;	  /* [256] enum py_jump */
	const char *const *nb_ops; /* 3.11+: BINARY_OP operand symbols ("+", "+=", ...) */
	int n_nb_ops;
	const char *const *cmp_ops; /* COMPARE_OP operand symbols */
	int ncmp_ops;
	int cmp_shift;		    /* COMPARE_OP: operand index = arg >> cmp_shift */
	int extended_arg, compare_op, binary_op, contains_op; /* -1: not in this version */
};

#define PY_MAX_BYTECODE (1u << 20) /* longer bytecode is not decoded */
#define PY_OP_LABEL_LEN 48

/* The table for CPython 3.<minor>, or NULL when there is none. */
const struct py_optab *py_optab_for(int minor);

struct py_insn {
	uint32_t offset; /* byte offset of the opcode (after its EXTENDED_ARG prefixes) */
	uint32_t start;	 /* byte offset of its first EXTENDED_ARG, = offset without one */
	uint8_t op, deopt;
	uint32_t arg;	 /* with EXTENDED_ARG prefixes applied */
};

/* The instruction at *pos (a byte offset, even), advancing *pos past it and its caches.
 * Returns 1 with out filled, 0 at the end. */
int py_insn_next(const struct py_optab *t, const uint8_t *code, size_t len, size_t *pos,
		 struct py_insn *out);

/* Label of the instruction at byte offset instr: its opcode name, the specialised form as it
 * runs, with the operand for generic comparisons and binary operators ("COMPARE_OP in",
 * "BINARY_OP +="). 0 with buf filled; -ENOENT when instr is not an instruction start (a
 * cache entry, odd, out of range) or the opcode is unknown. *deopt gets the base opcode. */
int py_op_label(const struct py_optab *t, const uint8_t *code, size_t len, int instr, char *buf,
		size_t buflen, uint8_t *deopt);

/* Loop nesting of every code unit: depth[i] for byte offset 2*i, (len / 2) entries. A loop is
 * the range from a backward jump's target to the jump (3.11+: JUMP_BACKWARD and the 3.11
 * POP_JUMP_BACKWARD_IF_*; 3.8-3.10: absolute jumps to an earlier offset); several jumps to one
 * target are one loop. Depths saturate at 255. 0 or -EINVAL. */
int py_loop_depths(const struct py_optab *t, const uint8_t *code, size_t len, uint8_t *depth);

/* Names of opcode families the findings use, by the label's base name */
int py_op_is_membership(const char *label);	/* CONTAINS_OP*, COMPARE_OP in/not in (3.8) */
int py_op_is_comparison(const char *label);	/* COMPARE_OP*, CONTAINS_OP*, IS_OP */
int py_op_is_str_concat(const char *label);	/* BINARY_OP_(INPLACE_)ADD_UNICODE */
int py_op_is_arith(const char *label);		/* arithmetic on numbers, as far as visible */

#endif
