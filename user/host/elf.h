/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading what pyhound needs from ELF files: symbols, initialised data, DT_NEEDED/soname,
 * and SystemTap SDT (USDT) notes. */
#ifndef PYHOUND_ELF_H
#define PYHOUND_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;

struct elf_sym {
	const char *name;
	uint64_t value, size;
	int type; /* STT_* */
	bool dynamic; /* from .dynsym rather than .symtab */
};

struct elf_usdt_note {
	const char *provider, *name, *args;
	uint64_t pc, base, semaphore; /* as recorded in the note (link-time addresses) */
};

/* Open an ELF file. Returns NULL with errno set (ENOEXEC: not an ELF file). */
struct elf_file *elf_open(const char *path);
void elf_close(struct elf_file *ef);

int elf_type(const struct elf_file *ef); /* ET_EXEC, ET_DYN, ... */
/* Link-time address of the first PT_LOAD segment (page-aligned); the load bias of a mapping of
 * file offset 0 at address A is A - elf_first_load_vaddr(). */
uint64_t elf_first_load_vaddr(const struct elf_file *ef);

/* Find a symbol by exact name, in .dynsym first then .symtab. 0, or -ENOENT. */
int elf_find_symbol(struct elf_file *ef, const char *name, struct elf_sym *out);
/* Call cb for every defined symbol (.dynsym then .symtab); non-zero from cb stops and is returned. */
typedef int (*elf_sym_cb)(const struct elf_sym *sym, void *ctx);
int elf_foreach_symbol(struct elf_file *ef, elf_sym_cb cb, void *ctx);

/* Copy len bytes of initialised data at link-time address vaddr. 0, -ENOENT (not in any
 * PROGBITS section), -EIO. */
int elf_read_vaddr(struct elf_file *ef, uint64_t vaddr, void *buf, size_t len);

/* File offset of link-time address vaddr (for uprobes), or -ENOENT. */
int elf_vaddr_to_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off);

/* DT_SONAME (NULL if none); DT_NEEDED entries through cb. */
const char *elf_soname(struct elf_file *ef);
typedef int (*elf_needed_cb)(const char *lib, void *ctx);
int elf_foreach_needed(struct elf_file *ef, elf_needed_cb cb, void *ctx);

/* Walk .note.stapsdt. Returns the number of notes seen (>= 0), or -errno. */
typedef int (*elf_usdt_cb)(const struct elf_usdt_note *note, void *ctx);
int elf_foreach_usdt(struct elf_file *ef, elf_usdt_cb cb, void *ctx);

/* Call cb for each NUL-terminated printable string in read-only data sections. */
typedef int (*elf_string_cb)(const char *s, size_t len, void *ctx);
int elf_foreach_rodata_string(struct elf_file *ef, elf_string_cb cb, void *ctx);

/* The PT_TLS segment's size in memory and alignment: 0, or -ENOENT. In an executable on x86-64
 * its block ends at the thread pointer: a TLS symbol of value v is at fsbase + v -
 * roundup(memsz, align). */
int elf_tls_segment(struct elf_file *ef, uint64_t *memsz, uint64_t *align);

/* Whether a section of this name exists. */
bool elf_has_section(struct elf_file *ef, const char *name);
/* A section's link-time address: 0, or -ENOENT. */
int elf_section_addr(struct elf_file *ef, const char *name, uint64_t *addr);
/* A section's link-time address and size: 0, or -ENOENT. */
int elf_section_range(struct elf_file *ef, const char *name, uint64_t *addr, uint64_t *size);

#endif
