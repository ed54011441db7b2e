// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The heap census's layouts (user/cpython/heap_layout.c) against the headers of every installed
 * pyenv CPython 3.8-3.13: tests/offsets/heap_probe.c is compiled against each and every field it
 * prints compared with the table; a field the table has but the headers lack fails too. A missing
 * version fails unless PYHOUND_ALLOW_MISSING_PYTHON=1. 3.14 and 3.15 against the DWARF of Debian
 * sid's python3.14d / python3.15d (gdb), and the layout resolved from each sid build's own
 * _Py_DebugOffsets (release and debug) against the measured one; synthetic tables: a moved
 * field is followed, a changed struct or an offset past what the census reads is refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/pythons.h"
#include "cpython/debug_offsets.h"
#include "cpython/heap_layout.h"
#include "host/elf.h"

static const char *root(void)
{
	const char *r = getenv("PYENV_ROOT");

	return r && *r ? r : "/root/.pyenv";
}

/* The newest pyenv 3.<minor>.N that is not free-threaded. */
static bool find_prefix(int minor, char *out, size_t len)
{
	char pat[PATH_MAX];
	glob_t g;
	bool found = false;

	snprintf(pat, sizeof(pat), "%s/versions/3.%d.*", root(), minor);
	if (glob(pat, 0, NULL, &g))
		return false;
	for (size_t i = g.gl_pathc; i-- > 0 && !found;) {
		size_t n = strlen(g.gl_pathv[i]);

		if (g.gl_pathv[i][n - 1] == 't')
			continue;
		snprintf(out, len, "%s", g.gl_pathv[i]);
		found = true;
	}
	globfree(&g);
	return found;
}

static int64_t field(const struct py_heap_layout *l, unsigned i)
{
	int64_t v;

	memcpy(&v, (const char *)l + py_heap_layout_fields[i].off, sizeof(v));
	return v;
}

static int64_t field_by_off(const struct py_heap_layout *l, unsigned off)
{
	int64_t v;

	memcpy(&v, (const char *)l + off, sizeof(v));
	return v;
}

