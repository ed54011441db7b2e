/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a uprobe may go inside CPython's eval loop, proved with an x86-64 decoder (capstone).
 *
 * A uprobe replaces the first byte of an instruction with int3: an address that is not an
 * instruction boundary corrupts the target's code. So every probe address is proved by decoding
 * linearly from the start of the containing function's symbol up to it, and it is placed on a
 * relative jcc/jmp (which x86 uprobes emulate, ~0.5 us a hit) rather than on an instruction
 * the kernel must single-step out of line (~13 us). */
#ifndef PYHOUND_INSN_CHECK_H
#define PYHOUND_INSN_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pure checks on a function's bytes code[0..len) loaded at link-time address base. */

/* 0 when addr starts an instruction reached by decoding from base; otherwise -EINVAL with the
 * reason in why (addr inside an instruction, outside the function, or undecodable bytes). */
int insn_check_boundary(const uint8_t *code, size_t len, uint64_t base, uint64_t addr, char *why,
			size_t whylen);

/* The first relative jcc/jmp/call at or after from (from must be a proved boundary), scanning at
 * most max_insns instructions: its address in *at, whether it is a call in *is_call (may be NULL)
 * and its text in insn. -ENOENT when a ret, an
 * indirect jump or the limit comes first. When nregs > 0, fails with -EBUSY if an instruction
 * before the branch writes one of regs (capstone x86_reg ids: the branch must still see the
 * function's arguments there). */
int insn_first_branch(const uint8_t *code, size_t len, uint64_t base, uint64_t from,
		      unsigned int max_insns, const int *regs, int nregs, uint64_t *at,
		      bool *is_call, char *insn, size_t insnlen, char *why, size_t whylen);

/* Every direct jmp, jcc and call target of code[0..len) at base: *out (malloc'd, the caller
 * frees it) and their count in *n. 0, or -errno with why (undecodable bytes: the targets after
 * them would be missed). */
int insn_branch_targets(const uint8_t *code, size_t len, uint64_t base, uint64_t **out,
			size_t *n, char *why, size_t whylen);

struct elf_file;
/* The 256 entries of a dispatch table at link-time address addr of the ELF file at path, as
 * link-time addresses: the file's data with its R_X86_64_RELATIVE / R_X86_64_64 relocations
 * applied (a PIE or a shared library keeps each address in the addend). 0, or -errno. */
int eval_read_table(const char *path, struct elf_file *ef, uint64_t addr, uint64_t *tab);
/* The function containing pc, from the unwind table (.eh_frame_hdr's index of the FDEs, one
 * per function or cold part): its start and length. 0, or -errno with why. */
int elf_fde_containing(struct elf_file *ef, uint64_t pc, uint64_t *start, uint64_t *len,
		       char *why, size_t whylen);

/* A probe site in an ELF object (link-time addresses). */
struct eval_site {
	int opcode;	   /* -1 for the function-entry site */
	uint64_t handler;  /* where the handler (or the function) starts */
	uint64_t probe;	   /* the emulated branch the uprobe goes on */
	uint64_t offset;   /* file offset of probe (for bpf_program__attach_uprobe_opts) */
	char insn[160];	   /* the instruction at probe, e.g. "je 0x10c2a0" */
	bool is_call;	   /* probe is a call: its arguments are in the ABI's registers there */
	char callee[96];   /* is_call: the function it calls (through the PLT too), "?" unknown */
	bool stepped;	   /* probe is the handler's first instruction (single-stepped): the
			      block is also entered after its start, see eval_locate_handlers() */
	uint64_t table;	   /* the opcode table it came from (link-time address) */
	bool table_decoded; /* found by decoding the eval loop (stripped), not by its symbol */
	bool tail_call;	   /* a tail-calling interpreter's opcode function (probe: its entry) */
	bool reentered;	   /* tail_call: its specialised forms jump to its entry when they
			      deoptimise (user/cpython/tailcall.h) */
};

/* Handlers of the given opcodes in _PyEval_EvalFrameDefault of the ELF file at path (CPython
 * 3.<minor>), from its opcode_targets table (.symtab; relocated entries read from
 * R_X86_64_RELATIVE addends; 3.15: opcode_targets_table, and the trace recorder's table is
 * another way in), or, in a stripped binary, from the table its code dispatches through whose
 * shape is the minor's (user/cpython/eval_table.h; the loop's .cold piece found through the
 * unwind table). Each
 * handler start and probe is proved a boundary; a probe is refused when another table entry
 * lands between the handler start and the probe, and moved to the handler's start (stepped)
 * when a direct branch of the function does (it would then count other paths too). 0, or
 * -errno with why filled (-ENOENT: no table / symbol). */
int eval_locate_handlers(const char *path, int minor, const int *opcodes, int n,
			 struct eval_site *out, char *why, size_t whylen);

/* The first branch of _PyEval_EvalFrameDefault's entry block, before which none of regs is
 * written (so the arguments can still be read there). */
int eval_locate_entry(const char *path, const int *regs, int nregs, struct eval_site *out,
		      char *why, size_t whylen);

/* USDT probe sites (sys/sdt.h notes are not loaded: a corrupt one leaves the program running
 * while a uprobe at its address would land inside an instruction). A site is accepted when it
 * is a nop reached by decoding from the start of the function containing it (the unwind table,
 * .eh_frame_hdr: the functions holding probe points are often static) and its semaphore, if
 * any, lies in .probes. 0, or -errno with why filled. */
int usdt_check_site(struct elf_file *ef, uint64_t pc, uint64_t sema, char *why, size_t whylen);
/* Every site of provider:name in the ELF file at path (pc adjusted for .stapsdt.base as libbpf
 * does); the number of sites in *nsites. -ENOENT when there is none. */
int usdt_check_probe(const char *path, const char *provider, const char *name, int *nsites,
		     char *why, size_t whylen);

#endif
