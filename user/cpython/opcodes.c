// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpython/opcodes.h"

extern const struct py_optab *const py_optabs[];

const struct py_optab *py_optab_for(int minor)
{
	for (size_t i = 0; py_optabs[i]; i++)
		if (py_optabs[i]->minor == minor)
			return py_optabs[i];
	return NULL;
}

int py_insn_next(const struct py_optab *t, const uint8_t *code, size_t len, size_t *pos,
		 struct py_insn *out)
{
	uint32_t arg = 0;
	size_t p = *pos, start = *pos;
	unsigned int nprefix = 0;

	len &= ~(size_t)1;
	if (len > PY_MAX_BYTECODE)
		len = PY_MAX_BYTECODE;
	while (p + 2 <= len) {
		uint8_t op = code[p], d = t->deopt[op];

		arg = arg << 8 | code[p + 1];
		if (d == t->extended_arg && nprefix < 3) {
			/* the prefix's own caches: none in any version, but skip what the table says */
			p += 2 + 2 * (size_t)t->caches[op];
			nprefix++;
			continue;
		}
		out->offset = (uint32_t)p;
		out->start = (uint32_t)start;
		out->op = op;
		out->deopt = d;
		out->arg = arg;
		*pos = p + 2 + 2 * (size_t)t->caches[op];
		return 1;
	}
	*pos = len;
	return 0;
}

int py_op_label(const struct py_optab *t, const uint8_t *code, size_t len, int instr, char *buf,
		size_t buflen, uint8_t *deopt)
{
	struct py_insn in;
	size_t pos = 0;
	const char *name;

	if (!t || instr < 0 || (size_t)instr >= len || (instr & 1) || !buflen)
		return -ENOENT;
	while (py_insn_next(t, code, len, &pos, &in)) {
		if (in.start > (uint32_t)instr)
			return -ENOENT; /* instr was inside the previous instruction's caches */
		if (in.offset < (uint32_t)instr)
			continue;
		/* start <= instr <= offset: the opcode or one of its EXTENDED_ARG prefixes */
		name = t->names[in.op];
		if (!name)
			return -ENOENT;
		if (deopt)
			*deopt = in.deopt;
		if (in.deopt == t->compare_op && t->ncmp_ops &&
		    (in.arg >> t->cmp_shift) < (uint32_t)t->ncmp_ops)
			snprintf(buf, buflen, "%s %s", name, t->cmp_ops[in.arg >> t->cmp_shift]);
		else if (in.op == t->binary_op && in.arg < (uint32_t)t->n_nb_ops)
			snprintf(buf, buflen, "%s %s", name, t->nb_ops[in.arg]);
		else
			snprintf(buf, buflen, "%s", name);
		return 0;
	}
	return -ENOENT;
}

#define PY_MAX_LOOP_FIXUP 1024

struct loop {
	uint32_t from, to; /* byte offsets, inclusive */
};

static int cmp_loop(const void *x, const void *y)
{
	const struct loop *a = x, *b = y;

	if (a->from != b->from)
		return a->from < b->from ? -1 : 1;
	return a->to > b->to ? -1 : a->to < b->to;
}

int py_loop_depths(const struct py_optab *t, const uint8_t *code, size_t len, uint8_t *depth)
{
	struct loop *loops = NULL;
	size_t n = 0, cap = 0, pos = 0, units;
	struct py_insn in;
	int *delta = NULL, cur = 0, err = 0;

	if (!t || len > PY_MAX_BYTECODE)
		return -EINVAL;
	units = len / 2;
	memset(depth, 0, units);
	while (py_insn_next(t, code, len, &pos, &in)) {
		int64_t target;
		uint8_t j = t->jump[in.deopt];

		if (j == PY_JUMP_BACK) /* relative to the end of the instruction and its caches */
			target = (int64_t)pos - 2 * (int64_t)in.arg;
		else if (j == PY_JUMP_ABS)
			target = t->minor >= 10 ? 2 * (int64_t)in.arg : (int64_t)in.arg;
		else
			continue;
		if (target < 0 || target > in.offset)
			continue; /* forward or out of range: not a loop */
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct loop *nl = realloc(loops, nc * sizeof(*nl));

			if (!nl) {
				err = -ENOMEM;
				goto out;
			}
			loops = nl;
			cap = nc;
		}
		loops[n++] = (struct loop){ (uint32_t)target, in.offset };
	}
	if (!n)
		goto out;
	qsort(loops, n, sizeof(*loops), cmp_loop);
	delta = calloc(units + 1, sizeof(*delta));
	if (!delta) {
		err = -ENOMEM;
		goto out;
	}
	/* a jump back to an outer loop's head from inside an inner loop (3.14: a while loop's
	 * exit goes straight to the enclosing for) makes the outer loop end where the inner one
	 * does: extend it, innermost heads first (bounded: real code has few loops) */
	if (n <= PY_MAX_LOOP_FIXUP)
		for (size_t i = n; i-- > 0;)
			for (size_t j = i + 1; j < n && loops[j].from <= loops[i].to; j++)
				if (loops[j].to > loops[i].to)
					loops[i].to = loops[j].to;
	for (size_t i = 0; i < n; i++) {
		if (i && loops[i].from == loops[i - 1].from)
			continue; /* same target: the same loop (continue, while's test) */
		delta[loops[i].from / 2]++;
		delta[loops[i].to / 2 + 1]--;
	}
	for (size_t u = 0; u < units; u++) {
		cur += delta[u];
		depth[u] = cur < 0 ? 0 : cur > 255 ? 255 : (uint8_t)cur;
	}
out:
	free(loops);
	free(delta);
	return err;
}

static int starts(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

int py_op_is_membership(const char *l)
{
	return starts(l, "CONTAINS_OP") || !strcmp(l ? l : "", "COMPARE_OP in") ||
	       !strcmp(l ? l : "", "COMPARE_OP not in");
}

int py_op_is_comparison(const char *l)
{
	return starts(l, "COMPARE_OP") || starts(l, "CONTAINS_OP") || starts(l, "IS_OP");
}

int py_op_is_str_concat(const char *l)
{
	return starts(l, "BINARY_OP_ADD_UNICODE") || starts(l, "BINARY_OP_INPLACE_ADD_UNICODE");
}

int py_op_is_arith(const char *l)
{
	static const char *const generic[] = {
		"BINARY_ADD", "BINARY_SUBTRACT", "BINARY_MULTIPLY", "BINARY_TRUE_DIVIDE",
		"BINARY_FLOOR_DIVIDE", "BINARY_MODULO", "BINARY_POWER", "INPLACE_ADD",
		"INPLACE_SUBTRACT", "INPLACE_MULTIPLY", "INPLACE_TRUE_DIVIDE",
		"INPLACE_FLOOR_DIVIDE", "INPLACE_MODULO", "INPLACE_POWER", "UNARY_NEGATIVE",
	};

	if (!l)
		return 0;
	if (py_op_is_str_concat(l))
		return 0;
	if (starts(l, "BINARY_OP_ADD_") || starts(l, "BINARY_OP_SUBTRACT_") ||
	    starts(l, "BINARY_OP_MULTIPLY_"))
		return 1; /* 3.11+: _INT / _FLOAT */
	if (starts(l, "BINARY_OP ")) { /* generic: the operator is known, the types are not */
		const char *op = l + strlen("BINARY_OP ");

		return strcspn(op, "+-*/%") == 0;
	}
	for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
		if (!strcmp(l, generic[i]))
			return 1;
	return 0;
}
