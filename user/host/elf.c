// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host/elf.h"

struct elf_file {
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	size_t shstrndx;
};

struct elf_file *elf_open(const char *path)
{
	struct elf_file *ef;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	ef = calloc(1, sizeof(*ef));
	if (!ef)
		return NULL;
	ef->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ef->fd < 0)
		goto err_free;
	ef->elf = elf_begin(ef->fd, ELF_C_READ_MMAP, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF || !gelf_getehdr(ef->elf, &ef->ehdr) ||
	    elf_getshdrstrndx(ef->elf, &ef->shstrndx)) {
		errno = ENOEXEC;
		goto err_close;
	}
	return ef;

err_close:
	if (ef->elf)
		elf_end(ef->elf);
	{
		int e = errno;

		close(ef->fd);
		errno = e;
	}
err_free:
	{
		int e = errno;

		free(ef);
		errno = e;
	}
	return NULL;
}

void elf_close(struct elf_file *ef)
{
	if (!ef)
		return;
	elf_end(ef->elf);
	close(ef->fd);
	free(ef);
}

int elf_type(const struct elf_file *ef)
{
	return ef->ehdr.e_type;
}

uint64_t elf_first_load_vaddr(const struct elf_file *ef)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(ef->elf, &n))
		return 0;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(ef->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		return (ph.p_vaddr - ph.p_offset) & ~(uint64_t)0xfff;
	}
	return 0;
}

static Elf_Scn *find_section(struct elf_file *ef, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(ef->elf, ef->shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

bool elf_has_section(struct elf_file *ef, const char *name)
{
	GElf_Shdr sh;

	return find_section(ef, name, &sh) != NULL;
}

int elf_section_range(struct elf_file *ef, const char *name, uint64_t *addr, uint64_t *size)
{
	GElf_Shdr sh;

	if (!find_section(ef, name, &sh))
		return -ENOENT;
	*addr = sh.sh_addr;
	*size = sh.sh_size;
	return 0;
}

int elf_section_addr(struct elf_file *ef, const char *name, uint64_t *addr)
{
	GElf_Shdr sh;

	if (!find_section(ef, name, &sh))
		return -ENOENT;
	*addr = sh.sh_addr;
	return 0;
}

static int foreach_sym_in(struct elf_file *ef, Elf64_Word sh_type, elf_sym_cb cb, void *ctx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != sh_type || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			struct elf_sym s;
			GElf_Sym sym;
			int err;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			s.name = elf_strptr(ef->elf, sh.sh_link, sym.st_name);
			if (!s.name || !*s.name)
				continue;
			s.value = sym.st_value;
			s.size = sym.st_size;
			s.type = GELF_ST_TYPE(sym.st_info);
			s.dynamic = sh_type == SHT_DYNSYM;
			err = cb(&s, ctx);
			if (err)
				return err;
		}
	}
	return 0;
}

int elf_foreach_symbol(struct elf_file *ef, elf_sym_cb cb, void *ctx)
{
	int err = foreach_sym_in(ef, SHT_DYNSYM, cb, ctx);

	return err ? err : foreach_sym_in(ef, SHT_SYMTAB, cb, ctx);
}

struct find_ctx {
	const char *name;
	struct elf_sym *out;
};

static int find_cb(const struct elf_sym *s, void *ctx)
{
	struct find_ctx *fc = ctx;

	if (strcmp(s->name, fc->name))
		return 0;
	*fc->out = *s;
	return 1;
}

int elf_find_symbol(struct elf_file *ef, const char *name, struct elf_sym *out)
{
	struct find_ctx fc = { name, out };

	return elf_foreach_symbol(ef, find_cb, &fc) == 1 ? 0 : -ENOENT;
}

/* Read with pread, not through libelf's mapping of the file: a uprobe on the file (ours, or
 * another tool's) writes its int3 into every private executable-capable mapping of the page,
 * this process's read-only one included, and code read there is not the file's. */
int elf_read_vaddr(struct elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		ssize_t n;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    sh.sh_type != SHT_PROGBITS)
			continue;
		if (vaddr < sh.sh_addr || vaddr + len > sh.sh_addr + sh.sh_size)
			continue;
		n = pread(ef->fd, buf, len, sh.sh_offset + (vaddr - sh.sh_addr));
		return n == (ssize_t)len ? 0 : -EIO;
	}
	return -ENOENT;
}

int elf_vaddr_to_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(ef->elf, &n))
		return -EIO;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(ef->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

static int foreach_dynamic(struct elf_file *ef, int64_t tag, elf_needed_cb cb, void *ctx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		Elf_Data *data;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			const char *s;
			int err;

			if (!gelf_getdyn(data, i, &dyn) || dyn.d_tag != tag)
				continue;
			s = elf_strptr(ef->elf, sh.sh_link, dyn.d_un.d_val);
			if (!s)
				continue;
			err = cb(s, ctx);
			if (err)
				return err;
		}
	}
	return 0;
}

static int soname_cb(const char *lib, void *ctx)
{
	*(const char **)ctx = lib;
	return 1;
}

const char *elf_soname(struct elf_file *ef)
{
	const char *s = NULL;

	foreach_dynamic(ef, DT_SONAME, soname_cb, &s);
	return s;
}

int elf_foreach_needed(struct elf_file *ef, elf_needed_cb cb, void *ctx)
{
	return foreach_dynamic(ef, DT_NEEDED, cb, ctx);
}

int elf_foreach_usdt(struct elf_file *ef, elf_usdt_cb cb, void *ctx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int count = 0;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *sname;
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		sname = elf_strptr(ef->elf, ef->shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".note.stapsdt"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *desc = (const char *)data->d_buf + desc_off;
			const char *end = desc + nh.n_descsz;
			struct elf_usdt_note note;
			int err;

			if (nh.n_type != 3 || nh.n_namesz != 8 ||
			    memcmp((char *)data->d_buf + name_off, "stapsdt", 8) || nh.n_descsz < 27)
				continue;
			memcpy(&note.pc, desc, 8);
			memcpy(&note.base, desc + 8, 8);
			memcpy(&note.semaphore, desc + 16, 8);
			note.provider = desc + 24;
			note.name = memchr(note.provider, 0, end - note.provider);
			if (!note.name++ || note.name >= end)
				continue;
			note.args = memchr(note.name, 0, end - note.name);
			if (!note.args++ || note.args > end)
				continue;
			if (note.args == end || !memchr(note.args, 0, end - note.args))
				note.args = "";
			count++;
			if (cb) {
				err = cb(&note, ctx);
				if (err)
					return err < 0 ? err : count;
			}
		}
	}
	return count;
}

int elf_foreach_rodata_string(struct elf_file *ef, elf_string_cb cb, void *ctx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *sname, *p, *end;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		sname = elf_strptr(ef->elf, ef->shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".rodata"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		p = data->d_buf;
		end = p + data->d_size;
		while (p < end) {
			const char *z = memchr(p, 0, end - p);
			int err;

			if (!z)
				break;
			if (z > p) {
				err = cb(p, z - p, ctx);
				if (err)
					return err;
			}
			p = z + 1;
		}
	}
	return 0;
}

int elf_tls_segment(struct elf_file *ef, uint64_t *memsz, uint64_t *align)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(ef->elf, &n))
		return -EIO;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(ef->elf, i, &ph) || ph.p_type != PT_TLS)
			continue;
		*memsz = ph.p_memsz;
		*align = ph.p_align ? ph.p_align : 1;
		return 0;
	}
	return -ENOENT;
}
