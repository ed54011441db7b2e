// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The heap census's findings from synthetic censuses: the __slots__ threshold and saving, and
 * the growth diff. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/heap_findings.h"

static struct heap_type_stat stat(const char *name, bool cls, uint64_t count, uint64_t bytes,
				  uint64_t own, uint64_t attr_count, uint64_t attr_bytes,
				  uint64_t attr_names)
{
	struct heap_type_stat t = { .is_class = cls, .count = count, .bytes = bytes,
				    .own_bytes = own, .attr_count = attr_count,
				    .attr_bytes = attr_bytes, .attr_names = attr_names };

	snprintf(t.name, sizeof(t.name), "%s", name);
	return t;
}

Test(heap_findings, slots)
{
	struct heap_type_stat t[] = {
		/* 3.12-like: 48 B objects + 40 B values, 3 attributes */
		stat("m.Plain", true, 200000, 200000 * 88, 200000 * 48, 200000, 200000 * 40,
		     600000),
		/* too few */
		stat("m.Few", true, 99999, 99999 * 88, 99999 * 48, 99999, 99999 * 40, 299997),
		/* __slots__: no attribute storage */
		stat("m.Slotted", true, 500000, 500000 * 56, 500000 * 56, 0, 0, 0),
		/* not a class */
		stat("function", false, 300000, 300000 * 160, 300000 * 160, 300000, 0, 0),
	};
	struct heap_census c = { .types = t, .ntypes = 4 };
	struct heap_slots_finding f[4];
	int n = heap_slots_findings(&c, HEAP_SLOTS_MIN, f, 4);

	cr_assert_eq(n, 1);
	cr_expect_str_eq(f[0].t->name, "m.Plain");
	cr_expect_eq(f[0].now_each, 88);
	cr_expect_eq(f[0].slots_each, 32 + 3 * 8);
	cr_expect_eq(f[0].saving, 200000ull * (88 - 56));
	cr_expect_eq(f[0].storage, 200000ull * 40);
}

Test(heap_findings, diff)
{
	struct heap_type_stat a[] = { stat("list", false, 1000, 64000, 0, 0, 0, 0),
				      stat("dict", false, 500, 100000, 0, 0, 0, 0),
				      stat("gone", false, 10, 1000, 0, 0, 0, 0) };
	struct heap_type_stat b[] = { stat("list", false, 30000, 1920000, 0, 0, 0, 0),
				      stat("dict", false, 501, 100100, 0, 0, 0, 0),
				      stat("new", false, 5, 500, 0, 0, 0, 0) };
	struct heap_census ca = { .types = a, .ntypes = 3 }, cb = { .types = b, .ntypes = 3 };
	struct heap_growth *g;
	size_t n;

	cr_assert_eq(heap_diff(&ca, &cb, &g, &n), 0);
	cr_assert_eq(n, 4);
	cr_expect_str_eq(g[0].name, "list"); /* largest growth first */
	cr_expect(heap_growth_is_finding(&g[0]));
	cr_expect_str_eq(g[n - 1].name, "gone");
	cr_expect_eq(g[n - 1].count1, 0);
	for (size_t i = 1; i < n; i++)
		cr_expect(!heap_growth_is_finding(&g[i]), "%s", g[i].name);
	free(g);
}
