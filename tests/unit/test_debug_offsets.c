// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The _Py_DebugOffsets reader and the thread-state locators against Debian sid's python3.14/3.15
 * (release and -dbg): the offsets pyhound derives from each interpreter's own table agree with
 * the DWARF of the -dbg build (read by gdb), autoTSSkey and _Py_tss_gilstate are where the
 * debug symbols say, and synthetic tables (shuffled, bad cookie, wrong version, an offset past
 * its struct, free-threaded) are followed or refused. A missing sid root fails. */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/pythons.h"
#include "cpython/debug_offsets.h"
#include "cpython/gil.h"
#include "cpython/offsets.h"
#include "cpython/tstate_locate.h"
#include "host/elf.h"
#include "host/libc_tsd.h"
#include "lib/log.h"

static char path_buf[2 * PATH_MAX];

/* Host path of sid's python3.<minor>[d]; fails the test when missing. */
static const char *sid_bin(int minor, bool debug)
{
	snprintf(path_buf, sizeof(path_buf), "%s/usr/bin/python3.%d%s", sid_root(), minor,
		 debug ? "d" : "");
	cr_assert_eq(access(path_buf, X_OK), 0, "%s missing (make sid-root)", path_buf);
	return path_buf;
}

static uint32_t py_version(const char *path)
{
	struct elf_file *ef = elf_open(path);
	struct elf_sym sym;
	uint32_t v = 0;

	cr_assert_not_null(ef, "%s", path);
	cr_assert_eq(elf_find_symbol(ef, "Py_Version", &sym), 0, "%s: no Py_Version", path);
	cr_assert_eq(elf_read_vaddr(ef, sym.value, &v, 4), 0);
	elf_close(ef);
	return v;
}

/* The raw table of path (888 bytes max) and its length for the version. */
static size_t raw_table(const char *path, uint32_t version, unsigned char *buf)
{
	struct elf_file *ef = elf_open(path);
	uint64_t addr;
	size_t n = py_debug_offsets_size((version >> 16) & 0xff);

	cr_assert_not_null(ef);
	cr_assert(n > 0);
	cr_assert_eq(elf_section_addr(ef, ".PyRuntime", &addr), 0, "%s: no .PyRuntime", path);
	cr_assert_eq(elf_read_vaddr(ef, addr, buf, n), 0);
	elf_close(ef);
	return n;
}

/* gdb's answer for expressions in the -dbg build's DWARF: one long per expression. */
static void gdb_eval(const char *bin, const char *const *exprs, int n, long *out)
{
	char cmd[16384], line[512];
	size_t off;
	int i = 0;
	FILE *f;

	off = snprintf(cmd, sizeof(cmd), "gdb -batch -nx");
	for (int k = 0; k < n; k++)
		off += snprintf(cmd + off, sizeof(cmd) - off, " -ex 'print (long)(%s)'", exprs[k]);
	snprintf(cmd + off, sizeof(cmd) - off, " %s 2>&1", bin);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		long v;

		if (line[0] == '$' && sscanf(strchr(line, '=') + 1, "%ld", &v) == 1 && i < n)
			out[i++] = v;
	}
	pclose(f);
	cr_assert_eq(i, n, "gdb answered %d of %d expressions on %s (is gdb installed?)", i, n,
		     bin);
}

