// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <capstone.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "host/elf.h"
#include "host/libc_tsd.h"
#include "cpython/tstate_locate.h"

#define MAX_INSNS 10
#define CODE_MAX 64
#define ACCESSOR "PyGILState_GetThisThreadState"

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

static int open_cs(csh *h, cs_insn **insn)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, h) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
	*insn = cs_malloc(*h);
	if (!*insn) {
		cs_close(h);
		return -ENOMEM;
	}
	return 0;
}

static void close_cs(csh *h, cs_insn *insn)
{
	cs_free(insn, 1);
	cs_close(h);
}

int py_decode_tss_key_addr(const uint8_t *code, size_t len, uint64_t pc, uint64_t *addr,
			   char *why, size_t whylen)
{
	const uint8_t *p = code;
	size_t left = len;
	cs_insn *insn;
	csh h;
	int i, err = -ENOEXEC;

	if (open_cs(&h, &insn))
		return -ENOMEM;
	for (i = 0; i < MAX_INSNS && cs_disasm_iter(h, &p, &left, &pc, insn); i++) {
		const cs_x86 *x = &insn->detail->x86;
		const cs_x86_op *a = &x->operands[0], *b = &x->operands[1];

		switch (insn->id) {
		case X86_INS_ENDBR64:
		case X86_INS_PUSH: /* push rbp */
			continue;
		case X86_INS_CMP: /* cmp dword ptr [rip + d], 0: _is_initialized */
		case X86_INS_JE:
			continue;
		case X86_INS_MOV:
			if (x->op_count == 2 && a->type == X86_OP_REG && a->reg == X86_REG_RBP &&
			    b->type == X86_OP_REG && b->reg == X86_REG_RSP)
				continue;
			if (x->op_count == 2 && a->type == X86_OP_REG && a->reg == X86_REG_EDI &&
			    b->type == X86_OP_IMM && b->imm > 0) {
				*addr = b->imm;
				err = 0;
			}
			goto out;
		case X86_INS_LEA:
			if (x->op_count == 2 && a->type == X86_OP_REG && a->reg == X86_REG_RDI &&
			    b->mem.base == X86_REG_RIP && !b->mem.index) {
				*addr = insn->address + insn->size + b->mem.disp;
				err = 0;
			}
			goto out;
		default:
			goto out;
		}
	}
out:
	if (err)
		say(why, whylen, ACCESSOR " does not pass a recognisable autoTSSkey address");
	close_cs(&h, insn);
	return err;
}

int py_decode_tls_load(const uint8_t *code, size_t len, uint64_t pc, int64_t *tpoff, char *why,
		       size_t whylen)
{
	const uint8_t *p = code;
	size_t left = len;
	bool loaded = false;
	cs_insn *insn;
	csh h;
	int i, err = -ENOEXEC;

	if (open_cs(&h, &insn))
		return -ENOMEM;
	for (i = 0; i < 3 && cs_disasm_iter(h, &p, &left, &pc, insn); i++) {
		const cs_x86 *x = &insn->detail->x86;
		const cs_x86_op *a = &x->operands[0], *b = &x->operands[1];

		if (insn->id == X86_INS_ENDBR64 && !loaded)
			continue;
		if (!loaded && insn->id == X86_INS_MOV && x->op_count == 2 &&
		    a->type == X86_OP_REG && a->reg == X86_REG_RAX && b->type == X86_OP_MEM &&
		    b->mem.segment == X86_REG_FS && !b->mem.base && !b->mem.index &&
		    b->mem.disp < 0 && b->mem.disp > -65536) {
			*tpoff = b->mem.disp;
			loaded = true;
			continue;
		}
		if (loaded && insn->id == X86_INS_RET)
			err = 0;
		break;
	}
	if (err)
		say(why, whylen, ACCESSOR " is not a local-exec TLS load (a static executable's "
			"_Py_tss_gilstate)");
	close_cs(&h, insn);
	return err;
}

/* The bytes of the accessor in the object that holds _PyRuntime, and the size of its static
 * TLS block (roundup(memsz, align); 0 without PT_TLS). */
static int read_accessor(const struct py_proc *p, uint8_t *code, size_t *len, uint64_t *pc,
			 uint64_t *tls_block, char *why, size_t whylen)
{
	uint64_t memsz, align;
	struct elf_file *ef = elf_open(p->obj_open_path);
	struct elf_sym sym;
	int err;

	if (!ef) {
		err = -errno;
		say(why, whylen, "can't open %s: %s", p->obj_path, strerror(errno));
		return err;
	}
	err = elf_find_symbol(ef, ACCESSOR, &sym);
	if (err) {
		say(why, whylen, "no " ACCESSOR " in %s", p->obj_path);
		goto out;
	}
	*tls_block = 0;
	if (!elf_tls_segment(ef, &memsz, &align) && align && !(align & (align - 1)))
		*tls_block = (memsz + align - 1) & ~(align - 1);
	*len = sym.size && sym.size < *len ? sym.size : *len;
	*pc = sym.value;
	err = elf_read_vaddr(ef, sym.value, code, *len);
	if (err)
		say(why, whylen, "can't read " ACCESSOR " in %s", p->obj_path);
out:
	elf_close(ef);
	return err;
}

int py_tstate_locate(const struct py_proc *p, struct py_proc_info *info, char *why,
		     size_t whylen)
{
	uint8_t code[CODE_MAX];
	size_t len = sizeof(code);
	struct libc_tsd tsd;
	int64_t tpoff = 0;
	uint64_t pc = 0, tls_block = 0;
	int err;

	if (p->major == 3 && p->minor >= 15) {
		err = read_accessor(p, code, &len, &pc, &tls_block, why, whylen);
		if (!err)
			err = py_decode_tls_load(code, len, pc, &tpoff, why, whylen);
		if (err)
			return err;
		/* local-exec TLS is the executable's own block, which ends at fsbase */
		if (!p->static_build || tpoff < -(int64_t)tls_block || tpoff > -8) {
			say(why, whylen, "_Py_tss_gilstate at fsbase%lld is not in the executable's "
			    "TLS block (%llu bytes)", (long long)tpoff,
			    (unsigned long long)tls_block);
			return -ENOEXEC;
		}
		info->tstate_src = PH_TSTATE_TLS;
		info->tls_offset = tpoff;
		return 0;
	}
	err = libc_tsd_for_pid(p->pid, &tsd, why, whylen);
	if (err)
		return err;
	info->tstate_src = PH_TSTATE_TSD;
	info->tsd_base = tsd.base;
	info->tsd_stride = tsd.stride;
	info->tsd_max_keys = tsd.keys;
	return 0;
}
