// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "sample_profile.h"

Test(profile, intern_gives_one_pointer_per_string)
{
	struct profile *p = profile_new(1, 99);
	char buf[16] = "hello";
	const char *a = profile_intern(p, "hello"), *b = profile_intern(p, buf);

	cr_assert_not_null(a);
	cr_assert_eq(a, b);
	cr_assert_str_eq(a, "hello");
	cr_assert_neq(a, (const char *)buf);
	cr_assert_neq(profile_intern(p, "world"), a);
	cr_assert_str_eq(profile_intern(p, NULL), "");
	profile_free(p);
}

Test(profile, identical_stacks_merge_and_differences_do_not)
{
	struct prof_frame fr[] = { { "f", "a.py", 3, 1 } };
	struct profile *p = profile_new(1, 99);

	cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, 1, false, false, 2), 0);
	cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, 1, false, false, 5), 0);
	cr_assert_eq(p->nstacks, 1);
	cr_assert_eq(p->stacks[0].count, 7);
	/* each of these differs in one thing */
	cr_assert_eq(profile_add(p, 2, 1, "p", "t", fr, 1, false, false, 1), 0);
	cr_assert_eq(profile_add(p, 1, 2, "p", "t", fr, 1, false, false, 1), 0);
	cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, 1, true, false, 1), 0);
	cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, 1, false, true, 1), 0);
	cr_assert_eq(profile_add(p, 1, 1, "q", "t", fr, 1, false, false, 1), 0);
	cr_assert_eq(profile_add(p, 1, 1, "p", "u", fr, 1, false, false, 1), 0);
	fr[0].line = 4;
	cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, 1, false, false, 1), 0);
	cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, 0, false, false, 1), 0);
	cr_assert_eq(p->nstacks, 9);
	cr_assert_eq(p->total_samples, 15);
	/* the frames were copied and their strings interned */
	cr_assert_eq(p->stacks[0].frames[0].name, profile_intern(p, "f"));
	cr_assert_eq(p->stacks[0].frames[0].line, 3);
	profile_free(p);
}

Test(profile, defaults_for_missing_names)
{
	struct prof_frame fr[] = { { NULL, NULL, 0, 0 } };
	struct profile *p = profile_new(1, 99);

	cr_assert_eq(profile_add(p, 7, 8, NULL, "", fr, 1, false, false, 1), 0);
	cr_assert_str_eq(p->stacks[0].process, "pid 7");
	cr_assert_str_eq(p->stacks[0].thread, "tid 8");
	cr_assert_str_eq(p->stacks[0].frames[0].name, "<unknown>");
	cr_assert_str_eq(p->stacks[0].frames[0].file, "");
	profile_free(p);
}

Test(profile, bounded_growth_fails_with_enomem)
{
	struct prof_frame fr[] = { { "f", "a.py", 1, 1 } };
	struct profile *p = profile_new(1, 99);
	int i;

	profile_set_max_stacks(p, 3);
	for (i = 0; i < 3; i++)
		cr_assert_eq(profile_add(p, 1, 1 + i, "p", "t", fr, 1, false, false, 1 + i), 0);
	cr_assert_eq(p->nstacks, 3);
	fr[0].line = 2;
	cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, 1, false, false, 1), -ENOMEM);
	cr_assert_eq(p->nstacks, 3);
	cr_assert_eq(p->total_samples, 1 + 2 + 3);
	/* an existing stack still merges at the bound */
	fr[0].line = 1;
	cr_assert_eq(profile_add(p, 1, 2, "p", "t", fr, 1, false, false, 4), 0);
	cr_assert_eq(p->stacks[1].count, 6);
	cr_assert_eq(p->total_samples, 1 + 2 + 3 + 4);
	profile_free(p);
}

Test(profile, rejects_bad_arguments)
{
	struct prof_frame fr[] = { { "f", "a.py", 1, 1 } };
	struct profile *p = profile_new(1, 99);

	cr_assert_eq(profile_add(NULL, 1, 1, "p", "t", fr, 1, false, false, 1), -EINVAL);
	cr_assert_eq(profile_add(p, 1, 1, "p", "t", NULL, 1, false, false, 1), -EINVAL);
	cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, PROFILE_MAX_FRAMES + 1, false, false, 1),
		     -EINVAL);
	cr_assert_eq(p->nstacks, 0);
	profile_free(p);
}

Test(profile, many_stacks_grow_the_tables)
{
	struct profile *p = profile_new(1, 99);
	char name[32];
	int i;

	for (i = 0; i < 20000; i++) {
		struct prof_frame fr[] = { { "<module>", "m.py", 1, 1 }, { name, "m.py", i, i } };

		snprintf(name, sizeof(name), "f%d", i % 5000);
		cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, 2, false, false, 1), 0);
	}
	for (i = 0; i < 20000; i++) {
		struct prof_frame fr[] = { { "<module>", "m.py", 1, 1 }, { name, "m.py", i, i } };

		snprintf(name, sizeof(name), "f%d", i % 5000);
		cr_assert_eq(profile_add(p, 1, 1, "p", "t", fr, 2, false, false, 1), 0);
	}
	cr_assert_eq(p->nstacks, 20000);
	cr_assert_eq(p->total_samples, 40000);
	for (i = 0; i < 20000; i++)
		cr_assert_eq(p->stacks[i].count, 2);
	profile_free(p);
}