#define E(field, expr) { #field, offsetof(struct py_offsets, field), expr }
static const struct {
	const char *name;
	size_t off;
	const char *expr;
} dwarf_fields[] = {
	E(runtime_interp_head, "&((_PyRuntimeState*)0)->interpreters.head"),
	E(interp_next, "&((PyInterpreterState*)0)->next"),
	E(interp_threads_head, "&((PyInterpreterState*)0)->threads.head"),
	E(tstate_next, "&((PyThreadState*)0)->next"),
	E(tstate_thread_id, "&((PyThreadState*)0)->thread_id"),
	E(tstate_native_tid, "&((PyThreadState*)0)->native_thread_id"),
	E(tstate_frame, "&((PyThreadState*)0)->current_frame"),
	E(frame_back, "&((struct _PyInterpreterFrame*)0)->previous"),
	E(frame_code, "&((struct _PyInterpreterFrame*)0)->f_executable"),
	E(frame_lasti, "&((struct _PyInterpreterFrame*)0)->instr_ptr"),
	E(frame_owner, "&((struct _PyInterpreterFrame*)0)->owner"),
	E(frame_owner_skip, "FRAME_OWNED_BY_INTERPRETER"),
	E(code_argcount, "&((PyCodeObject*)0)->co_argcount"),
	E(code_flags, "&((PyCodeObject*)0)->co_flags"),
	E(code_firstlineno, "&((PyCodeObject*)0)->co_firstlineno"),
	E(code_filename, "&((PyCodeObject*)0)->co_filename"),
	E(code_name, "&((PyCodeObject*)0)->co_name"),
	E(code_qualname, "&((PyCodeObject*)0)->co_qualname"),
	E(code_linetable, "&((PyCodeObject*)0)->co_linetable"),
	E(code_adaptive, "&((PyCodeObject*)0)->co_code_adaptive"),
	E(ob_type, "&((PyObject*)0)->ob_type"),
	E(var_size, "&((PyVarObject*)0)->ob_size"),
	E(bytes_sval, "&((PyBytesObject*)0)->ob_sval"),
	E(unicode_length, "&((PyASCIIObject*)0)->length"),
	E(unicode_state, "&((PyASCIIObject*)0)->state"),
	E(unicode_ascii_data, "sizeof(PyASCIIObject)"),
	E(unicode_compact_data, "sizeof(PyCompactUnicodeObject)"),
	E(unicode_data_ptr, "&((PyUnicodeObject*)0)->data"),
};
#define NDWARF (sizeof(dwarf_fields) / sizeof(dwarf_fields[0]))

static void check_against_dwarf(int minor)
{
	const char *exprs[NDWARF + 1];
	long want[NDWARF + 1];
	char dbg[2 * PATH_MAX], why[256] = "";
	struct py_offsets o;
	size_t i;

	snprintf(dbg, sizeof(dbg), "%s", sid_bin(minor, true));
	for (i = 0; i < NDWARF; i++)
		exprs[i] = dwarf_fields[i].expr;
	exprs[NDWARF] = minor == 14 ? "&((_PyRuntimeState*)0)->autoTSSkey._key" : "0";
	gdb_eval(dbg, exprs, NDWARF + 1, want);
	for (int debug = 1; debug >= 0; debug--) {
		const char *bin = sid_bin(minor, debug);

		cr_assert_eq(py_offsets_resolve_elf(bin, py_version(bin), &o, why, sizeof(why)), 0,
			     "%s: %s", bin, why);
		for (i = 0; i < NDWARF; i++) {
			__u16 got;

			/* the release build's runtime/interpreter structs may differ from the
			 * debug build's; its objects, frames, code and thread states do not */
			if (!debug && !strncmp(dwarf_fields[i].name, "runtime_", 8))
				continue;
			if (!debug && !strncmp(dwarf_fields[i].name, "interp_", 7))
				continue;
			memcpy(&got, (char *)&o + dwarf_fields[i].off, 2);
			cr_expect_eq(got, want[i], "%s: %s is %u from its _Py_DebugOffsets, %ld in "
				     "python3.%dd's DWARF", bin, dwarf_fields[i].name, got, want[i],
				     minor);
		}
		cr_expect_eq(o.walk_kind, PY_WALK_CURFRAME);
		cr_expect_eq(o.frame_code_tag, 3, "f_executable is a tagged _PyStackRef");
		if (minor == 14 && debug)
			cr_expect_eq(o.runtime_tsskey, want[NDWARF], "%s: autoTSSkey._key %u, DWARF %ld",
				     bin, o.runtime_tsskey, want[NDWARF]);
		if (minor == 14 && !debug) /* inside _PyRuntime, where the key's int is */
			cr_expect(o.runtime_tsskey > 0 && o.runtime_tsskey != PY_OFF_NONE);
		if (minor == 15)
			cr_expect_eq(o.runtime_tsskey, PY_OFF_NONE, "3.15 has no autoTSSkey");
	}
}

