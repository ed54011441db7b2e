// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The instruction-boundary proof and the choice of an emulated branch (user/insn_check.c), on
 * hand-made code and on the real eval loops of pyenv's libpython 3.8-3.13. */
#include <capstone.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/pythons.h"
#include "host/elf.h"
#include "cpython/eval_table.h"
#include "cpython/insn_check.h"

/* mov rbp, rsp; mov edi, 1; je +2; nop; nop; ret */
static const uint8_t code[] = { 0x48, 0x89, 0xe5, 0xbf, 0x01, 0x00, 0x00, 0x00,
				0x74, 0x02, 0x90, 0x90, 0xc3 };
#define BASE 0x401000ULL

Test(insn_check, boundaries_of_handmade_code)
{
	char why[256];

	cr_expect_eq(insn_check_boundary(code, sizeof(code), BASE, BASE, why, sizeof(why)), 0);
	cr_expect_eq(insn_check_boundary(code, sizeof(code), BASE, BASE + 3, why, sizeof(why)), 0);
	cr_expect_eq(insn_check_boundary(code, sizeof(code), BASE, BASE + 8, why, sizeof(why)), 0);
	/* inside "mov edi, 1" */
	cr_expect_eq(insn_check_boundary(code, sizeof(code), BASE, BASE + 4, why, sizeof(why)),
		     -EINVAL);
	cr_expect(strstr(why, "inside the instruction at 0x401003"), "%s", why);
	cr_expect_eq(insn_check_boundary(code, sizeof(code), BASE, BASE + 100, why, sizeof(why)),
		     -EINVAL);
	cr_expect(strstr(why, "outside"), "%s", why);
}

