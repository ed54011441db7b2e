// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host/elf.h"
#include "cpython/eval_table.h"
#include "cpython/insn_check.h"

#define EVAL_FUNC "_PyEval_EvalFrameDefault"
#define EVAL_COLD EVAL_FUNC ".cold"
#define TABLE_SLOTS 256
#define MAX_BRANCH_SCAN 64 /* instructions from a handler's start to its first branch */

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

static int cs_start(csh *h, bool detail)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, h) != CS_ERR_OK)
		return -ENOMEM;
	if (detail)
		cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
	return 0;
}

int insn_check_boundary(const uint8_t *code, size_t len, uint64_t base, uint64_t addr, char *why,
			size_t whylen)
{
	const uint8_t *p = code;
	size_t left = len;
	uint64_t pc = base, last = base;
	cs_insn *insn;
	csh h;
	int err = -EINVAL;

	if (addr < base || addr >= base + len) {
		say(why, whylen, "0x%llx is outside the function [0x%llx, 0x%llx)",
		    (unsigned long long)addr, (unsigned long long)base,
		    (unsigned long long)(base + len));
		return -EINVAL;
	}
	if (cs_start(&h, false))
		return -ENOMEM;
	insn = cs_malloc(h);
	if (!insn) {
		cs_close(&h);
		return -ENOMEM;
	}
	while (pc < addr) {
		last = pc;
		if (!cs_disasm_iter(h, &p, &left, &pc, insn)) {
			say(why, whylen, "undecodable bytes at 0x%llx before 0x%llx",
			    (unsigned long long)last, (unsigned long long)addr);
			goto out;
		}
	}
	if (pc == addr)
		err = 0;
	else
		say(why, whylen, "0x%llx is inside the instruction at 0x%llx (%s %s), not on a "
			"boundary", (unsigned long long)addr, (unsigned long long)last, insn->mnemonic,
		    insn->op_str);
out:
	cs_free(insn, 1);
	cs_close(&h);
	return err;
}

static bool is_rel_branch(csh h, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	if (!cs_insn_group(h, insn, CS_GRP_JUMP) && insn->id != X86_INS_CALL)
		return false;
	/* jcc / jmp / call with an immediate target: emulated by x86 uprobes; jmp *reg is not */
	return x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
	       insn->id != X86_INS_JRCXZ && insn->id != X86_INS_JECXZ && insn->id != X86_INS_JCXZ;
}

int insn_first_branch(const uint8_t *code, size_t len, uint64_t base, uint64_t from,
		      unsigned int max_insns, const int *regs, int nregs, uint64_t *at, bool *is_call,
		      char *text, size_t textlen, char *why, size_t whylen)
{
	const uint8_t *p;
	size_t left;
	uint64_t pc = from;
	cs_insn *insn;
	unsigned int i;
	csh h;
	int err = -ENOENT;

	if (from < base || from >= base + len)
		return -EINVAL;
	p = code + (from - base);
	left = len - (from - base);
	if (cs_start(&h, true))
		return -ENOMEM;
	insn = cs_malloc(h);
	if (!insn) {
		cs_close(&h);
		return -ENOMEM;
	}
	for (i = 0; i < max_insns; i++) {
		uint64_t here = pc;

		if (!cs_disasm_iter(h, &p, &left, &pc, insn)) {
			say(why, whylen, "undecodable bytes at 0x%llx", (unsigned long long)here);
			break;
		}
		if (is_rel_branch(h, insn)) {
			*at = here;
			if (is_call)
				*is_call = insn->id == X86_INS_CALL;
			if (text)
				snprintf(text, textlen, "%.31s %.120s", insn->mnemonic, insn->op_str);
			err = 0;
			break;
		}
		if (cs_insn_group(h, insn, CS_GRP_JUMP) || cs_insn_group(h, insn, CS_GRP_RET) ||
		    cs_insn_group(h, insn, CS_GRP_IRET) || cs_insn_group(h, insn, CS_GRP_INT)) {
			say(why, whylen, "the block from 0x%llx ends at 0x%llx with '%s %s', not a "
				"relative jcc/jmp/call", (unsigned long long)from,
			    (unsigned long long)here, insn->mnemonic, insn->op_str);
			break;
		}
		if (nregs > 0) {
			cs_regs rr, rw;
			uint8_t nr, nw;

			if (cs_regs_access(h, insn, rr, &nr, rw, &nw) != CS_ERR_OK) {
				say(why, whylen, "can't tell which registers 0x%llx writes",
				    (unsigned long long)here);
				err = -EBUSY;
				break;
			}
			for (int a = 0; a < nw && err == -ENOENT; a++)
				for (int b = 0; b < nregs; b++)
					if (rw[a] == regs[b]) {
						say(why, whylen, "'%s %s' at 0x%llx overwrites an "
							"argument register before the first branch",
						    insn->mnemonic, insn->op_str,
						    (unsigned long long)here);
						err = -EBUSY;
						break;
					}
			if (err == -EBUSY)
				break;
		}
	}
	if (err == -ENOENT && i == max_insns)
		say(why, whylen, "no relative jcc/jmp within %u instructions of 0x%llx", max_insns,
		    (unsigned long long)from);
	cs_free(insn, 1);
	cs_close(&h);
	return err;
}

