// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The heap census's layouts (user/cpython/heap_layout.c) against the headers of every installed
 * pyenv CPython 3.8-3.13: tests/offsets/heap_probe.c is compiled against each and every field it
 * prints compared with the table; a field the table has but the headers lack fails too. A missing
 * version fails unless PYHOUND_ALLOW_MISSING_PYTHON=1. */
#include <criterion/criterion.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cpython/heap_layout.h"

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
	cr_expect_null(py_heap_layout_for(3, 14)); /* incremental collector: not walked yet */
	cr_expect_null(py_heap_layout_for(3, 15));
	cr_expect_null(py_heap_layout_for(2, 7));
}
