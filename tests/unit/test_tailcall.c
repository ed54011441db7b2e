// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The tail-calling interpreter (user/cpython/tailcall.h). No CPython built that way is at hand
 * (python3.14's source is not on the Debian mirror the tests reach), so the ELF logic is checked
 * on tests/workloads/tailcall_shape.c, a program with its layout compiled here by clang, with
 * and without PIE: told apart by its symbols, its RESUME, RESUME_CHECK and RETURN_VALUE functions
 * are the table's entries for their opcodes and RESUME_CHECK's jump into RESUME is seen; strip(1)
 * copies are recognised by the table of functions that the exported _PyEval_EvalFrameDefault's
 * callee indexes; `calls` refuses both with the reason. Debian's own builds (3.11, sid's 3.14 and
 * 3.15 release and -dbg) are not tail-calling. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/pythons.h"
#include "collect/calls_user.h"
#include "cpython/tailcall.h"
#include "host/discover.h"
#include "host/elf.h"

/* tailcall_shape.c built by clang into /tmp (pie or not), and a stripped copy: the paths */
#define SHAPE_PATH 64

static void build_shape(bool pie, char *bin, char *stripped)
{
	char cmd[PATH_MAX + 6 * SHAPE_PATH], out[4096];

	snprintf(bin, SHAPE_PATH, "/tmp/pyhound-tcshape-%d%s", (int)getpid(), pie ? "-pie" : "");
	snprintf(stripped, SHAPE_PATH, "/tmp/pyhound-tcshape-%d%s-stripped", (int)getpid(),
		 pie ? "-pie" : "");
	snprintf(cmd, sizeof(cmd), "clang -O2 -rdynamic %s -o %s %s && %s && strip -o %s %s",
		 pie ? "-fpie -pie" : "-fno-pie -no-pie", bin, workload("tailcall_shape.c"), bin,
		 stripped, bin);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s: %s", cmd, out);
	cr_assert(!strcmp(out, "42\n"), "%s printed %s", bin, out);
}

/* what `calls` (and `list -v`) say of the file at path as CPython 3.14's */
static int probe_source(const char *path, char *why, size_t len)
{
	struct py_proc p = {};
	struct stat st;

	p.major = 3;
	p.minor = 14;
	p.supported = true;
	snprintf(p.obj_path, sizeof(p.obj_path), "%s", path);
	snprintf(p.obj_open_path, sizeof(p.obj_open_path), "%s", path);
	cr_assert_eq(stat(path, &st), 0);
	p.obj_dev = st.st_dev;
	p.obj_inode = st.st_ino;
	return calls_probe_source(&p, why, len);
}

