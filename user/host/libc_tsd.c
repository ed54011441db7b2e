// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <capstone.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "host/elf.h"
#include "host/libc_tsd.h"
#include "host/procmaps.h"

#define MAX_INSNS 12
#define CODE_MAX 96
#define CACHE_SIZE 16 /* distinct libc files; replaced round-robin */

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

static bool is_reg(const cs_x86_op *o, x86_reg r)
{
	return o->type == X86_OP_REG && o->reg == r;
}

int libc_tsd_decode(const uint8_t *code, size_t len, uint64_t pc, struct libc_tsd *out,
		    char *why, size_t whylen)
{
	enum { CMP, JA, MOV, ADD, SHL, ADDFS, LOAD, DONE } step = CMP;
	int64_t keys = 0, add = 0, shift = -1, disp = 0;
	const uint8_t *p = code;
	size_t left = len;
	cs_insn *insn;
	csh h;
	int i;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(h);
	for (i = 0; insn && i < MAX_INSNS && step != DONE && cs_disasm_iter(h, &p, &left, &pc, insn);
	     i++) {
		const cs_x86 *x = &insn->detail->x86;
		const cs_x86_op *a = &x->operands[0], *b = &x->operands[1];

		if (insn->id == X86_INS_ENDBR64 && step == CMP)
			continue;
		switch (step) {
		case CMP:
			if (insn->id != X86_INS_CMP || x->op_count != 2 || !is_reg(a, X86_REG_EDI) ||
			    b->type != X86_OP_IMM)
				goto bad;
			keys = b->imm + 1;
			break;
		case JA:
			if (insn->id != X86_INS_JA)
				goto bad;
			break;
		case MOV:
			if (insn->id != X86_INS_MOV || !is_reg(a, X86_REG_EAX) || !is_reg(b, X86_REG_EDI))
				goto bad;
			break;
		case ADD:
			if (insn->id == X86_INS_SHL) { /* no bias: the array starts the descriptor */
				step = SHL;
				goto shl;
			}
			if (insn->id != X86_INS_ADD || !is_reg(a, X86_REG_RAX) || b->type != X86_OP_IMM)
				goto bad;
			add = b->imm;
			break;
		case SHL:
shl:
			if (insn->id != X86_INS_SHL || !is_reg(a, X86_REG_RAX) || b->type != X86_OP_IMM)
				goto bad;
			shift = b->imm;
			break;
		case ADDFS:
			if (insn->id != X86_INS_ADD || !is_reg(a, X86_REG_RAX) || b->type != X86_OP_MEM ||
			    b->mem.segment != X86_REG_FS || b->mem.base || b->mem.index ||
			    b->mem.disp != 0x10)
				goto bad;
			break;
		case LOAD:
			if (insn->id != X86_INS_MOV || a->type != X86_OP_REG || b->type != X86_OP_MEM ||
			    b->mem.base != X86_REG_RAX || b->mem.index || b->mem.segment)
				goto bad;
			disp = b->mem.disp;
			break;
		case DONE:
			break;
		}
		step++;
	}
	if (step != DONE)
		goto bad;
	if (keys < 1 || keys > 1024 || shift < 3 || shift > 6 || add < 0 || add > 4096 ||
	    disp < 0 || disp >= (1 << shift)) {
		say(why, whylen, "pthread_getspecific decodes to an implausible layout (keys %lld, "
		    "stride %d, bias %lld, disp %lld)", (long long)keys, 1 << (int)shift,
		    (long long)add, (long long)disp);
		goto fail;
	}
	out->keys = keys;
	out->stride = 1u << shift;
	out->base = add * out->stride + disp;
	cs_free(insn, 1);
	cs_close(&h);
	return 0;
bad:
	if (insn && step != DONE && i < MAX_INSNS)
		say(why, whylen, "pthread_getspecific not recognised at 0x%llx (%s %s)",
		    (unsigned long long)insn->address, insn->mnemonic, insn->op_str);
	else
		say(why, whylen, "pthread_getspecific not recognised");
fail:
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	return -ENOEXEC;
}

static struct tsd_cache {
	bool valid;
	int err;
	dev_t dev;
	ino_t ino;
	struct libc_tsd tsd;
	char why[160];
} cache[CACHE_SIZE];
static unsigned int cache_next;