int insn_branch_targets(const uint8_t *code, size_t len, uint64_t base, uint64_t **out,
			size_t *n, char *why, size_t whylen)
{
	const uint8_t *p = code;
	size_t left = len, cnt = 0, cap = 0;
	uint64_t pc = base, *arr = NULL;
	cs_insn *insn;
	csh h;

	if (cs_start(&h, true))
		return -ENOMEM;
	insn = cs_malloc(h);
	while (insn && left && cs_disasm_iter(h, &p, &left, &pc, insn)) {
		const cs_x86 *x = &insn->detail->x86;

		if (!(cs_insn_group(h, insn, CS_GRP_JUMP) || cs_insn_group(h, insn, CS_GRP_CALL)))
			continue;
		if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
			continue;
		if (cnt == cap) {
			uint64_t *a = realloc(arr, (cap = cap ? cap * 2 : 1024) * sizeof(*arr));

			if (!a) {
				free(arr);
				arr = NULL;
				break;
			}
			arr = a;
		}
		arr[cnt++] = (uint64_t)x->operands[0].imm;
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	if (!arr && cap)
		return -ENOMEM;
	if (left) { /* stopped on undecodable bytes: targets after them would be missed */
		say(why, whylen, "%s at 0x%llx, %zu bytes into the function at 0x%llx (%zu bytes): "
		    "its branch targets are unknown", insn ? "undecodable bytes" : "no memory",
		    (unsigned long long)pc, len - left, (unsigned long long)base, len);
		free(arr);
		return insn ? -EIO : -ENOMEM;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

struct func {
	uint64_t start, size;
	uint8_t *code;
};

static int load_func(struct elf_file *ef, const char *name, struct func *f, char *why,
		     size_t whylen)
{
	struct elf_sym sym;

	memset(f, 0, sizeof(*f));
	if (elf_find_symbol(ef, name, &sym) || sym.type != STT_FUNC || !sym.size) {
		say(why, whylen, "no function symbol %s (stripped binary?)", name);
		return -ENOENT;
	}
	f->start = sym.value;
	f->size = sym.size;
	f->code = malloc(sym.size);
	if (!f->code)
		return -ENOMEM;
	if (elf_read_vaddr(ef, sym.value, f->code, sym.size)) {
		say(why, whylen, "can't read the code of %s", name);
		free(f->code);
		f->code = NULL;
		return -EIO;
	}
	return 0;
}

struct table_find {
	uint64_t addr, other;
	int found, nother;
};

/* name, or name.N (a static's LTO / unit suffix) */
static bool sym_is(const char *s, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(s, name, n) && (!s[n] || s[n] == '.');
}

static int table_cb(const struct elf_sym *s, void *ctx)
{
	struct table_find *tf = ctx;

	if (s->type != STT_OBJECT || s->size != TABLE_SLOTS * 8)
		return 0;
	/* 3.15 names it opcode_targets_table and has a second table, the trace recorder's,
	 * whose entries are more ways into the eval loop */
	if (sym_is(s->name, "opcode_tracing_targets_table")) {
		tf->other = s->value;
		tf->nother++;
		return 0;
	}
	if (!sym_is(s->name, "opcode_targets") && !sym_is(s->name, "opcode_targets_table"))
		return 0;
	tf->addr = s->value;
	tf->found++;
	return 0;
}

int eval_read_table(const char *path, struct elf_file *ef, uint64_t addr, uint64_t *tab)
{
	Elf_Scn *scn = NULL;
	int fd, err = 0;
	Elf *elf;

	if (elf_read_vaddr(ef, addr, tab, TABLE_SLOTS * 8))
		return -EIO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		close(fd);
		return -ENOEXEC;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh, symsh;
		Elf_Data *data, *symdata = NULL;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		if (sh.sh_link) {
			Elf_Scn *ss = elf_getscn(elf, sh.sh_link);

			if (ss && gelf_getshdr(ss, &symsh))
				symdata = elf_getdata(ss, NULL);
		}
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Rela r;
			uint64_t slot;

			if (!gelf_getrela(data, i, &r) || r.r_offset < addr ||
			    r.r_offset >= addr + TABLE_SLOTS * 8 || (r.r_offset - addr) % 8)
				continue;
			slot = (r.r_offset - addr) / 8;
			switch (GELF_R_TYPE(r.r_info)) {
			case R_X86_64_RELATIVE:
				tab[slot] = r.r_addend;
				break;
			case R_X86_64_64: {
				GElf_Sym s;

				if (!symdata || !gelf_getsym(symdata, GELF_R_SYM(r.r_info), &s)) {
					err = -EIO;
					goto out;
				}
				tab[slot] = s.st_value + r.r_addend;
				break;
			}
			default:
				err = -ENOTSUP;
				goto out;
			}
		}
	}
out:
	elf_end(elf);
	close(fd);
	return err;
}

/* the immediate target of the relative branch or call at addr, or 0 */
static uint64_t target_at(const uint8_t *code, size_t len, uint64_t base, uint64_t addr)
{
	const uint8_t *p = code + (addr - base);
	size_t left = len - (addr - base);
	uint64_t pc = addr, t = 0;
	cs_insn *insn;
	csh h;

	if (cs_start(&h, true))
		return 0;
	insn = cs_malloc(h);
	if (insn && cs_disasm_iter(h, &p, &left, &pc, insn) && insn->detail->x86.op_count == 1 &&
	    insn->detail->x86.operands[0].type == X86_OP_IMM)
		t = (uint64_t)insn->detail->x86.operands[0].imm;
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	return t;
}

/* the text of the instruction at addr */
static void cs_x86_text(const uint8_t *code, size_t len, uint64_t base, uint64_t addr, char *out,
			size_t outlen)
{
	const uint8_t *p = code + (addr - base);
	size_t left = len - (addr - base);
	uint64_t pc = addr;
	cs_insn *insn;
	csh h;

	snprintf(out, outlen, "?");
	if (cs_start(&h, false))
		return;
	insn = cs_malloc(h);
	if (insn && cs_disasm_iter(h, &p, &left, &pc, insn))
		snprintf(out, outlen, "%.31s %.120s", insn->mnemonic, insn->op_str);
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
}

struct addr_find {
	uint64_t addr;
	char *name;
	size_t len;
	bool found;
};

static int addr_cb(const struct elf_sym *s, void *ctx)
{
	struct addr_find *af = ctx;

	if (s->type != STT_FUNC || s->value != af->addr || !s->name || !*s->name)
		return 0;
	snprintf(af->name, af->len, "%s", s->name);
	af->found = true;
	return 1;
}

/* The name of the function a call at link-time address target reaches: a function symbol at
 * that address, or a PLT stub "jmp *slot(%rip)" whose slot has an R_X86_64_JUMP_SLOT
 * relocation naming it. 0, or -ENOENT. */
static int call_target_name(const char *path, struct elf_file *ef, uint64_t target, char *name,
			    size_t len)
{
	struct addr_find af = { target, name, len, false };
	uint8_t stub[16];
	const uint8_t *p = stub;
	size_t left = sizeof(stub);
	uint64_t pc = target, slot = 0;
	Elf_Scn *scn = NULL;
	cs_insn *insn;
	int fd, err = -ENOENT;
	Elf *elf;
	csh h;

	elf_foreach_symbol(ef, addr_cb, &af);
	if (af.found)
		return 0;
	if (elf_read_vaddr(ef, target, stub, sizeof(stub)) || cs_start(&h, true))
		return -ENOENT;
	insn = cs_malloc(h);
	for (int i = 0; insn && i < 2 && cs_disasm_iter(h, &p, &left, &pc, insn); i++) {
		const cs_x86 *x = &insn->detail->x86;

		if (insn->id == X86_INS_ENDBR64)
			continue;
		if (insn->id == X86_INS_JMP && x->op_count == 1 &&
		    x->operands[0].type == X86_OP_MEM && x->operands[0].mem.base == X86_REG_RIP &&
		    x->operands[0].mem.index == X86_REG_INVALID)
			slot = pc + x->operands[0].mem.disp; /* pc: the next instruction */
		break;
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	if (!slot)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (elf && err && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh, symsh;
		Elf_Data *data, *symdata;
		Elf_Scn *ss;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize ||
		    !(ss = elf_getscn(elf, sh.sh_link)) || !gelf_getshdr(ss, &symsh) ||
		    !(data = elf_getdata(scn, NULL)) || !(symdata = elf_getdata(ss, NULL)))
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			GElf_Sym sym;
			const char *n;

			if (!gelf_getrela(data, i, &r) || r.r_offset != slot ||
			    GELF_R_TYPE(r.r_info) != R_X86_64_JUMP_SLOT ||
			    !gelf_getsym(symdata, GELF_R_SYM(r.r_info), &sym))
				continue;
			n = elf_strptr(elf, symsh.sh_link, sym.st_name);
			if (n && *n) {
				snprintf(name, len, "%s", n);
				err = 0;
			}
			break;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

static bool in_range(uint64_t v, uint64_t lo, uint64_t hi) /* (lo, hi] */
{
	return v > lo && v <= hi;
}

/* Open path and load _PyEval_EvalFrameDefault's code: the ELF file, or NULL with *err set. */
static struct elf_file *open_eval(const char *path, struct func *main, int *err, char *why,
				  size_t whylen)
{
	struct elf_file *ef = elf_open(path);

	if (!ef) {
		*err = -errno;
		say(why, whylen, "can't open %s: %s", path, strerror(-*err));
		return NULL;
	}
	*err = load_func(ef, EVAL_FUNC, main, why, whylen);
	if (*err) {
		elf_close(ef);
		return NULL;
	}
	return ef;
}

#define EVAL_MAX_PARTS 8	/* the eval loop's pieces: its symbol, .cold parts */
#define EVAL_MAX_TABLES 64	/* candidate tables in a stripped eval loop */

/* The eval loop as found in a file: its code in parts and its dispatch tables. */
struct eval_code {
	struct func part[EVAL_MAX_PARTS];
	int nparts;
	uint64_t tab[TABLE_SLOTS];	/* the opcode table, link-time addresses */
	uint64_t *other;		/* entries of the other tables: more ways into a block */
	size_t nother;
	uint64_t table_addr;
	bool decoded;			/* found by decoding (no symbol for it) */
};

static int part_of(const struct eval_code *ec, uint64_t addr)
{
	for (int i = 0; i < ec->nparts; i++)
		if (addr >= ec->part[i].start && addr < ec->part[i].start + ec->part[i].size)
			return i;
	return -1;
}

static int add_part(struct elf_file *ef, struct eval_code *ec, uint64_t start, uint64_t size,
		    char *why, size_t whylen)
{
	struct func *f;

	if (ec->nparts == EVAL_MAX_PARTS) {
		say(why, whylen, "%s jumps into more than %d pieces of code", EVAL_FUNC,
		    EVAL_MAX_PARTS);
		return -E2BIG;
	}
	f = &ec->part[ec->nparts];
	f->code = malloc(size);
	if (!f->code)
		return -ENOMEM;
	if (elf_read_vaddr(ef, start, f->code, size)) {
		free(f->code);
		f->code = NULL;
		say(why, whylen, "can't read the code at 0x%llx", (unsigned long long)start);
		return -EIO;
	}
	f->start = start;
	f->size = size;
	ec->nparts++;
	return 0;
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

/* A stripped eval loop's other pieces (GCC moves unlikely blocks to a .cold part that has no
 * symbol then): the unwind table's function around every direct jump target outside the
 * pieces known, until none is new. A jump to a named function is a tail call, not a piece. */
static int find_parts(struct elf_file *ef, struct eval_code *ec, char *why, size_t whylen)
{
	for (int i = 0; i < ec->nparts; i++) {
		const struct func *f = &ec->part[i];
		const uint8_t *p = f->code;
		size_t left = f->size;
		uint64_t pc = f->start;
		cs_insn *insn;
		int err = 0;
		csh h;

		if (cs_start(&h, true))
			return -ENOMEM;
		insn = cs_malloc(h);
		while (insn && !err && left && cs_disasm_iter(h, &p, &left, &pc, insn)) {
			const cs_x86 *x = &insn->detail->x86;
			struct sym_at sa;
			uint64_t t, start, len;

			if (!cs_insn_group(h, insn, CS_GRP_JUMP) || x->op_count != 1 ||
			    x->operands[0].type != X86_OP_IMM)
				continue;
			t = (uint64_t)x->operands[0].imm;
			if (part_of(ec, t) >= 0)
				continue;
			sa.addr = t;
			sa.found = false;
			elf_foreach_symbol(ef, sym_at_cb, &sa);
			if (sa.found)
				continue;
			err = elf_fde_containing(ef, t, &start, &len, why, whylen);
			if (err)
				say(why, whylen, "%s jumps to 0x%llx, in no function of the unwind "
				    "table", EVAL_FUNC, (unsigned long long)t);
			else
				err = add_part(ef, ec, start, len, why, whylen);
		}
		if (!err && left)
			err = insn ? -EIO : -ENOMEM;
		if (err == -EIO)
			say(why, whylen, "undecodable bytes at 0x%llx", (unsigned long long)pc);
		if (insn)
			cs_free(insn, 1);
		cs_close(&h);
		if (err)
			return err;
	}
	return 0;
}

/* Stripped: the dispatch tables from the eval loop's code (user/cpython/eval_table.h). */
static int decode_tables(struct elf_file *ef, struct eval_code *ec, int minor, char *why,
			 size_t whylen)
{
	uint64_t cand[EVAL_MAX_TABLES], t[TABLE_SLOTS];
	int n = 0, i, k, found = 0, err;
	char fwhy[160] = "";

	if (!eval_table_known(minor)) {
		say(why, whylen, "stripped binary (no opcode_targets symbol), and no opcode table "
		    "shape known for CPython 3.%d to find it by", minor);
		return -ENOTSUP;
	}
	err = find_parts(ef, ec, why, whylen);
	if (err)
		return err;
	for (i = 0; i < ec->nparts; i++) {
		uint64_t c[EVAL_MAX_TABLES];
		int m = eval_table_candidates(ec->part[i].code, ec->part[i].size,
					      ec->part[i].start, c, EVAL_MAX_TABLES);

		if (m < 0) {
			say(why, whylen, "can't list the tables the code at 0x%llx indexes: %s",
			    (unsigned long long)ec->part[i].start, strerror(-m));
			return m;
		}
		for (k = 0; k < m; k++) {
			int j;

			for (j = 0; j < n && cand[j] != c[k]; j++)
				;
			if (j < n)
				continue;
			if (n == EVAL_MAX_TABLES) {
				say(why, whylen, "more than %d candidate tables", EVAL_MAX_TABLES);
				return -E2BIG;
			}
			cand[n++] = c[k];
		}
	}
	ec->other = calloc((size_t)n * TABLE_SLOTS, sizeof(*ec->other));
	if (!ec->other)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (elf_read_vaddr(ef, cand[i], t, sizeof(t)))
			continue; /* not initialised data: not a table */
		if (!eval_table_fingerprint(minor, t, fwhy, sizeof(fwhy))) {
			found++;
			ec->table_addr = cand[i];
			memcpy(ec->tab, t, sizeof(t));
			continue;
		}
		/* another table (3.15's trace recorder, a switch): its leading entries that land
		 * in the eval loop are ways into it */
		for (k = 0; k < TABLE_SLOTS && part_of(ec, t[k]) >= 0; k++)
			ec->other[ec->nother++] = t[k];
	}
	if (found != 1) {
		say(why, whylen, found ? "stripped binary: %d tables of the eval loop have the "
			"shape of CPython 3.%d's opcode table" : "stripped binary: none of the %d "
			"tables the eval loop indexes has the shape of CPython 3.%d's opcode table",
		    found ? found : n, minor);
		return -ENOENT;
	}
	ec->decoded = true;
	return 0;
}

/* The opcode table and the other tables by symbol; without one, decoded. */
static int find_tables(const char *path, struct elf_file *ef, struct eval_code *ec, int minor,
		       char *why, size_t whylen)
{
	struct table_find tf = {};
	int err;

	elf_foreach_symbol(ef, table_cb, &tf);
	if (!tf.found)
		return decode_tables(ef, ec, minor, why, whylen);
	if (tf.found != 1 || tf.nother > 1) {
		say(why, whylen, "%d candidate opcode_targets tables", tf.found + tf.nother);
		return -ENOENT;
	}
	ec->table_addr = tf.addr;
	err = eval_read_table(path, ef, tf.addr, ec->tab);
	if (err) {
		say(why, whylen, "can't read opcode_targets at 0x%llx: %s",
		    (unsigned long long)tf.addr, strerror(-err));
		return err;
	}
	if (tf.nother) {
		ec->other = calloc(TABLE_SLOTS, sizeof(*ec->other));
		if (!ec->other)
			return -ENOMEM;
		err = eval_read_table(path, ef, tf.other, ec->other);
		if (err) {
			say(why, whylen, "can't read the tracing table at 0x%llx: %s",
			    (unsigned long long)tf.other, strerror(-err));
			return err;
		}
		ec->nother = TABLE_SLOTS;
	}
	return 0;
}

int eval_locate_handlers(const char *path, int minor, const int *opcodes, int n,
			 struct eval_site *out, char *why, size_t whylen)
{
	struct eval_code ec = {};
	struct func cold = {};
	uint64_t *tg = NULL;
	size_t ntg = 0;
	struct elf_file *ef;
	int err, i, pi;

	ef = open_eval(path, &ec.part[0], &err, why, whylen);
	if (!ef)
		return err;
	ec.nparts = 1;
	if (!load_func(ef, EVAL_COLD, &cold, NULL, 0))
		ec.part[ec.nparts++] = cold;
	err = find_tables(path, ef, &ec, minor, why, whylen);
	if (err)
		goto out;
	for (pi = 0; pi < ec.nparts; pi++) {
		uint64_t *t = NULL;
		size_t nt = 0;

		err = insn_branch_targets(ec.part[pi].code, ec.part[pi].size, ec.part[pi].start,
					  &t, &nt, why, whylen);
		if (err)
			goto out;
		if (nt) {
			uint64_t *a = realloc(tg, (ntg + nt) * sizeof(*tg));

			if (!a) {
				free(t);
				err = -ENOMEM;
				goto out;
			}
			tg = a;
			memcpy(tg + ntg, t, nt * sizeof(*t));
			ntg += nt;
		}
		free(t);
	}
	for (i = 0; i < n; i++) {
		struct eval_site *s = &out[i];
		const struct func *f;
		int op = opcodes[i];
		size_t k;

		memset(s, 0, sizeof(*s));
		s->opcode = op;
		s->table = ec.table_addr;
		s->table_decoded = ec.decoded;
		if (op < 0 || op >= TABLE_SLOTS) {
			err = -EINVAL;
			goto out;
		}
		s->handler = ec.tab[op];
		pi = part_of(&ec, s->handler);
		if (pi < 0) {
			say(why, whylen, "handler of opcode %d at 0x%llx is not inside %s", op,
			    (unsigned long long)s->handler, EVAL_FUNC);
			err = -ERANGE;
			goto out;
		}
		f = &ec.part[pi];
		err = insn_check_boundary(f->code, f->size, f->start, s->handler, why, whylen);
		if (err)
			goto out;
		err = insn_first_branch(f->code, f->size, f->start, s->handler, MAX_BRANCH_SCAN,
					NULL, 0, &s->probe, &s->is_call, s->insn, sizeof(s->insn),
					why, whylen);
		if (err)
			goto out;
		err = insn_check_boundary(f->code, f->size, f->start, s->probe, why, whylen);
		if (err)
			goto out;
		/* the probe must count this handler's runs only */
		for (k = 0; k < TABLE_SLOTS + ec.nother; k++) {
			uint64_t e = k < TABLE_SLOTS ? ec.tab[k] : ec.other[k - TABLE_SLOTS];

			if ((int)k != op && (e == s->handler || in_range(e, s->handler, s->probe))) {
				say(why, whylen, "%s entry 0x%llx shares the block of opcode %d "
				    "[0x%llx, 0x%llx]", k < TABLE_SLOTS ? "another opcode's" :
				    "another dispatch table's", (unsigned long long)e, op,
				    (unsigned long long)s->handler, (unsigned long long)s->probe);
				err = -EEXIST;
				goto out;
			}
		}
		/* a direct branch into the block after its start (3.13: a specialised form
		 * deoptimising into its generic handler) would be counted twice: probe the
		 * handler's first instruction instead, which the kernel single-steps (slower,
		 * but the path is rare: generic handlers specialise themselves on first run) */
		for (k = 0; k < ntg; k++)
			if (in_range(tg[k], s->handler, s->probe)) {
				s->probe = s->handler;
				s->stepped = true;
				s->is_call = false;
				cs_x86_text(f->code, f->size, f->start, s->handler, s->insn,
					    sizeof(s->insn));
				break;
			}
		if (s->is_call &&
		    call_target_name(path, ef, target_at(f->code, f->size, f->start, s->probe),
				     s->callee, sizeof(s->callee)))
			snprintf(s->callee, sizeof(s->callee), "?");
		if (elf_vaddr_to_offset(ef, s->probe, &s->offset)) {
			say(why, whylen, "0x%llx is in no loadable segment",
			    (unsigned long long)s->probe);
			err = -ENOENT;
			goto out;
		}
	}
out:
	free(tg);
	free(ec.other);
	for (i = 0; i < ec.nparts; i++)
		free(ec.part[i].code);
	elf_close(ef);
	return err;
}

int eval_locate_entry(const char *path, const int *regs, int nregs, struct eval_site *out,
		      char *why, size_t whylen)
{
	struct func main = {};
	uint64_t *tg = NULL;
	size_t ntg = 0, k;
	struct elf_file *ef;
	int err;

	memset(out, 0, sizeof(*out));
	out->opcode = -1;
	ef = open_eval(path, &main, &err, why, whylen);
	if (!ef)
		return err;
	out->handler = main.start;
	err = insn_first_branch(main.code, main.size, main.start, main.start, MAX_BRANCH_SCAN,
				regs, nregs, &out->probe, &out->is_call, out->insn, sizeof(out->insn), why,
				whylen);
	if (err)
		goto out;
	err = insn_check_boundary(main.code, main.size, main.start, out->probe, why, whylen);
	if (err)
		goto out;
	err = insn_branch_targets(main.code, main.size, main.start, &tg, &ntg, why, whylen);
	if (err)
		goto out;
	for (k = 0; k < ntg; k++)
		if (in_range(tg[k], main.start, out->probe)) {
			say(why, whylen, "a branch to 0x%llx enters the entry block [0x%llx, 0x%llx]",
			    (unsigned long long)tg[k], (unsigned long long)main.start,
			    (unsigned long long)out->probe);
			err = -EEXIST;
			goto out;
		}
	if (elf_vaddr_to_offset(ef, out->probe, &out->offset)) {
		say(why, whylen, "0x%llx is in no loadable segment", (unsigned long long)out->probe);
		err = -ENOENT;
	}
out:
	free(tg);
	free(main.code);
	elf_close(ef);
	return err;
}

/* USDT sites. A note in .note.stapsdt (a section the program never loads) records the address
 * of the nop that sys/sdt.h put at the probe point: a corrupt note leaves the program running
 * as before, while a uprobe at its address would write int3 into the middle of an instruction.
 * The functions holding the probe points are often static (no symbol), so the function that
 * contains a site is taken from the unwind table (.eh_frame_hdr's sorted index of .eh_frame's
 * FDEs, one per function or cold part) and decoded from its start. */

#define FDE_MAX_LEN (16u << 20) /* a function longer than this is not decoded */

/* a DWARF EH pointer with encoding enc at vaddr (application: pcrel or datarel from datarel) */
static int eh_read(struct elf_file *ef, uint64_t vaddr, uint8_t enc, uint64_t datarel,
		   uint64_t *val, unsigned int *n)
{
	uint8_t b[8] = {};
	uint64_t u = 0;
	unsigned int i;

	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: *n = 8; break; /* absptr, udata8, sdata8 */
	case 0x03: case 0x0b: *n = 4; break;		  /* udata4, sdata4 */
	case 0x02: case 0x0a: *n = 2; break;		  /* udata2, sdata2 */
	default: return -ENOTSUP;
	}
	if (enc & 0x80) /* indirect */
		return -ENOTSUP;
	if (elf_read_vaddr(ef, vaddr, b, *n))
		return -EIO;
	for (i = 0; i < *n; i++)
		u |= (uint64_t)b[i] << (8 * i);
	if ((enc & 0x08) && *n < 8 && (u >> (8 * *n - 1)) & 1) /* signed: extend */
		u |= ~0ull << (8 * *n);
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: u += vaddr; break;
	case 0x30: u += datarel; break;
	default: return -ENOTSUP;
	}
	*val = u;
	return 0;
}

static int uleb(const uint8_t *b, size_t len, size_t *at, uint64_t *v)
{
	unsigned int shift = 0;

	*v = 0;
	while (*at < len && shift < 64) {
		uint8_t c = b[(*at)++];

		*v |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
		if (!(c & 0x80))
			return 0;
	}
	return -EINVAL;
}

/* the FDE pointer encoding of the CIE at vaddr ('R' in its augmentation; absptr without) */
static int cie_encoding(struct elf_file *ef, uint64_t vaddr, uint8_t *enc)
{
	uint8_t b[128];
	uint32_t len;
	size_t at, n;
	uint64_t v;
	const char *aug;

	if (elf_read_vaddr(ef, vaddr, &len, 4) || len < 8 || len == 0xffffffffu)
		return -ENOTSUP;
	n = len + 4 < sizeof(b) ? len + 4 : sizeof(b);
	if (elf_read_vaddr(ef, vaddr, b, n))
		return -EIO;
	if (b[4] | b[5] | b[6] | b[7]) /* CIE id 0 */
		return -EINVAL;
	aug = (const char *)b + 9;
	if (!memchr(aug, 0, n - 9))
		return -EINVAL;
	at = 9 + strlen(aug) + 1;
	*enc = 0;
	if (uleb(b, n, &at, &v) || uleb(b, n, &at, &v)) /* code and data alignment */
		return -EINVAL;
	if (b[8] == 1)
		at++; /* return register, a byte in version 1 */
	else if (uleb(b, n, &at, &v))
		return -EINVAL;
	if (aug[0] != 'z')
		return 0;
	if (uleb(b, n, &at, &v))
		return -EINVAL;
	for (const char *a = aug + 1; *a; a++) {
		if (at >= n)
			return -EINVAL;
		switch (*a) {
		case 'R': *enc = b[at]; return 0;
		case 'L': at++; break;
		case 'P': {
			uint8_t penc = b[at++];
			unsigned int sz = (penc & 0x0f) == 0x03 || (penc & 0x0f) == 0x0b ? 4 :
					  (penc & 0x0f) == 0x02 || (penc & 0x0f) == 0x0a ? 2 : 8;

			at += sz;
			break;
		}
		case 'S': case 'B': break;
		default: return -ENOTSUP;
		}
	}
	return 0;
}

int elf_fde_containing(struct elf_file *ef, uint64_t pc, uint64_t *start, uint64_t *len,
		       char *why, size_t whylen)
{
	uint64_t hdr, hsize, eh, count, cie, begin, range, at;
	uint8_t h[4], enc;
	unsigned int n, n1 = 0;
	int32_t *tab = NULL;
	uint32_t flen, cie_off;
	size_t lo, hi;
	int err = -ENOENT;

	if (elf_section_range(ef, ".eh_frame_hdr", &hdr, &hsize) || elf_read_vaddr(ef, hdr, h, 4)) {
		say(why, whylen, "no unwind table (.eh_frame_hdr) to find the function around it");
		return -ENOENT;
	}
	/* version 1, the binary search table as datarel sdata4 pairs (what every linker writes) */
	if (h[0] != 1 || h[3] != 0x3b || eh_read(ef, hdr + 4, h[1], hdr, &eh, &n1) ||
	    eh_read(ef, hdr + 4 + n1, h[2], hdr, &count, &n)) {
		say(why, whylen, "unwind table (.eh_frame_hdr) in an unknown format");
		return -ENOTSUP;
	}
	at = hdr + 4 + n1 + n;
	if (!count || count > hsize / 8 || at + count * 8 > hdr + hsize) {
		say(why, whylen, "unwind table (.eh_frame_hdr) has a bad entry count");
		return -EINVAL;
	}
	tab = malloc(count * 8);
	if (!tab)
		return -ENOMEM;
	if (elf_read_vaddr(ef, at, tab, count * 8)) {
		err = -EIO;
		goto out;
	}
	/* the last entry whose start is <= pc */
	lo = 0;
	hi = count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (hdr + (int64_t)tab[2 * mid] <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		goto none;
	at = hdr + (int64_t)tab[2 * (lo - 1) + 1]; /* the FDE */
	if (elf_read_vaddr(ef, at, &flen, 4) || elf_read_vaddr(ef, at + 4, &cie_off, 4) ||
	    flen < 8 || flen == 0xffffffffu || !cie_off) {
		say(why, whylen, "unwind entry at 0x%llx unreadable", (unsigned long long)at);
		err = -EINVAL;
		goto out;
	}
	cie = at + 4 - cie_off;
	if (cie_encoding(ef, cie, &enc) || eh_read(ef, at + 8, enc, 0, &begin, &n) ||
	    eh_read(ef, at + 8 + n, enc & 0x0f, 0, &range, &n)) {
		say(why, whylen, "unwind entry at 0x%llx in an unknown format",
		    (unsigned long long)at);
		err = -ENOTSUP;
		goto out;
	}
	if (begin != hdr + (int64_t)tab[2 * (lo - 1)] || pc >= begin + range)
		goto none;
	if (range > FDE_MAX_LEN) {
		say(why, whylen, "function around it too long to decode (%llu bytes)",
		    (unsigned long long)range);
		err = -E2BIG;
		goto out;
	}
	*start = begin;
	*len = range;
	err = 0;
	goto out;
none:
	say(why, whylen, "no function of the unwind table contains it");
	err = -ENOENT;
out:
	free(tab);
	return err;
}

int usdt_check_site(struct elf_file *ef, uint64_t pc, uint64_t sema, char *why, size_t whylen)
{
	uint64_t start = 0, len = 0, pa, psz;
	uint8_t *code = NULL;
	cs_insn *insn = NULL;
	csh h;
	size_t cnt;
	int err;

	err = elf_fde_containing(ef, pc, &start, &len, why, whylen);
	if (err)
		return err;
	code = malloc(len);
	if (!code)
		return -ENOMEM;
	if (elf_read_vaddr(ef, start, code, len)) {
		say(why, whylen, "can't read the function at 0x%llx around it",
		    (unsigned long long)start);
		err = -EIO;
		goto out;
	}
	err = insn_check_boundary(code, len, start, pc, why, whylen);
	if (err)
		goto out;
	if (cs_start(&h, false)) {
		err = -ENOMEM;
		goto out;
	}
	cnt = cs_disasm(h, code + (pc - start), len - (pc - start) < 16 ? len - (pc - start) : 16,
			pc, 1, &insn);
	if (cnt != 1 || insn->id != X86_INS_NOP) {
		say(why, whylen, "the instruction at 0x%llx is '%s %s', not the nop of a probe point",
		    (unsigned long long)pc, cnt == 1 ? insn->mnemonic : "?",
		    cnt == 1 ? insn->op_str : "");
		err = -EINVAL;
	}
	if (cnt)
		cs_free(insn, cnt);
	cs_close(&h);
	if (err)
		goto out;
	/* the kernel adds to the semaphore in every process: it must be sys/sdt.h's, in .probes */
	if (sema && (elf_section_range(ef, ".probes", &pa, &psz) || sema < pa ||
		     sema + 2 > pa + psz)) {
		say(why, whylen, "its semaphore 0x%llx is outside the .probes section",
		    (unsigned long long)sema);
		err = -EINVAL;
	}
out:
	free(code);
	return err;
}

struct usdt_check {
	struct elf_file *ef;
	const char *provider, *name;
	uint64_t base;
	int n, err;
	char *why;
	size_t whylen;
};

static int usdt_check_note(const struct elf_usdt_note *n, void *arg)
{
	struct usdt_check *u = arg;
	uint64_t pc = n->pc;
	char why[256];

	if (strcmp(n->provider, u->provider) || strcmp(n->name, u->name))
		return 0;
	if (n->base && u->base) /* prelinking moves the base: libbpf adjusts the same way */
		pc += u->base - n->base;
	u->n++;
	u->err = usdt_check_site(u->ef, pc, n->semaphore, why, sizeof(why));
	if (u->err) {
		say(u->why, u->whylen, "USDT %s:%s at 0x%llx refused: %s", u->provider, u->name,
		    (unsigned long long)pc, why);
		return 1;
	}
	return 0;
}

int usdt_check_probe(const char *path, const char *provider, const char *name, int *nsites,
		     char *why, size_t whylen)
{
	struct usdt_check u = { .provider = provider, .name = name, .why = why, .whylen = whylen };
	int n;

	u.ef = elf_open(path);
	if (!u.ef) {
		n = -errno;
		say(why, whylen, "cannot open %s: %s", path, strerror(-n));
		return n;
	}
	elf_section_addr(u.ef, ".stapsdt.base", &u.base);
	n = elf_foreach_usdt(u.ef, usdt_check_note, &u);
	elf_close(u.ef);
	if (n < 0) {
		say(why, whylen, "USDT notes of %s unreadable: %s", path, strerror(-n));
		return n;
	}
	if (u.err)
		return u.err;
	if (!u.n) {
		say(why, whylen, "no USDT %s:%s in %s", provider, name, path);
		return -ENOENT;
	}
	if (nsites)
		*nsites = u.n;
	return 0;
}