Test(debug_offsets, sid_314_matches_dwarf, .timeout = 120) { check_against_dwarf(14); }
Test(debug_offsets, sid_315_matches_dwarf, .timeout = 120) { check_against_dwarf(15); }

/* 3.15's _Py_tss_gilstate: the offset decoded from PyGILState_GetThisThreadState is the
 * symbol's place in the executable's TLS block (python3.15d has .symtab). */
Test(debug_offsets, sid_315_tls, .timeout = 60)
{
	const char *bin = sid_bin(15, true);
	struct elf_file *ef = elf_open(bin);
	uint64_t memsz = 0, align = 0, block;
	uint8_t code[64];
	struct elf_sym acc, var;
	int64_t tpoff = 0;
	char why[256] = "";

	cr_assert_not_null(ef);
	cr_assert_eq(elf_find_symbol(ef, "PyGILState_GetThisThreadState", &acc), 0);
	cr_assert_eq(elf_find_symbol(ef, "_Py_tss_gilstate", &var), 0);
	cr_assert_eq(elf_tls_segment(ef, &memsz, &align), 0);
	cr_assert(acc.size > 0 && acc.size <= sizeof(code));
	cr_assert_eq(elf_read_vaddr(ef, acc.value, code, acc.size), 0);
	elf_close(ef);
	block = (memsz + align - 1) & ~(align - 1);
	cr_assert_eq(py_decode_tls_load(code, acc.size, acc.value, &tpoff, why, sizeof(why)), 0,
		     "%s", why);
	cr_expect_eq(tpoff, (int64_t)var.value - (int64_t)block, "decoded fs%lld, symbol at %lld",
		     (long long)tpoff, (long long)var.value - (long long)block);
	/* not a TLS load: refused */
	code[0] = 0xc3;
	cr_expect_eq(py_decode_tls_load(code, acc.size, acc.value, &tpoff, why, sizeof(why)),
		     -ENOEXEC);
}

/* glibc's TSD layout decoded from pthread_getspecific (host libc and sid's) reads the value a
 * key really holds in this thread. */