Test(insn_check, first_branch_and_argument_registers)
{
	int regs[] = { X86_REG_RDI, X86_REG_EDI };
	char why[256], text[160];
	uint64_t at = 0;
	bool call = true;

	cr_assert_eq(insn_first_branch(code, sizeof(code), BASE, BASE, 16, NULL, 0, &at, &call, text,
				       sizeof(text), why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(at, BASE + 8);
	cr_expect(!call);
	cr_expect(!strncmp(text, "je", 2), "%s", text);
	/* "mov edi, 1" writes an argument register before the branch */
	cr_expect_eq(insn_first_branch(code, sizeof(code), BASE, BASE, 16, regs, 2, &at, NULL, text,
				       sizeof(text), why, sizeof(why)), -EBUSY);
	cr_expect(strstr(why, "overwrites"), "%s", why);
	/* from the nops, the block ends with ret */
	cr_expect_eq(insn_first_branch(code, sizeof(code), BASE, BASE + 10, 16, NULL, 0, &at, NULL,
				       text, sizeof(text), why, sizeof(why)), -ENOENT);
	cr_expect(strstr(why, "ret"), "%s", why);
}

static const char *libpython(int minor)
{
	static char path[4096];
	char pat[4200];
	const char *py = python_for(minor, false); /* .../versions/3.X.Y/bin/python3.X */
	glob_t g;

	snprintf(pat, sizeof(pat), "%s", py);
	*strstr(pat, "/bin/") = 0;
	snprintf(pat + strlen(pat), sizeof(pat) - strlen(pat), "/lib/libpython3.%d.so.1.0", minor);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no %s", pat);
	snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
	globfree(&g);
	return path;
}

/* The real handlers are proved, and a deliberately wrong address (one byte into the probed
 * instruction) is refused with the instruction it falls in. */
static void real_handlers(int minor, const int *ops, int n)
{
	const char *lib = libpython(minor);
	struct eval_site s[4];
	struct elf_file *ef;
	struct elf_sym sym;
	char why[256];
	uint8_t *fn;
	int i;

	cr_assert_eq(eval_locate_handlers(lib, minor, ops, n, s, why, sizeof(why)), 0, "3.%d: %s", minor,
		     why);
	ef = elf_open(lib);
	cr_assert_not_null(ef);
	cr_assert_eq(elf_find_symbol(ef, "_PyEval_EvalFrameDefault", &sym), 0);
	fn = malloc(sym.size);
	cr_assert_eq(elf_read_vaddr(ef, sym.value, fn, sym.size), 0);
	for (i = 0; i < n; i++) {
		cr_expect(s[i].probe >= s[i].handler, "3.%d op %d", minor, ops[i]);
		cr_expect_eq(insn_check_boundary(fn, sym.size, sym.value, s[i].probe, why,
						 sizeof(why)), 0, "3.%d: %s", minor, why);
		cr_expect_eq(insn_check_boundary(fn, sym.size, sym.value, s[i].probe + 1, why,
						 sizeof(why)), -EINVAL,
			     "3.%d: 0x%llx + 1 accepted", minor,
			     (unsigned long long)s[i].probe);
		cr_expect(strstr(why, "not on a boundary"), "%s", why);
	}
	free(fn);
	elf_close(ef);
}

Test(insn_check, real_eval_loops)
{
	static const int o10[] = { 83 }, o11[] = { 151, 150, 83 }, o12[] = { 151, 83, 121 },
			 o13[] = { 149, 207, 36, 103 };
	int regs[] = { X86_REG_RDI, X86_REG_EDI, X86_REG_RSI, X86_REG_ESI };
	struct eval_site e;
	char why[256];

	for (int m = 8; m <= 10; m++) {
		real_handlers(m, o10, 1);
		cr_expect_eq(eval_locate_entry(libpython(m), regs, 4, &e, why, sizeof(why)), 0,
			     "3.%d: %s", m, why);
	}
	real_handlers(11, o11, 3);
	real_handlers(12, o12, 3);
	real_handlers(13, o13, 4);
	{
		/* 3.13's RETURN_VALUE has no branch before the call popping the frame: that call
		 * is the site, and its callee is named through the PLT */
		struct eval_site rs;

		cr_assert_eq(eval_locate_handlers(libpython(13), 13, o13 + 2, 1, &rs, why, sizeof(why)),
			     0, "%s", why);
		cr_expect(rs.is_call);
		cr_expect_str_eq(rs.callee, "_PyEval_FrameClearAndPop");
	}
}

/* A stripped binary of a minor whose opcode table shape is unknown is refused with the reason */
Test(insn_check, stripped_binary_is_refused_with_a_reason)
{
	static const int ops[] = { 151 };
	struct eval_site s;
	char why[256] = "";

	cr_expect_neq(eval_locate_handlers(python_for(11, true), 12, ops, 1, &s, why, sizeof(why)),
		      0);
	cr_expect(strstr(why, "no opcode table shape known for CPython 3.12"), "%s", why);
}

#define SID "/var/cache/pyhound-test/sid/usr/bin/"

/* Stripped release builds (Debian's 3.11, sid's 3.14 and 3.15): RESUME and RETURN_VALUE found
 * through the table decoded from the eval loop, every site proved */
Test(insn_check, stripped_tables_found_by_decoding, .timeout = 60)
{
	static const int o11[] = { 151, 150, 83 }, o14[] = { 128, 196, 35 },
			 o15[] = { 128, 200, 201, 33 };
	const struct {
		const char *path;
		int minor;
		const int *ops;
		int n;
	} bins[] = { { python_for(11, true), 11, o11, 3 }, { SID "python3.14", 14, o14, 3 },
		     { SID "python3.15", 15, o15, 4 } };
	struct eval_site s[4];
	char why[256];

	for (size_t b = 0; b < sizeof(bins) / sizeof(bins[0]); b++) {
		cr_expect_eq(eval_locate_handlers(bins[b].path, bins[b].minor, bins[b].ops,
						  bins[b].n, s, why, sizeof(why)), 0, "%s: %s",
			     bins[b].path, why);
		for (int i = 0; i < bins[b].n; i++) {
			cr_expect(s[i].table_decoded, "%s: table not decoded", bins[b].path);
			cr_expect(s[i].probe >= s[i].handler && s[i].offset, "%s op %d",
				  bins[b].path, bins[b].ops[i]);
		}
	}
}

/* The decoder against the truth: in sid's -dbg builds, whose opcode table has a symbol, the
 * one candidate table of the eval loop with the minor's shape is that table */
Test(insn_check, decoded_table_is_the_symbol_table, .timeout = 60)
{
	const struct {
		const char *path, *sym;
		int minor;
	} bins[] = { { SID "python3.14d", "opcode_targets.", 14 },
		     { SID "python3.15d", "opcode_targets_table.", 15 } };

	for (size_t b = 0; b < sizeof(bins) / sizeof(bins[0]); b++) {
		struct elf_file *ef = elf_open(bins[b].path);
		struct elf_sym fn;
		uint64_t cand[64], tab[256], found = 0, truth = 0;
		char cmd[512], out[4096], why[160];
		uint8_t *code;
		int n, hits = 0;

		cr_assert_not_null(ef, "%s", bins[b].path);
		cr_assert_eq(elf_find_symbol(ef, "_PyEval_EvalFrameDefault", &fn), 0);
		code = malloc(fn.size);
		cr_assert_eq(elf_read_vaddr(ef, fn.value, code, fn.size), 0);
		n = eval_table_candidates(code, fn.size, fn.value, cand, 64);
		cr_assert_gt(n, 0, "%s: %d", bins[b].path, n);
		for (int i = 0; i < n; i++)
			if (!elf_read_vaddr(ef, cand[i], tab, sizeof(tab)) &&
			    !eval_table_fingerprint(bins[b].minor, tab, why, sizeof(why))) {
				hits++;
				found = cand[i];
			}
		snprintf(cmd, sizeof(cmd), "readelf -Ws %s | awk '$8 ~ /^%s/ {print $2}'",
			 bins[b].path, bins[b].sym);
		cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
		truth = strtoull(out, NULL, 16);
		cr_expect_eq(hits, 1, "%s: %d tables of the shape", bins[b].path, hits);
		cr_expect_eq(found, truth, "%s: decoded 0x%llx, symbol 0x%llx", bins[b].path,
			     (unsigned long long)found, (unsigned long long)truth);
		free(code);
		elf_close(ef);
	}
}

/* The shape check on synthetic tables */
Test(insn_check, table_fingerprint_synthetic)
{
	uint64_t t[256];
	char why[160];
	int k;

	for (k = 0; k < 256; k++) /* 3.14: 121-127 and 212-233 undefined */
		t[k] = (k >= 121 && k <= 127) || (k >= 212 && k <= 233) ? 0x1000 : 0x2000 + k;
	cr_expect_eq(eval_table_fingerprint(14, t, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(eval_table_fingerprint(15, t, why, sizeof(why)), -EINVAL, "3.15's shape");
	cr_expect_eq(eval_table_fingerprint(12, t, why, sizeof(why)), -ENOTSUP);
	t[5] = t[6]; /* two opcodes sharing a handler */
	cr_expect_eq(eval_table_fingerprint(14, t, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "opcodes 5 and 6 share"), "%s", why);
	t[5] = 0x2005;
	t[122] = 0x3000; /* an undefined opcode with a handler of its own */
	cr_expect_eq(eval_table_fingerprint(14, t, why, sizeof(why)), -EINVAL);
	t[122] = 0x1000;
	t[0] = 0x1000; /* a defined opcode on the unknown-opcode entry */
	cr_expect_eq(eval_table_fingerprint(14, t, why, sizeof(why)), -EINVAL);
}

/* USDT sites (issue 15 item 1): every python:* probe site of Debian's python3.11 and of sid's
 * 3.14/3.15 is a nop proved by decoding from its function's start (taken from the unwind
 * table), and a note whose pc was moved back a byte, into the previous instruction, is refused
 * with the reason. */
static const char *const usdt_probes[] = { "function__return", "gc__start", "gc__done",
					    "import__find__load__start",
					    "import__find__load__done" };

Test(insn_check, usdt_sites_proved_and_a_corrupt_note_refused, .timeout = 60)
{
	const char *bins[] = { python_for(11, true), "/var/cache/pyhound-test/sid/usr/bin/python3.15",
			       "/var/cache/pyhound-test/sid/usr/bin/python3.14" };
	char tmp[] = "/tmp/pyhound-usdt-XXXXXX", copy[512], cmd[1024], out[4096], why[512];
	int n = 0, proved = 0;

	for (size_t b = 0; b < sizeof(bins) / sizeof(bins[0]); b++) {
		if (access(bins[b], R_OK))
			continue;
		for (size_t i = 0; i < sizeof(usdt_probes) / sizeof(usdt_probes[0]); i++) {
			int err = usdt_check_probe(bins[b], "python", usdt_probes[i], &n, why,
						   sizeof(why));

			if (err == -ENOENT && !strstr(why, "refused")) /* 3.14 has no function__* */
				continue;
			cr_expect_eq(err, 0, "%s python:%s: %s", bins[b], usdt_probes[i], why);
			cr_expect_gt(n, 0);
			proved += !err;
		}
	}
	cr_assert_gt(proved, 4, "Debian's python3.11 (USDT) is needed");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(copy, sizeof(copy), "%s/python3.11", tmp);
	snprintf(cmd, sizeof(cmd), "python3 %s %s %s python:function__return python:gc__done",
		 workload("usdt_corrupt.py"), python_for(11, true), copy);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect_eq(usdt_check_probe(copy, "python", "function__return", &n, why, sizeof(why)),
		     -EINVAL);
	cr_expect(strstr(why, "refused") && strstr(why, "inside the instruction"), "%s", why);
	cr_expect_eq(usdt_check_probe(copy, "python", "gc__done", &n, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "inside the instruction"), "%s", why);
	/* the notes left alone are still proved */
	cr_expect_eq(usdt_check_probe(copy, "python", "gc__start", &n, why, sizeof(why)), 0, "%s",
		     why);
	unlink(copy);
	rmdir(tmp);
}