Test(profile, sorted_stacks_are_stable)
{
	struct profile *p = sample_profile();
	const struct prof_stack **v;
	ssize_t n = profile_sorted_stacks(p, 0, &v);

	cr_assert_eq(n, 6);
	cr_assert_eq(v[0]->pid, 100);
	cr_assert_str_eq(v[0]->frames[1].name, "a;b");
	cr_assert_str_eq(v[1]->frames[1].name, "wait");
	cr_assert_str_eq(v[2]->frames[2].name, "compute");
	cr_assert_eq(v[2]->count, 7);
	cr_assert(v[4]->truncated);
	cr_assert_eq(v[5]->pid, 200);
	free(v);
	n = profile_sorted_stacks(p, 200, &v);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0]->thread, "worker");
	free(v);
	profile_free(p);
}

Test(profile, top_stacks_by_count)
{
	struct profile *p = sample_profile();
	const struct prof_stack **v;
	ssize_t n = profile_top_stacks(p, 0, 3, &v);

	cr_assert_eq(n, 3);
	cr_assert_eq(v[0]->count, 7);
	cr_assert_eq(v[1]->count, 3);
	cr_assert(v[1]->in_syscall);
	/* ties (2 and 2) in sorted order: pid 100 before pid 200 */
	cr_assert_eq(v[2]->count, 2);
	cr_assert_eq(v[2]->pid, 100);
	free(v);
	profile_free(p);
}

static const struct prof_func_stat *find_func(const struct prof_func_stat *f, ssize_t n,
					      const char *name, const char *file)
{
	ssize_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].name, name) && !strcmp(f[i].file, file))
			return &f[i];
	return NULL;
}

Test(profile, top_functions_self_and_total)
{
	struct prof_frame rec[] = { { "<module>", "r.py", 9, 1 }, { "fib", "r.py", 3, 2 },
				    { "fib", "r.py", 4, 2 }, { "fib", "r.py", 3, 2 } };
	struct profile *p = sample_profile();
	struct prof_func_stat *f;
	const struct prof_func_stat *x;
	ssize_t n = profile_top_functions(p, 100, 0, &f);

	cr_assert_eq(n, 6); /* <module>, work, compute, naïve_σ, a;b, wait */
	cr_assert_str_eq(f[0].name, "compute");
	cr_assert_eq(f[0].self, 8);
	cr_assert_eq(f[0].total, 8);
	cr_assert_eq(f[0].first_line, 18);
	cr_assert_str_eq(f[1].name, "wait");
	cr_assert_eq(f[1].self, 3);
	cr_assert_eq(f[1].self_syscall, 3);
	x = find_func(f, n, "<module>", "main.py");
	cr_assert_not_null(x);
	cr_assert_eq(x->self, 0);
	cr_assert_eq(x->total, 13);
	x = find_func(f, n, "work", "main.py");
	cr_assert_eq(x->total, 10);
	x = find_func(f, n, "na\xc3\xafve_\xcf\x83", "lib/calc.py");
	cr_assert_eq(x->self, 2);
	cr_assert_null(find_func(f, n, "run", "job.py"));
	free(f);

	n = profile_top_functions(p, 0, 2, &f);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(f[0].name, "compute");
	cr_assert_str_eq(f[1].name, "wait");
	free(f);

	/* recursion: total counts a sample once however often the function is on its stack */
	cr_assert_eq(profile_add(p, 300, 300, "r", "t", rec, 4, false, false, 5), 0);
	n = profile_top_functions(p, 300, 0, &f);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(f[0].name, "fib");
	cr_assert_eq(f[0].self, 5);
	cr_assert_eq(f[0].total, 5);
	free(f);
	cr_assert_eq(profile_samples(p, 300), 5);
	cr_assert_eq(profile_samples(p, 100), 14);
	cr_assert_eq(profile_samples(p, 0), 21);
	profile_free(p);
}

/* Top stacks across threads: equal stacks of several threads merge, counted by thread */
Test(profile, top_stack_groups_count_threads)
{
	struct prof_frame work[] = { { "run", "w.py", 9, 7 }, { "work", "w.py", 3, 1 } };
	struct prof_frame idle[] = { { "run", "w.py", 12, 7 } };
	struct profile *p = profile_new(1, 99);
	struct prof_stack_group *g;
	ssize_t n;

	cr_assert_eq(profile_add(p, 10, 11, "py", "thread 11", work, 2, false, false, 3), 0);
	cr_assert_eq(profile_add(p, 10, 12, "py", "thread 12", work, 2, false, false, 5), 0);
	cr_assert_eq(profile_add(p, 10, 13, "py", "thread 13", work, 2, false, false, 2), 0);
	/* the same thread renamed: one thread */
	cr_assert_eq(profile_add(p, 10, 13, "py", "thread 13 (w)", work, 2, false, false, 1), 0);
	cr_assert_eq(profile_add(p, 10, 10, "py", "main thread 10", idle, 1, false, false, 4), 0);
	/* in a syscall, or another process: not the same stack */
	cr_assert_eq(profile_add(p, 10, 11, "py", "thread 11", work, 2, false, true, 6), 0);
	cr_assert_eq(profile_add(p, 20, 21, "py", "thread 21", work, 2, false, false, 9), 0);
	n = profile_top_stack_groups(p, 10, 0, &g);
	cr_assert_eq(n, 3);
	cr_expect_eq(g[0].count, 11);
	cr_expect_eq(g[0].nthreads, 3);
	cr_expect_eq(g[0].stack->tid, 12, "the member with most samples");
	cr_expect_eq(g[1].count, 6);
	cr_expect(g[1].stack->in_syscall);
	cr_expect_eq(g[1].nthreads, 1);
	cr_expect_eq(g[2].count, 4);
	cr_expect_str_eq(g[2].stack->thread, "main thread 10");
	free(g);
	n = profile_top_stack_groups(p, 0, 2, &g);
	cr_assert_eq(n, 2);
	cr_expect_eq(g[0].count, 11);
	cr_expect_eq(g[1].count, 9);
	cr_expect_eq(g[1].stack->pid, 20);
	free(g);
	profile_free(p);
}