Test(debug_offsets, libc_tsd_layout)
{
	struct libc_tsd t = {}, sid = {};
	char why[256] = "", lib[2 * PATH_MAX];
	struct elf_file *ef;
	struct elf_sym sym;
	uint8_t code[96];
	pthread_key_t k;
	uint64_t v;
	size_t n;

	cr_assert_eq(libc_tsd_for_pid(getpid(), &t, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(pthread_key_create(&k, NULL), 0);
	cr_assert_eq(pthread_setspecific(k, (void *)0x1234abcdul), 0);
	cr_assert(k < t.keys);
	memcpy(&v, (char *)pthread_self() + t.base + (size_t)k * t.stride, 8);
	cr_expect_eq(v, 0x1234abcdul, "base 0x%x stride %u keys %u", t.base, t.stride, t.keys);
	pthread_key_delete(k);

	snprintf(lib, sizeof(lib), "%s/lib/x86_64-linux-gnu/libc.so.6", sid_root());
	ef = elf_open(lib);
	cr_assert_not_null(ef, "%s", lib);
	cr_assert_eq(elf_find_symbol(ef, "pthread_getspecific", &sym), 0);
	n = sym.size && sym.size < sizeof(code) ? sym.size : sizeof(code);
	cr_assert_eq(elf_read_vaddr(ef, sym.value, code, n), 0);
	elf_close(ef);
	cr_assert_eq(libc_tsd_decode(code, n, sym.value, &sid, why, sizeof(why)), 0, "%s", why);
	cr_expect(sid.keys >= 32 && sid.stride == 16 && sid.base > 0, "sid glibc: base 0x%x "
		  "stride %u keys %u", sid.base, sid.stride, sid.keys);
	memset(code, 0x90, sizeof(code)); /* nops: not pthread_getspecific */
	cr_expect_eq(libc_tsd_decode(code, n, 0, &sid, why, sizeof(why)), -ENOEXEC);
}

/* Synthetic tables built from sid 3.15's real one. */
static unsigned char raw[PY_DEBUG_OFFSETS_MAX];

static void put(size_t off, uint64_t v)
{
	memcpy(raw + off, &v, 8);
}

static uint64_t get(size_t off)
{
	uint64_t v;

	memcpy(&v, raw + off, 8);
	return v;
}

/* 3.15 layout positions (cpython/debug_offsets.c, struct dbg315) */
#define T_SIZE 176
#define T_CURRENT_FRAME 208
#define C_FILENAME 384
#define C_NAME 392
#define RT_SIZE 24
#define FT 16

Test(debug_offsets, synthetic_tables, .timeout = 30)
{
	const char *bin = sid_bin(15, false);
	uint32_t version = py_version(bin);
	size_t n = raw_table(bin, version, raw);
	struct py_debug_offsets d;
	struct py_offsets o;
	char why[256];
	uint64_t fname, name, size;

	cr_assert_eq(py_debug_offsets_parse(raw, n, version, &d, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(d.tstate_size, get(T_SIZE));
	cr_expect_eq(d.tstate_current_frame, get(T_CURRENT_FRAME));

	/* shuffled: fields elsewhere inside their structs are followed */
	fname = get(C_FILENAME);
	name = get(C_NAME);
	size = get(T_SIZE);
	put(C_FILENAME, name);
	put(C_NAME, fname);
	put(T_CURRENT_FRAME, size - 8);
	cr_assert_eq(py_debug_offsets_parse(raw, n, version, &d, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(py_offsets_from_debug(&d, &o, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(o.code_filename, name);
	cr_expect_eq(o.code_name, fname);
	cr_expect_eq(o.tstate_frame, size - 8);

	/* an offset past its struct */
	put(T_CURRENT_FRAME, size - 4);
	cr_expect_eq(py_debug_offsets_parse(raw, n, version, &d, why, sizeof(why)), -EPROTO);
	cr_expect(strstr(why, "thread_state.current_frame"), "%s", why);
	put(T_CURRENT_FRAME, size + 100);
	cr_expect_eq(py_debug_offsets_parse(raw, n, version, &d, why, sizeof(why)), -EPROTO);
	put(T_CURRENT_FRAME, size - 8);

	/* a zero or absurd struct size */
	put(RT_SIZE, 0);
	cr_expect_eq(py_debug_offsets_parse(raw, n, version, &d, why, sizeof(why)), -EPROTO);
	put(RT_SIZE, 1ull << 40);
	cr_expect_eq(py_debug_offsets_parse(raw, n, version, &d, why, sizeof(why)), -EPROTO);
	raw_table(bin, version, raw);

	/* version mismatch with Py_Version, another minor, a pre-release */
	cr_expect_eq(py_debug_offsets_parse(raw, n, version + 0x100, &d, why, sizeof(why)),
		     -EPROTO);
	cr_expect(strstr(why, "differs from Py_Version"), "%s", why);
	cr_expect_eq(py_debug_offsets_parse(raw, n, 0x031000f0, &d, why, sizeof(why)), -ENOTSUP);
	cr_expect(strstr(why, "3.16"), "%s", why);

	/* too short for 3.15's layout */
	cr_expect_eq(py_debug_offsets_parse(raw, 760, version, &d, why, sizeof(why)), -EINVAL);

	/* free-threaded */
	put(FT, 1);
	cr_expect_eq(py_debug_offsets_parse(raw, n, version, &d, why, sizeof(why)), -ENOTSUP);
	cr_expect(strstr(why, "free-threaded build: not supported yet"), "%s", why);
	put(FT, 0);

	/* bad cookie */
	raw[0] = 'y';
	cr_expect_eq(py_debug_offsets_parse(raw, n, version, &d, why, sizeof(why)), -EPROTO);
	cr_expect(strstr(why, "cookie"), "%s", why);
}

/* The 3.14 tables (release and debug) parse with 3.14's layout and not with 3.15's. */
Test(debug_offsets, layouts_per_minor, .timeout = 30)
{
	const char *bin = sid_bin(14, false);
	uint32_t version = py_version(bin);
	size_t n = raw_table(bin, version, raw);
	struct py_debug_offsets d;
	char why[256];

	cr_assert_eq(n, 760);
	cr_expect_eq(py_debug_offsets_parse(raw, n, version, &d, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(d.unicode_compact_size, 0, "3.14 has no compactunicodeobject_size");
	cr_expect_eq(py_debug_offsets_size(13), 584);
	cr_expect_eq(py_debug_offsets_size(15), 888);
	cr_expect_eq(py_debug_offsets_size(16), 0);
}

/* The GIL of 3.14 / 3.15 from each sid build's own table: interp->ceval.gil and
 * _PyRuntime.interpreters.main where the -dbg build's DWARF has them, the 208-byte struct's
 * locked / last_holder; a table putting locked elsewhere in _gil is refused. */
static void check_gil(int minor)
{
	const char *exprs[] = { "&((PyInterpreterState*)0)->ceval.gil",
				"&((_PyRuntimeState*)0)->interpreters.main",
				"sizeof(struct _gil_runtime_state)" };
	long want[3];
	char dbg[2 * PATH_MAX], why[256] = "";
	struct py_debug_offsets d;
	struct ph_gil_info g;
	struct elf_file *ef;

	snprintf(dbg, sizeof(dbg), "%s", sid_bin(minor, true));
	gdb_eval(dbg, exprs, 3, want);
	for (int debug = 1; debug >= 0; debug--) {
		const char *bin = sid_bin(minor, debug);

		ef = elf_open(bin);
		cr_assert_not_null(ef);
		cr_assert_eq(py_debug_offsets_read(ef, py_version(bin), &d, NULL, why, sizeof(why)),
			     0, "%s: %s", bin, why);
		elf_close(ef);
		cr_assert_eq(py_gil_from_debug(&d, 0x1000000, &g, why, sizeof(why)), 0, "%s: %s",
			     bin, why);
		cr_expect_eq(g.gil_addr, 0);
		cr_expect_eq(g.interp_gil, want[0], "%s: ceval.gil %u, DWARF %ld", bin, g.interp_gil,
			     want[0]);
		if (debug)
			cr_expect_eq(g.interp_addr, 0x1000000 + want[1], "%s: interpreters.main at "
				     "+%llu, DWARF %ld", bin,
				     (unsigned long long)(g.interp_addr - 0x1000000), want[1]);
		cr_expect_eq(g.gil_size, want[2]);
		cr_expect_eq(g.gil_locked, 16);
		cr_expect_eq(g.gil_holder, 8);
	}
	d.interp_gil_locked += 8;
	cr_expect_eq(py_gil_from_debug(&d, 0x1000000, &g, why, sizeof(why)), -EPROTO);
	cr_expect(strstr(why, "not the 208-byte struct _gil_runtime_state"), "%s", why);
}

Test(debug_offsets, sid_314_gil, .timeout = 120) { check_gil(14); }
Test(debug_offsets, sid_315_gil, .timeout = 120) { check_gil(15); }

/* 3.13's GIL from pyenv 3.13's own table: where its headers put it (interpreters.main at 640
 * of _PyRuntime, ceval.gil at 16 of the interpreter: gcc offsetof() against pyenv 3.13's
 * internal headers, the values gil.c had compiled in before 3.13 moved to the table). */
Test(debug_offsets, pyenv_313_gil, .timeout = 60)
{
	char why[256] = "";
	struct py_debug_offsets d;
	struct ph_gil_info g;
	struct elf_file *ef;
	glob_t gl;
	const char *lib;

	cr_assert_eq(glob("/root/.pyenv/versions/3.13.*/lib/libpython3.13.so.1.0", 0, NULL, &gl), 0,
		     "pyenv 3.13 not installed");
	lib = gl.gl_pathv[0];
	ef = elf_open(lib);
	cr_assert_not_null(ef, "%s", lib);
	cr_assert_eq(py_debug_offsets_read(ef, py_version(lib), &d, NULL, why, sizeof(why)), 0,
		     "%s: %s", lib, why);
	elf_close(ef);
	cr_assert_eq(py_gil_from_debug(&d, 0, &g, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(g.interp_addr, 640, "interpreters.main at %llu",
		     (unsigned long long)g.interp_addr);
	cr_expect_eq(g.interp_gil, 16);
	cr_expect_eq(g.gil_addr, 0);
	globfree(&gl);
}