static void check_version(int minor)
{
	const struct py_heap_layout *l = py_heap_layout_for(3, minor);
	const char *src = getenv("PYHOUND_SRCDIR");
	char prefix[PATH_MAX], exe[64], cmd[4 * PATH_MAX], line[256];
	bool seen[128] = { false };
	int nlines = 0;
	FILE *f;

	cr_assert_not_null(l, "no heap layout for 3.%d", minor);
	cr_assert_lt(py_heap_layout_nfields, 128);
	if (!find_prefix(minor, prefix, sizeof(prefix))) {
		const char *a = getenv("PYHOUND_ALLOW_MISSING_PYTHON");

		cr_assert(a && !strcmp(a, "1"), "CPython 3.%d is not installed under pyenv", minor);
		cr_log_warn("CPython 3.%d not installed: heap layout not checked", minor);
		return;
	}
	snprintf(exe, sizeof(exe), "/tmp/pyhound-heapprobe-3.%d-%d", minor, (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "${CC:-cc} -w -DNDEBUG -o %s -I%s/include/python3.%d -I%s/include/python3.%d/internal "
		 "%s/tests/offsets/heap_probe.c",
		 exe, prefix, minor, prefix, minor, src && *src ? src : ".");
	cr_assert_eq(system(cmd), 0, "compiling the probe failed: %s", cmd);
	f = popen(exe, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		char name[128];
		long long val;
		unsigned i;

		if (sscanf(line, "%127s %lld", name, &val) != 2)
			continue;
		nlines++;
		for (i = 0; i < py_heap_layout_nfields; i++)
			if (!strcmp(py_heap_layout_fields[i].name, name))
				break;
		cr_expect(i < py_heap_layout_nfields, "3.%d: probe printed unknown field %s", minor,
			  name);
		if (i == py_heap_layout_nfields)
			continue;
		seen[i] = true;
		cr_expect_eq(field(l, i), val, "3.%d (%s): %s is %lld in the table, %lld in the headers",
			     minor, prefix, name, (long long)field(l, i), val);
	}
	cr_assert_eq(pclose(f), 0, "probe for 3.%d failed", minor);
	unlink(exe);
	cr_assert_gt(nlines, 40);
	for (unsigned i = 0; i < py_heap_layout_nfields; i++)
		if (!seen[i])
			cr_expect_eq(field(l, i), HL_NONE,
				     "3.%d: %s is %lld in the table but the headers have no such field",
				     minor, py_heap_layout_fields[i].name, (long long)field(l, i));
}

Test(heap_layout, py38) { check_version(8); }
Test(heap_layout, py39) { check_version(9); }
Test(heap_layout, py310) { check_version(10); }
Test(heap_layout, py311) { check_version(11); }
Test(heap_layout, py312) { check_version(12); }
Test(heap_layout, py313) { check_version(13); }

Test(heap_layout, unsupported)
{
	cr_expect_null(py_heap_layout_for(3, 7));
	cr_expect_null(py_heap_layout_for(3, 16));
	cr_expect_null(py_heap_layout_for(2, 7));
}

/* ---- 3.14 / 3.15 (Debian sid) ---- */

static const char *sid_bin(int minor, bool debug)
{
	static char path[2][PATH_MAX];

	snprintf(path[debug], sizeof(path[debug]), "%s/usr/bin/python3.%d%s", sid_root(), minor,
		 debug ? "d" : "");
	cr_assert_eq(access(path[debug], R_OK), 0, "%s missing (make sid-root)", path[debug]);
	return path[debug];
}

/* The build's own table, parsed and checked (Py_Version from the binary). */
static void sid_table(const char *bin, struct py_debug_offsets *d)
{
	struct elf_file *ef = elf_open(bin);
	struct elf_sym sym;
	uint32_t ver = 0;
	char why[256] = "";

	cr_assert_not_null(ef, "%s", bin);
	cr_assert_eq(elf_find_symbol(ef, "Py_Version", &sym), 0);
	cr_assert_eq(elf_read_vaddr(ef, sym.value, &ver, 4), 0);
	cr_assert_eq(py_debug_offsets_read(ef, ver, d, NULL, why, sizeof(why)), 0, "%s: %s", bin,
		     why);
	elf_close(ef);
}

#define D(field, expr) { #field, offsetof(struct py_heap_layout, field), expr }
static const struct {
	const char *name;
	unsigned off;
	const char *expr;
} dwarf_fields[] = {
	D(runtime_interp_head, "&((_PyRuntimeState*)0)->interpreters.head"),
	D(interp_next, "&((PyInterpreterState*)0)->next"),
	D(gc_state, "&((PyInterpreterState*)0)->gc"),
	D(gc_state_size, "sizeof(struct _gc_runtime_state)"),
	D(gc_generations, "&((struct _gc_runtime_state*)0)->generations"),
	D(gc_generation_size, "sizeof(struct gc_generation)"),
	D(gc_generation_threshold, "&((struct gc_generation*)0)->threshold"),
	D(gc_generation_count, "&((struct gc_generation*)0)->count"),
	D(gc_num_generations, "sizeof(((struct _gc_runtime_state*)0)->generations) / "
			      "sizeof(struct gc_generation)"),
	D(gc_generation0, "&((struct _gc_runtime_state*)0)->generation0"),
	D(gc_permanent, "&((struct _gc_runtime_state*)0)->permanent_generation"),
	D(gc_collecting, "&((struct _gc_runtime_state*)0)->collecting"),
	D(gc_head_size, "sizeof(PyGC_Head)"),
	D(gc_head_next, "&((PyGC_Head*)0)->_gc_next"),
	D(gc_head_prev, "&((PyGC_Head*)0)->_gc_prev"),
	D(ob_type, "&((PyObject*)0)->ob_type"),
	D(ob_size, "&((PyVarObject*)0)->ob_size"),
	D(type_size, "sizeof(PyTypeObject)"),
	D(tp_name, "&((PyTypeObject*)0)->tp_name"),
	D(tp_basicsize, "&((PyTypeObject*)0)->tp_basicsize"),
	D(tp_itemsize, "&((PyTypeObject*)0)->tp_itemsize"),
	D(tp_flags, "&((PyTypeObject*)0)->tp_flags"),
	D(tp_base, "&((PyTypeObject*)0)->tp_base"),
	D(tp_dict, "&((PyTypeObject*)0)->tp_dict"),
	D(tp_dictoffset, "&((PyTypeObject*)0)->tp_dictoffset"),
	D(heaptype_size, "sizeof(PyHeapTypeObject)"),
	D(ht_qualname, "&((PyHeapTypeObject*)0)->ht_qualname"),
	D(ht_cached_keys, "&((PyHeapTypeObject*)0)->ht_cached_keys"),
	D(list_size, "sizeof(PyListObject)"),
	D(list_items, "&((PyListObject*)0)->ob_item"),
	D(list_allocated, "&((PyListObject*)0)->allocated"),
	D(dict_size, "sizeof(PyDictObject)"),
	D(dict_used, "&((PyDictObject*)0)->ma_used"),
	D(dict_keys, "&((PyDictObject*)0)->ma_keys"),
	D(dict_values, "&((PyDictObject*)0)->ma_values"),
	D(keys_refcnt, "&((PyDictKeysObject*)0)->dk_refcnt"),
	D(keys_log2_size, "&((PyDictKeysObject*)0)->dk_log2_size"),
	D(keys_log2_index_bytes, "&((PyDictKeysObject*)0)->dk_log2_index_bytes"),
	D(keys_kind, "&((PyDictKeysObject*)0)->dk_kind"),
	D(keys_usable, "&((PyDictKeysObject*)0)->dk_usable"),
	D(keys_nentries, "&((PyDictKeysObject*)0)->dk_nentries"),
	D(keys_header, "sizeof(PyDictKeysObject)"),
	D(keys_entry_size, "sizeof(PyDictKeyEntry)"),
	D(keys_unicode_entry_size, "sizeof(PyDictUnicodeEntry)"),
	D(set_size, "sizeof(PySetObject)"),
	D(set_mask, "&((PySetObject*)0)->mask"),
	D(set_table, "&((PySetObject*)0)->table"),
	D(set_smalltable, "&((PySetObject*)0)->smalltable"),
	D(set_entry_size, "sizeof(setentry)"),
	D(unicode_length, "&((PyASCIIObject*)0)->length"),
	D(unicode_state, "&((PyASCIIObject*)0)->state"),
	D(unicode_ascii_data, "sizeof(PyASCIIObject)"),
	D(unicode_compact_data, "sizeof(PyCompactUnicodeObject)"),
	D(values_capacity, "&((PyDictValues*)0)->capacity"),
	D(values_size, "&((PyDictValues*)0)->size"),
	D(values_array, "&((PyDictValues*)0)->values"),
};
#define NDWARF (sizeof(dwarf_fields) / sizeof(dwarf_fields[0]))

/* gdb's answers, one per expression, from the -dbg build's DWARF */
static void gdb_eval(const char *bin, long *out)
{
	static char cmd[32768];
	char line[512];
	size_t off;
	unsigned i = 0;
	FILE *f;

	off = snprintf(cmd, sizeof(cmd), "gdb -batch -nx");
	for (unsigned k = 0; k < NDWARF; k++)
		off += snprintf(cmd + off, sizeof(cmd) - off, " -ex 'print (long)(%s)'",
				dwarf_fields[k].expr);
	snprintf(cmd + off, sizeof(cmd) - off, " %s 2>&1", bin);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		long v;

		if (line[0] == '$' && sscanf(strchr(line, '=') + 1, "%ld", &v) == 1 && i < NDWARF)
			out[i++] = v;
	}
	pclose(f);
	cr_assert_eq(i, NDWARF, "gdb answered %u of %zu expressions on %s (is gdb installed?)", i,
		     NDWARF, bin);
}