static int decode_file(const char *path, struct libc_tsd *out, char *why, size_t whylen)
{
	uint8_t code[CODE_MAX];
	struct elf_file *ef = elf_open(path);
	struct elf_sym sym;
	size_t n;
	int err;

	if (!ef) {
		err = -errno;
		say(why, whylen, "can't open %s: %s", path, strerror(errno));
		return err;
	}
	err = elf_find_symbol(ef, "pthread_getspecific", &sym);
	if (err) {
		say(why, whylen, "no pthread_getspecific in %s", path);
		goto out;
	}
	n = sym.size && sym.size < sizeof(code) ? sym.size : sizeof(code);
	err = elf_read_vaddr(ef, sym.value, code, n);
	if (err) {
		say(why, whylen, "can't read pthread_getspecific in %s", path);
		goto out;
	}
	err = libc_tsd_decode(code, n, sym.value, out, why, whylen);
out:
	elf_close(ef);
	return err;
}

struct find_libc {
	pid_t pid;
	char open_path[PATH_MAX + 64];
	char ldso[PATH_MAX]; /* the dynamic loader's path, as the target sees it */
	bool found;
};

static int maps_cb(const struct map_entry *e, void *ctx)
{
	struct find_libc *f = ctx;
	const char *base = strrchr(e->path, '/');
	struct stat st;

	base = base ? base + 1 : e->path;
	if (!e->offset && e->path[0] == '/' && !strncmp(base, "ld-linux", 8))
		snprintf(f->ldso, sizeof(f->ldso), "%s", e->path);
	if (e->offset || !e->inode || e->path[0] != '/' ||
	    (strcmp(base, "libc.so.6") && strncmp(base, "libc-2.", 7)))
		return 0;
	snprintf(f->open_path, sizeof(f->open_path), "/proc/%d/root%s", (int)f->pid, e->path);
	if (stat(f->open_path, &st) || st.st_ino != e->inode)
		snprintf(f->open_path, sizeof(f->open_path), "/proc/%d/map_files/%lx-%lx",
			 (int)f->pid, (unsigned long)e->start, (unsigned long)e->end);
	f->found = true;
	return 1;
}

int libc_tsd_for_pid(pid_t pid, struct libc_tsd *out, char *why, size_t whylen)
{
	struct find_libc f = { .pid = pid };
	struct tsd_cache *c;
	struct stat st;
	int err, i;

	err = procmaps_foreach(pid, maps_cb, &f);
	if (err < 0) {
		say(why, whylen, "can't read the maps of pid %d: %s", (int)pid, strerror(-err));
		return err;
	}
	/* Just exec'd, the loader has not mapped libc yet: glibc installs libc.so.6 beside its
	 * own ld.so (they must be the same release), which is mapped from the start. */
	if (!f.found && f.ldso[0]) {
		char *slash = strrchr(f.ldso, '/');

		*slash = '\0';
		snprintf(f.open_path, sizeof(f.open_path), "/proc/%d/root%s/libc.so.6", (int)pid,
			 f.ldso);
		f.found = !access(f.open_path, R_OK);
	}
	if (!f.found) {
		say(why, whylen, "no glibc (libc.so.6) mapped: pthread keys cannot be read");
		return -ENOENT;
	}
	if (stat(f.open_path, &st)) {
		err = -errno;
		say(why, whylen, "can't stat %s: %s", f.open_path, strerror(errno));
		return err;
	}
	for (i = 0; i < CACHE_SIZE; i++) {
		c = &cache[i];
		if (c->valid && c->dev == st.st_dev && c->ino == st.st_ino) {
			if (c->err)
				say(why, whylen, "%s", c->why);
			else
				*out = c->tsd;
			return c->err;
		}
	}
	c = &cache[cache_next++ % CACHE_SIZE];
	memset(c, 0, sizeof(*c));
	c->err = decode_file(f.open_path, &c->tsd, c->why, sizeof(c->why));
	if (c->err == -ENOMEM) /* not a property of the file */
		return c->err;
	c->valid = true;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (c->err)
		say(why, whylen, "%s", c->why);
	else
		*out = c->tsd;
	return c->err;
}
