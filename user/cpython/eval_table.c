// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <capstone.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "cpython/eval_table.h"

/* Opcode numbers CPython 3.<minor> leaves undefined: their opcode_targets entries are all
 * &&_unknown_opcode (Python/opcode_targets.h), every other entry is its own handler. Read from
 * the real tables (the symbol opcode_targets of sid's python3.14d, opcode_targets_table of
 * python3.15d, the table Debian's python3.11 dispatches through) and equal to the numbers
 * dis.opname leaves as '<N>' (3.14, 3.15; 3.11 also fills free numbers with its specialised
 * forms, which dis does not list). Inclusive ranges. */
struct slot_range {
	int lo, hi;
};

static const struct {
	int minor;
	struct slot_range r[2];
} unknown_slots[] = {
	{ 11, { { 181, 254 }, { -1, -1 } } },
	{ 14, { { 121, 127 }, { 212, 233 } } },
	{ 15, { { 120, 127 }, { 219, 232 } } },
};

static bool slot_unknown(int k, const struct slot_range *r)
{
	for (int i = 0; i < 2; i++)
		if (r[i].lo >= 0 && k >= r[i].lo && k <= r[i].hi)
			return true;
	return false;
}

bool eval_table_known(int minor)
{
	for (size_t i = 0; i < sizeof(unknown_slots) / sizeof(unknown_slots[0]); i++)
		if (unknown_slots[i].minor == minor)
			return true;
	return false;
}

int eval_table_fingerprint(int minor, const uint64_t *tab, char *why, size_t whylen)
{
	const struct slot_range *r = NULL;
	uint64_t unk = 0;
	int k, j;

	for (size_t i = 0; i < sizeof(unknown_slots) / sizeof(unknown_slots[0]); i++)
		if (unknown_slots[i].minor == minor)
			r = unknown_slots[i].r;
	if (!r) {
		snprintf(why, whylen, "no opcode table shape known for CPython 3.%d", minor);
		return -ENOTSUP;
	}
	for (k = 0; k < EVAL_TABLE_SLOTS; k++) {
		if (!slot_unknown(k, r))
			continue;
		if (!unk)
			unk = tab[k];
		if (tab[k] != unk || !unk) {
			snprintf(why, whylen, "entry %d is not the unknown-opcode entry", k);
			return -EINVAL;
		}
	}
	for (k = 0; k < EVAL_TABLE_SLOTS; k++) {
		if (slot_unknown(k, r))
			continue;
		if (tab[k] == unk) {
			snprintf(why, whylen, "opcode %d's entry is the unknown-opcode entry", k);
			return -EINVAL;
		}
		for (j = k + 1; j < EVAL_TABLE_SLOTS; j++)
			if (!slot_unknown(j, r) && tab[j] == tab[k]) {
				snprintf(why, whylen, "opcodes %d and %d share an entry", k, j);
				return -EINVAL;
			}
	}
	return 0;
}

static int add_candidate(uint64_t *out, int n, int max, uint64_t v)
{
	for (int i = 0; i < n; i++)
		if (out[i] == v)
			return n;
	if (n == max)
		return -E2BIG;
	out[n] = v;
	return n + 1;
}

int eval_table_candidates(const uint8_t *code, size_t len, uint64_t base, uint64_t *out,
			  int max)
{
	const uint8_t *p = code;
	size_t left = len;
	uint64_t pc = base;
	cs_insn *insn;
	int n = 0;
	csh h;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(h);
	while (insn && n >= 0 && left && cs_disasm_iter(h, &p, &left, &pc, insn)) {
		const cs_x86 *x = &insn->detail->x86;
		bool mem8 = false;
		int64_t imm = 0;

		for (int i = 0; i < x->op_count && n >= 0; i++) {
			const cs_x86_op *o = &x->operands[i];

			if (o->type == X86_OP_MEM && o->mem.base == X86_REG_INVALID &&
			    o->mem.index != X86_REG_INVALID && o->mem.scale == 8 && o->mem.disp > 0)
				n = add_candidate(out, n, max, (uint64_t)o->mem.disp);
			if (o->type == X86_OP_MEM && o->size == 8)
				mem8 = true;
			if (o->type == X86_OP_IMM)
				imm = o->imm;
		}
		/* a table's address kept in an 8-byte local: movq $T, slot / cmpq $T, slot */
		if (n >= 0 && mem8 && imm > 0 &&
		    (insn->id == X86_INS_MOV || insn->id == X86_INS_CMP))
			n = add_candidate(out, n, max, (uint64_t)imm);
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	if (!insn)
		return -ENOMEM;
	if (n >= 0 && left)
		return -EIO;
	return n;
}
