/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython's tail-calling interpreter (3.14+, configure --with-tail-call-interp, clang 19+; what
 * python-build-standalone ships). The eval loop is then not one function with a block per
 * opcode but one function per opcode, _TAIL_CALL_<NAME> (TARGET() in Python/ceval_macros.h), and
 * each ends by tail-calling the next opcode's function through a table of function pointers
 * (instruction_funcptr_table; 3.15 instruction_funcptr_handler_table). _PyEval_EvalFrameDefault
 * only calls the first one. A uprobe at a named function's entry would see every run of its
 * opcode (a symbol's start needs no decoding to be an instruction boundary); without symbols the
 * functions are still found through the table, but not named. `calls` refuses both for now,
 * with what was found (no such build has been tested: user/collect/calls.c). */
#ifndef PYHOUND_TAILCALL_H
#define PYHOUND_TAILCALL_H

#include <stddef.h>
#include "cpython/insn_check.h"

enum tailcall_kind {
	TAILCALL_NO = 0,       /* one eval function (switch or computed gotos) */
	TAILCALL_SYMBOLS = 1,  /* per-opcode functions named in .symtab */
	TAILCALL_STRIPPED = 2, /* per-opcode functions behind the dispatch table, without names */
};

/* Which interpreter the ELF file at path (CPython 3.<minor>) has: enum tailcall_kind, or -errno
 * with why. With symbols: a _TAIL_CALL_* function. Stripped: a function _PyEval_EvalFrameDefault
 * calls indexes a table that has the shape of the minor's opcode table
 * (user/cpython/eval_table.h) and whose entries all start functions of the unwind table,
 * outside _PyEval_EvalFrameDefault; why then says where. Before 3.14: TAILCALL_NO, unread. */
int tailcall_detect(const char *path, int minor, char *why, size_t whylen);

/* An opcode to probe, and how its function may be entered besides the dispatch table. */
struct tailcall_op {
	int opcode;
	const char *name; /* "RESUME_CHECK": the function _TAIL_CALL_RESUME_CHECK */
	int generic;	  /* a specialised form: the index (in the same array) of its generic
			   * form, whose function it jumps to when it deoptimises
			   * (JUMP_TO_PREDICTED); -1 for none */
};

/* The entries of the functions of ops[0..n) as probe sites in out[0..n), in the ELF file at
 * path (CPython 3.<minor>, TAILCALL_SYMBOLS). Each function is the dispatch table's entry for its
 * opcode (the table by its symbol, relocations applied). Every direct jmp/jcc/call of the
 * interpreter's functions (the _TAIL_CALL_* ones and _PyEval_EvalFrameDefault) to one of them
 * must come from one of its specialised forms (out[i].reentered is then set), or it is refused:
 * its entry would count other runs. 0, or -errno with why. */
int tailcall_locate(const char *path, int minor, const struct tailcall_op *ops, int n,
		    struct eval_site *out, char *why, size_t whylen);

#endif
