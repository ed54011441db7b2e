// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The offset tables in user/offsets.c against the headers of every installed pyenv CPython
 * 3.8 .. 3.13: tests/offsets/probe.c is compiled against each and its output compared field by
 * field. A missing version fails unless PYHOUND_ALLOW_MISSING_PYTHON=1. */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host/discover.h"
#include "host/elf.h"
#include "lib/log.h"
#include "cpython/offsets.h"

#define F(name) { #name, offsetof(struct py_offsets, name), sizeof(((struct py_offsets *)0)->name) }
static const struct {
	const char *name;
	size_t off, size;
} fields[] = {
	F(version_hex), F(runtime_interp_head), F(runtime_tsskey), F(interp_next),
	F(interp_threads_head), F(tstate_next), F(tstate_thread_id), F(tstate_native_tid),
	F(tstate_frame), F(cframe_current_frame), F(frame_back), F(frame_code), F(frame_lasti),
	F(frame_owner), F(frame_owner_skip), F(code_argcount), F(code_flags), F(code_firstlineno),
	F(code_filename), F(code_name), F(code_qualname), F(code_linetable), F(code_code),
	F(code_adaptive), F(ob_type), F(var_size), F(bytes_sval), F(unicode_length),
	F(unicode_state), F(unicode_ascii_data), F(unicode_compact_data), F(unicode_data_ptr),
	F(frame_localsplus),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static unsigned long field_value(const struct py_offsets *o, size_t i)
{
	const char *p = (const char *)o + fields[i].off;

	if (fields[i].size == 4)
		return *(const __u32 *)p;
	return *(const __u16 *)p;
}

static const char *pyenv_root(char *buf, size_t len)
{
	const char *r = getenv("PYENV_ROOT");
	FILE *f;

	if (r && *r)
		return r;
	f = popen("pyenv root 2>/dev/null", "r");
	if (f) {
		if (fgets(buf, len, f)) {
			buf[strcspn(buf, "\n")] = 0;
			pclose(f);
			if (*buf)
				return buf;
		} else {
			pclose(f);
		}
	}
	return "/root/.pyenv";
}

/* The install prefix of the newest pyenv 3.<minor>.N (not free-threaded), or false. */
static bool find_prefix(int minor, char *out, size_t len)
{
	char root[PATH_MAX], pat[PATH_MAX + 64];
	glob_t g;
	bool found = false;

	snprintf(pat, sizeof(pat), "%s/versions/3.%d.*", pyenv_root(root, sizeof(root)), minor);
	if (glob(pat, 0, NULL, &g))
		return false;
	for (size_t i = g.gl_pathc; i-- > 0;) {
		size_t n = strlen(g.gl_pathv[i]);

		if (g.gl_pathv[i][n - 1] == 't') /* 3.13.0t: free-threaded layout */
			continue;
		snprintf(out, len, "%s", g.gl_pathv[i]);
		found = true;
		break;
	}
	globfree(&g);
	return found;
}

static const char *srcdir(void)
{
	const char *s = getenv("PYHOUND_SRCDIR");

	return s && *s ? s : ".";
}

static bool allow_missing(void)
{
	const char *s = getenv("PYHOUND_ALLOW_MISSING_PYTHON");

	return s && !strcmp(s, "1");
}

static void check_version(int minor)
{
	char prefix[PATH_MAX], cmd[4 * PATH_MAX], exe[64], line[256];
	const struct py_offsets *o = py_offsets_for(3, minor);
	bool seen[NFIELDS] = { false };
	struct py_offsets from_debug;
	FILE *f;
	int nlines = 0;

	cr_assert(minor >= 13 || o, "no table for 3.%d", minor);
	if (!find_prefix(minor, prefix, sizeof(prefix))) {
		if (allow_missing()) {
			cr_log_warn("CPython 3.%d not installed under pyenv: not checked", minor);
			return;
		}
		cr_assert_fail("CPython 3.%d is not installed under pyenv (set "
			"PYHOUND_ALLOW_MISSING_PYTHON=1 to allow)", minor);
		return;
	}
	if (minor >= 13) { /* no compiled table: the offsets come from libpython's own table */
		char lib[PATH_MAX + 64], why[256] = "";
		struct elf_file *ef;
		struct elf_sym sym;
		uint32_t version = 0;

		snprintf(lib, sizeof(lib), "%s/lib/libpython3.%d.so.1.0", prefix, minor);
		ef = elf_open(lib);
		cr_assert_not_null(ef, "%s", lib);
		cr_assert_eq(elf_find_symbol(ef, "Py_Version", &sym), 0);
		cr_assert_eq(elf_read_vaddr(ef, sym.value, &version, 4), 0);
		elf_close(ef);
		cr_assert_eq(py_offsets_resolve_elf(lib, version, &from_debug, why, sizeof(why)), 0,
			     "%s: %s", lib, why);
		o = &from_debug;
	}
	snprintf(exe, sizeof(exe), "/tmp/pyhound-offprobe-3.%d-%d", minor, (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "${CC:-cc} -w -o %s -I%s/include/python3.%d -I%s/include/python3.%d/internal "
		 "%s/tests/offsets/probe.c",
		 exe, prefix, minor, prefix, minor, srcdir());
	cr_assert_eq(system(cmd), 0, "compiling the probe failed: %s", cmd);
	f = popen(exe, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		char name[128];
		unsigned long val;
		size_t i;

		if (sscanf(line, "%127s %lu", name, &val) != 2)
			continue;
		nlines++;
		for (i = 0; i < NFIELDS; i++)
			if (!strcmp(fields[i].name, name))
				break;
		cr_expect(i < NFIELDS, "3.%d: probe printed unknown field %s", minor, name);
		if (i == NFIELDS)
			continue;
		seen[i] = true;
		cr_expect_eq(field_value(o, i), val, "3.%d (%s): %s is %lu in the table, %lu in the headers",
			     minor, prefix, name, field_value(o, i), val);
	}
	cr_assert_eq(pclose(f), 0, "probe for 3.%d failed", minor);
	unlink(exe);
	cr_assert_gt(nlines, 20);
	for (size_t i = 0; i < NFIELDS; i++)
		if (!seen[i])
			cr_expect_eq(field_value(o, i), PY_OFF_NONE,
				     "3.%d: %s is %lu in the table but the version has no such field",
				     minor, fields[i].name, field_value(o, i));
}

Test(offsets, py38) { check_version(8); }
Test(offsets, py39) { check_version(9); }
Test(offsets, py310) { check_version(10); }
Test(offsets, py311) { check_version(11); }
Test(offsets, py312) { check_version(12); }
Test(offsets, py313) { check_version(13); }

Test(offsets, unsupported)
{
	char why[256];
	struct py_offsets o;

	cr_expect_null(py_offsets_for(3, 7));
	cr_expect_null(py_offsets_for(3, 13)); /* 3.13+: from the interpreter's own table */
	cr_expect_null(py_offsets_for(2, 7));
	cr_expect_eq(py_offsets_resolve_elf("/nonexistent", 0x030700f0, &o, why, sizeof(why)),
		     -ENOTSUP);
	cr_expect(strstr(why, "3.7 is not supported"), "%s", why);
}