static void check_sid(int minor)
{
	const struct py_heap_layout *l = py_heap_layout_for(3, minor);
	struct py_heap_layout r;
	struct py_debug_offsets d;
	long want[NDWARF];
	char why[256] = "";

	cr_assert_not_null(l);
	cr_expect_eq(l->version_hex, 0x03000000 | minor << 16);
	gdb_eval(sid_bin(minor, true), want);
	for (unsigned i = 0; i < NDWARF; i++)
		cr_expect_eq(field_by_off(l, dwarf_fields[i].off), want[i],
			     "3.%d: %s is %lld in the table, %ld in python3.%dd's DWARF", minor,
			     dwarf_fields[i].name, (long long)field_by_off(l, dwarf_fields[i].off),
			     want[i], minor);
	/* the debug build's own table gives the measured layout back, field for field */
	sid_table(sid_bin(minor, true), &d);
	cr_assert_eq(py_heap_layout_resolve(l, &d, &r, why, sizeof(why)), 0, "%s", why);
	for (unsigned i = 0; i < py_heap_layout_nfields; i++)
		cr_expect_eq(field(&r, i), field(l, i), "3.%dd: %s %lld from its table, %lld measured",
			     minor, py_heap_layout_fields[i].name, (long long)field(&r, i),
			     (long long)field(l, i));
	/* the release build: the same structs (its interpreter and runtime may be laid out
	 * otherwise: those offsets are the table's) */
	sid_table(sid_bin(minor, false), &d);
	cr_assert_eq(py_heap_layout_resolve(l, &d, &r, why, sizeof(why)), 0, "release 3.%d: %s",
		     minor, why);
	for (unsigned i = 0; i < py_heap_layout_nfields; i++) {
		const char *n = py_heap_layout_fields[i].name;

		if (!strcmp(n, "runtime_interp_head") || !strcmp(n, "interp_next") ||
		    !strcmp(n, "gc_state"))
			continue;
		cr_expect_eq(field(&r, i), field(l, i), "3.%d: %s %lld from its table, %lld measured",
			     minor, n, (long long)field(&r, i), (long long)field(l, i));
	}
}