static void named_functions(bool pie)
{
	struct tailcall_op ops[] = { { 128, "RESUME", -1 }, { 196, "RESUME_CHECK", 0 },
				     { 35, "RETURN_VALUE", -1 } };
	char bin[SHAPE_PATH], stripped[SHAPE_PATH], why[512] = "";
	struct eval_site s[3];
	struct elf_file *ef;
	int i;

	build_shape(pie, bin, stripped);
	cr_assert_eq(tailcall_detect(bin, 14, why, sizeof(why)), TAILCALL_SYMBOLS, "%s", why);
	cr_expect_eq(tailcall_detect(bin, 13, why, sizeof(why)), TAILCALL_NO, "before 3.14");
	cr_assert_eq(tailcall_locate(bin, 14, ops, 3, s, why, sizeof(why)), 0, "%s", why);
	ef = elf_open(bin);
	cr_assert_not_null(ef);
	for (i = 0; i < 3; i++) {
		char name[64];
		struct elf_sym sym;
		uint64_t off;

		snprintf(name, sizeof(name), "_TAIL_CALL_%s", ops[i].name);
		cr_assert_eq(elf_find_symbol(ef, name, &sym), 0, "no %s", name);
		cr_expect_eq(s[i].probe, sym.value, "%s: probe 0x%llx, symbol 0x%llx", name,
			     (unsigned long long)s[i].probe, (unsigned long long)sym.value);
		cr_expect(s[i].tail_call);
		cr_expect_eq(elf_vaddr_to_offset(ef, sym.value, &off), 0);
		cr_expect_eq(s[i].offset, off);
	}
	elf_close(ef);
	/* RESUME_CHECK deoptimises by jumping to RESUME's entry */
	cr_expect(s[0].reentered, "RESUME_CHECK's jump into RESUME not seen");
	cr_expect(!s[1].reentered && !s[2].reentered);
	/* refused as `calls` would be, with what was found */
	cr_expect_eq(probe_source(bin, why, sizeof(why)), 0);
	cr_expect(!strncmp(why, "tail-calling interpreter: its opcode functions are found "
			   "(_TAIL_CALL_RESUME at 0x", 81), "%s", why);
	/* not declared a specialised form of RESUME, that jump is refused */
	ops[1].generic = -1;
	cr_expect_eq(tailcall_locate(bin, 14, ops, 3, s, why, sizeof(why)), -EEXIST, "%s", why);
	cr_expect(strstr(why, "_TAIL_CALL_RESUME is entered directly from _TAIL_CALL_RESUME_CHECK"),
		  "%s", why);
	ops[1].generic = 0;
	/* a wrong opcode number: the table's entry is another function */
	ops[2].opcode = 36;
	cr_expect_eq(tailcall_locate(bin, 14, ops, 3, s, why, sizeof(why)), -EINVAL, "%s", why);
	cr_expect(strstr(why, "dispatch table's entry for opcode 36"), "%s", why);
	ops[2].opcode = 35;
	ops[2].name = "NO_SUCH_OPCODE";
	cr_expect_eq(tailcall_locate(bin, 14, ops, 3, s, why, sizeof(why)), -ENOENT, "%s", why);
	cr_expect(strstr(why, "no function _TAIL_CALL_NO_SUCH_OPCODE"), "%s", why);

	/* strip(1): found through the table, refused with the reason */
	cr_assert_eq(tailcall_detect(stripped, 14, why, sizeof(why)), TAILCALL_STRIPPED, "%s",
		     why);
	cr_log_info("stripped (%s): %s", pie ? "PIE" : "no PIE", why);
	cr_expect(strstr(why, "per-opcode functions"), "%s", why);
	cr_expect_eq(probe_source(stripped, why, sizeof(why)), 0);
	cr_expect(!strncmp(why, "tail-calling interpreter without symbols: ", 42), "%s", why);
	unlink(bin);
	unlink(stripped);
}

Test(tailcall, shape_without_pie, .timeout = 60) { named_functions(false); }
Test(tailcall, shape_with_pie, .timeout = 60) { named_functions(true); }

Test(tailcall, debian_builds_are_not_tail_calling, .timeout = 60)
{
	struct test_python py[4];
	char missing[1024], path[2 * PATH_MAX], why[256];
	int n = test_sid_pythons(py, 4, missing, sizeof(missing));

	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	for (int i = 0; i < n; i++) {
		python_host_path(&py[i], path, sizeof(path));
		cr_expect_eq(tailcall_detect(path, py[i].minor, why, sizeof(why)), TAILCALL_NO,
			     "%s: %s", py[i].label, why);
	}
	cr_expect_eq(tailcall_detect(python_for(11, true), 11, why, sizeof(why)), TAILCALL_NO);
}

Test(tailcall, build_column)
{
	struct py_proc p = { .static_build = true, .tail_call = TAILCALL_SYMBOLS };
	char buf[64];

	py_proc_build_flags(&p, buf, sizeof(buf));
	cr_expect_str_eq(buf, "static,symbols,tailcall");
	p.tail_call = TAILCALL_NO;
	p.stripped = true;
	p.usdt_count = 3;
	py_proc_build_flags(&p, buf, sizeof(buf));
	cr_expect_str_eq(buf, "static,stripped,usdt");
}
