// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <capstone.h>
#include <errno.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host/elf.h"
#include "cpython/eval_table.h"
#include "cpython/insn_check.h"
#include "cpython/tailcall.h"

#define EVAL_FUNC "_PyEval_EvalFrameDefault"
#define TC_PREFIX "_TAIL_CALL_"
#define TC_MAX_CALLEES 16	  /* functions the eval function calls, searched for the table */
#define TC_MAX_TABLES 64	  /* candidate tables in one of them */
#define TC_MAX_FUNC (1u << 20) /* a function longer than this is not decoded */

static void say(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* name, or name.N (a static's unit / LTO suffix) */
static bool sym_is(const char *s, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(s, name, n) && (!s[n] || s[n] == '.');
}

static int tc_sym_cb(const struct elf_sym *s, void *ctx)
{
	return s->type == STT_FUNC && s->size && !strncmp(s->name, TC_PREFIX, strlen(TC_PREFIX));
}

struct sym_at {
	uint64_t addr;
	bool found;
};

static int sym_at_cb(const struct elf_sym *s, void *ctx)
{
	struct sym_at *sa = ctx;

	if (s->type == STT_FUNC && s->value == sa->addr && s->name && *s->name) {
		sa->found = true;
		return 1;
	}
	return 0;
}

static uint8_t *read_code(struct elf_file *ef, uint64_t start, uint64_t size)
{
	uint8_t *code;

	if (!size || size > TC_MAX_FUNC)
		return NULL;
	code = malloc(size);
	if (code && elf_read_vaddr(ef, start, code, size)) {
		free(code);
		code = NULL;
	}
	return code;
}

/* Tables code[0..len) at base indexes: absolute `disp(,%r,8)` operands (eval_table.h) and, in a
 * position-independent build, the addresses `lea disp(%rip)` loads. Distinct, into out. */
static int table_candidates(const uint8_t *code, size_t len, uint64_t base, uint64_t *out,
			    int max)
{
	const uint8_t *p = code;
	size_t left = len;
	uint64_t pc = base;
	cs_insn *insn;
	int n, i;
	csh h;

	n = eval_table_candidates(code, len, base, out, max);
	if (n < 0)
		return n;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(h);
	while (insn && n >= 0 && left && cs_disasm_iter(h, &p, &left, &pc, insn)) {
		const cs_x86 *x = &insn->detail->x86;
		uint64_t t;

		if (insn->id != X86_INS_LEA || x->op_count != 2 ||
		    x->operands[1].type != X86_OP_MEM ||
		    x->operands[1].mem.base != X86_REG_RIP ||
		    x->operands[1].mem.index != X86_REG_INVALID)
			continue;
		t = pc + x->operands[1].mem.disp; /* pc: the next instruction */
		for (i = 0; i < n && out[i] != t; i++)
			;
		if (i < n)
			continue;
		if (n == max)
			n = -E2BIG;
		else
			out[n++] = t;
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	if (!insn)
		return -ENOMEM;
	return n;
}

/* Whether tab (the minor's opcode table shape) points only at starts of functions of the unwind
 * table outside [lo, hi): per-opcode functions. */
static bool table_of_functions(struct elf_file *ef, const uint64_t *tab, uint64_t lo, uint64_t hi)
{
	for (int k = 0; k < EVAL_TABLE_SLOTS; k++) {
		uint64_t start, len;

		if (k && tab[k] == tab[k - 1])
			continue;
		if (tab[k] >= lo && tab[k] < hi)
			return false;
		if (elf_fde_containing(ef, tab[k], &start, &len, NULL, 0) || start != tab[k])
			return false;
	}
	return true;
}

/* The targets of the direct calls in code[0..len) at base (*out malloc'd): the eval function
 * calls the first opcode function (another calling convention: never a jump to it). */
static size_t call_targets(const uint8_t *code, size_t len, uint64_t base, uint64_t **out)
{
	const uint8_t *p = code;
	size_t left = len, n = 0, cap = 0;
	uint64_t pc = base;
	cs_insn *insn;
	csh h;

	*out = NULL;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return 0;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(h);
	while (insn && left && cs_disasm_iter(h, &p, &left, &pc, insn)) {
		const cs_x86 *x = &insn->detail->x86;

		if (insn->id != X86_INS_CALL || x->op_count != 1 ||
		    x->operands[0].type != X86_OP_IMM)
			continue;
		if (n == cap) {
			uint64_t *a = realloc(*out, (cap = cap ? cap * 2 : 64) * sizeof(**out));

			if (!a)
				break;
			*out = a;
		}
		(*out)[n++] = (uint64_t)x->operands[0].imm;
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	return n;
}

/* Stripped: the table of per-opcode functions, indexed by a function that the eval function
 * calls (the first opcode function, start_frame: named by no symbol, the start of a function of
 * the unwind table). 1 when found (why says where), 0 when not. */
static int find_stripped_table(const char *path, struct elf_file *ef, int minor, char *why,
			       size_t whylen)
{
	struct elf_sym ev;
	uint8_t *code;
	uint64_t callees[TC_MAX_CALLEES], *tg = NULL;
	size_t ntg = 0, k;
	int ncallees = 0, found = 0;

	if (!eval_table_known(minor) || elf_find_symbol(ef, EVAL_FUNC, &ev) ||
	    ev.type != STT_FUNC || !(code = read_code(ef, ev.value, ev.size)))
		return 0;
	ntg = call_targets(code, ev.size, ev.value, &tg);
	free(code);
	for (k = 0; k < ntg && ncallees < TC_MAX_CALLEES; k++) {
		struct sym_at sa = { tg[k], false };
		uint64_t start, len;
		int i;

		if (tg[k] >= ev.value && tg[k] < ev.value + ev.size)
			continue;
		for (i = 0; i < ncallees && callees[i] != tg[k]; i++)
			;
		if (i < ncallees)
			continue;
		elf_foreach_symbol(ef, sym_at_cb, &sa);
		if (sa.found || elf_fde_containing(ef, tg[k], &start, &len, NULL, 0) ||
		    start != tg[k])
			continue;
		callees[ncallees++] = tg[k];
	}
	free(tg);
	for (int c = 0; c < ncallees && !found; c++) {
		uint64_t start, len, cand[TC_MAX_TABLES], tab[EVAL_TABLE_SLOTS];
		char fwhy[128];
		int m;

		if (elf_fde_containing(ef, callees[c], &start, &len, NULL, 0) ||
		    !(code = read_code(ef, start, len)))
			continue;
		m = table_candidates(code, len, start, cand, TC_MAX_TABLES);
		free(code);
		for (int i = 0; i < m && !found; i++) {
			if (eval_read_table(path, ef, cand[i], tab) ||
			    eval_table_fingerprint(minor, tab, fwhy, sizeof(fwhy)) ||
			    !table_of_functions(ef, tab, ev.value, ev.value + ev.size))
				continue;
			say(why, whylen, "%s calls 0x%llx, which dispatches through the table "
			    "at 0x%llx of per-opcode functions (0x%llx, 0x%llx, ...) that have no "
			    "names",
			    EVAL_FUNC, (unsigned long long)callees[c], (unsigned long long)cand[i],
			    (unsigned long long)tab[0], (unsigned long long)tab[1]);
			found = 1;
		}
	}
	return found;
}

int tailcall_detect(const char *path, int minor, char *why, size_t whylen)
{
	struct elf_file *ef;
	int kind = TAILCALL_NO;

	if (why && whylen)
		why[0] = 0;
	if (minor < 14)
		return TAILCALL_NO;
	ef = elf_open(path);
	if (!ef) {
		int err = -errno;

		say(why, whylen, "can't open %s: %s", path, strerror(-err));
		return err;
	}
	/* with a symbol table the functions are named; a stripped one is decoded */
	if (elf_foreach_symbol(ef, tc_sym_cb, NULL) == 1)
		kind = TAILCALL_SYMBOLS;
	else if (!elf_has_section(ef, ".symtab") &&
		 find_stripped_table(path, ef, minor, why, whylen) == 1)
		kind = TAILCALL_STRIPPED;
	elf_close(ef);
	return kind;
}

/* The interpreter's functions, by symbol: the _TAIL_CALL_* ones and the eval function. */
struct tc_funcs {
	struct {
		uint64_t start, size;
		char name[64];
	} *f;
	size_t n, cap;
	uint64_t table;
	int ntables;
	int err;
};

static int funcs_cb(const struct elf_sym *s, void *ctx)
{
	struct tc_funcs *tf = ctx;

	/* 3.14 instruction_funcptr_table, 3.15 instruction_funcptr_handler_table (and its
	 * instruction_funcptr_tracing_table, whose entries are not the opcodes' functions) */
	if (s->type == STT_OBJECT && s->size == EVAL_TABLE_SLOTS * 8 &&
	    (sym_is(s->name, "instruction_funcptr_table") ||
	     sym_is(s->name, "instruction_funcptr_handler_table"))) {
		if (!tf->ntables || tf->table != s->value)
			tf->ntables++;
		tf->table = s->value;
		return 0;
	}
	if (s->type != STT_FUNC || !s->size ||
	    (strncmp(s->name, TC_PREFIX, strlen(TC_PREFIX)) && !sym_is(s->name, EVAL_FUNC)))
		return 0;
	for (size_t i = 0; i < tf->n; i++)
		if (tf->f[i].start == s->value)
			return 0; /* .dynsym and .symtab both list it */
	if (tf->n == tf->cap) {
		size_t nc = tf->cap ? tf->cap * 2 : 512;
		void *a = realloc(tf->f, nc * sizeof(*tf->f));

		if (!a) {
			tf->err = -ENOMEM;
			return 1;
		}
		tf->f = a;
		tf->cap = nc;
	}
	tf->f[tf->n].start = s->value;
	tf->f[tf->n].size = s->size;
	snprintf(tf->f[tf->n].name, sizeof(tf->f[tf->n].name), "%s", s->name);
	tf->n++;
	return 0;
}

static int func_named(const struct tc_funcs *tf, const char *opname)
{
	char want[64];

	snprintf(want, sizeof(want), TC_PREFIX "%s", opname);
	for (size_t i = 0; i < tf->n; i++)
		if (sym_is(tf->f[i].name, want))
			return (int)i;
	return -1;
}

/* the first instruction's text */
static void first_insn(struct elf_file *ef, uint64_t at, char *out, size_t outlen)
{
	uint8_t b[16];
	const uint8_t *p = b;
	size_t left = sizeof(b);
	uint64_t pc = at;
	cs_insn *insn;
	csh h;

	snprintf(out, outlen, "?");
	if (elf_read_vaddr(ef, at, b, sizeof(b)) ||
	    cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return;
	insn = cs_malloc(h);
	if (insn && cs_disasm_iter(h, &p, &left, &pc, insn))
		snprintf(out, outlen, "%.31s %.120s", insn->mnemonic, insn->op_str);
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
}

/* Every direct branch of the interpreter's functions into the entry of a probed one must come
 * from a specialised form of it. */
static int check_entries(struct elf_file *ef, const struct tc_funcs *tf,
			 const struct tailcall_op *ops, const int *fi, int n, struct eval_site *out,
			 char *why, size_t whylen)
{
	for (size_t i = 0; i < tf->n; i++) {
		uint8_t *code = read_code(ef, tf->f[i].start, tf->f[i].size);
		uint64_t *tg = NULL;
		size_t ntg = 0;
		int err;

		if (!code) {
			say(why, whylen, "can't read %s (%llu bytes)", tf->f[i].name,
			    (unsigned long long)tf->f[i].size);
			return -EIO;
		}
		err = insn_branch_targets(code, tf->f[i].size, tf->f[i].start, &tg, &ntg, why,
					  whylen);
		free(code);
		if (err)
			return err;
		for (size_t k = 0; k < ntg && !err; k++)
			for (int j = 0; j < n && !err; j++) {
				bool from_form = false;

				if (tg[k] != tf->f[fi[j]].start)
					continue;
				for (int s = 0; s < n; s++)
					if (ops[s].generic == j && fi[s] == (int)i)
						from_form = true;
				if (from_form) {
					out[j].reentered = true;
					continue;
				}
				say(why, whylen, "%s is entered directly from %s, not only "
				    "through the dispatch table: a probe at its entry would count "
				    "other runs",
				    tf->f[fi[j]].name, tf->f[i].name);
				err = -EEXIST;
			}
		free(tg);
		if (err)
			return err;
	}
	return 0;
}

int tailcall_locate(const char *path, int minor, const struct tailcall_op *ops, int n,
		    struct eval_site *out, char *why, size_t whylen)
{
	struct tc_funcs tf = {};
	uint64_t tab[EVAL_TABLE_SLOTS];
	struct elf_file *ef;
	int fi[16], err = 0;

	if (n > 16)
		return -E2BIG;
	for (int i = 0; i < n; i++)
		if (ops[i].generic >= n ||
		    (ops[i].generic >= 0 && ops[ops[i].generic].generic >= 0))
			return -EINVAL; /* a form of a generic form */
	ef = elf_open(path);
	if (!ef) {
		err = -errno;
		say(why, whylen, "can't open %s: %s", path, strerror(-err));
		return err;
	}
	elf_foreach_symbol(ef, funcs_cb, &tf);
	if (tf.err) {
		err = tf.err;
		goto out;
	}
	if (tf.ntables != 1) {
		say(why, whylen, "tail-calling interpreter with %d dispatch tables by symbol "
		    "(instruction_funcptr_table): its opcode numbers can't be checked", tf.ntables);
		err = -ENOENT;
		goto out;
	}
	err = eval_read_table(path, ef, tf.table, tab);
	if (err) {
		say(why, whylen, "can't read the dispatch table at 0x%llx: %s",
		    (unsigned long long)tf.table, strerror(-err));
		goto out;
	}
	if (eval_table_known(minor) &&
	    eval_table_fingerprint(minor, tab, why, whylen)) {
		char w[160];

		snprintf(w, sizeof(w), "%s", why);
		say(why, whylen, "the dispatch table at 0x%llx is not CPython 3.%d's: %s",
		    (unsigned long long)tf.table, minor, w);
		err = -EINVAL;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct eval_site *s = &out[i];

		memset(s, 0, sizeof(*s));
		s->opcode = ops[i].opcode;
		s->table = tf.table;
		s->tail_call = true;
		fi[i] = func_named(&tf, ops[i].name);
		if (fi[i] < 0) {
			say(why, whylen, "no function " TC_PREFIX "%s", ops[i].name);
			err = -ENOENT;
			goto out;
		}
		if (ops[i].opcode < 0 || ops[i].opcode >= EVAL_TABLE_SLOTS ||
		    tab[ops[i].opcode] != tf.f[fi[i]].start) {
			say(why, whylen, "the dispatch table's entry for opcode %d is 0x%llx, not "
			    "%s at 0x%llx", ops[i].opcode,
			    ops[i].opcode >= 0 && ops[i].opcode < EVAL_TABLE_SLOTS ?
			    (unsigned long long)tab[ops[i].opcode] : 0ull, tf.f[fi[i]].name,
			    (unsigned long long)tf.f[fi[i]].start);
			err = -EINVAL;
			goto out;
		}
		/* a function symbol's start is an instruction boundary */
		s->handler = s->probe = tf.f[fi[i]].start;
		s->stepped = true;
		first_insn(ef, s->probe, s->insn, sizeof(s->insn));
		if (elf_vaddr_to_offset(ef, s->probe, &s->offset)) {
			say(why, whylen, "0x%llx is in no loadable segment",
			    (unsigned long long)s->probe);
			err = -ENOENT;
			goto out;
		}
	}
	err = check_entries(ef, &tf, ops, fi, n, out, why, whylen);
out:
	free(tf.f);
	elf_close(ef);
	return err;
}