Test(heap_layout, sid_314_dwarf_and_tables, .timeout = 120) { check_sid(14); }
Test(heap_layout, sid_315_dwarf_and_tables, .timeout = 120) { check_sid(15); }

/* Synthetic tables over 3.15's real one: fields moved within their structs are followed; a
 * struct of another size than measured, or an offset past what the census reads, refuses. */
Test(heap_layout, resolve_synthetic, .timeout = 60)
{
	const struct py_heap_layout *l = py_heap_layout_for(3, 15);
	struct py_debug_offsets good, d;
	struct py_heap_layout r;
	char why[256];

	sid_table(sid_bin(15, false), &good);
	d = good; /* dict's keys and values swapped, the GC state moved in the interpreter */
	d.dict_keys = good.dict_values;
	d.dict_values = good.dict_keys;
	d.interp_gc = good.interp_gc + 64;
	d.tp_flags = good.tp_flags + 8;
	cr_assert_eq(py_heap_layout_resolve(l, &d, &r, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(r.dict_keys, (int64_t)good.dict_values);
	cr_expect_eq(r.dict_values, (int64_t)good.dict_keys);
	cr_expect_eq(r.gc_state, (int64_t)good.interp_gc + 64);
	cr_expect_eq(r.tp_flags, (int64_t)good.tp_flags + 8);
	cr_expect_eq(r.gc_generations, l->gc_generations);

	d = good; /* another collector: its state has another size (3.14 before the revert) */
	d.gc_size = 256;
	cr_expect_eq(py_heap_layout_resolve(l, &d, &r, why, sizeof(why)), -EPROTO);
	cr_expect(strstr(why, "struct _gc_runtime_state) size is 256"), "%s", why);
	d = good;
	d.set_size += 8;
	cr_expect_eq(py_heap_layout_resolve(l, &d, &r, why, sizeof(why)), -EPROTO);
	cr_expect(strstr(why, "PySetObject's size"), "%s", why);
	d = good; /* inside its struct (the reader accepted it) but past the 48 bytes read */
	d.dict_values = 48;
	cr_expect_eq(py_heap_layout_resolve(l, &d, &r, why, sizeof(why)), -EPROTO);
	cr_expect(strstr(why, "dict ma_values is 48"), "%s", why);
	d = good;
	d.set_used = good.set_mask + 8; /* used no longer just before mask */
	cr_expect_eq(py_heap_layout_resolve(l, &d, &r, why, sizeof(why)), -EPROTO);
	cr_expect(strstr(why, "set used"), "%s", why);
	d = good;
	d.tp_flags = l->tp_dictoffset + 8;
	cr_expect_eq(py_heap_layout_resolve(l, &d, &r, why, sizeof(why)), -EPROTO);
	cr_expect(strstr(why, "tp_flags is 296, past the 296 bytes"), "%s", why);
}
