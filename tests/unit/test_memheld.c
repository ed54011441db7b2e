// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* user/stack/memheld.c: growth samples held by address until a release covers them. */
#include <errno.h>
#include <string.h>
#include <criterion/criterion.h>
#include "stack/memheld.h"

static const struct prof_frame A[] = { { "main", "w.py", 10, 1 }, { "keep", "w.py", 20, 18 } };
static const struct prof_frame B[] = { { "main", "w.py", 11, 1 }, { "churn", "w.py", 30, 28 } };

#define MiB (1ull << 20)

static uint64_t held_of(const struct memheld *h, pid_t pid, const char *leaf)
{
	struct profile *p = memheld_profile(h, pid, 0);
	uint64_t v = 0;

	cr_assert_not_null(p);
	for (size_t i = 0; i < p->nstacks; i++)
		if (!strcmp(p->stacks[i].frames[p->stacks[i].nframes - 1].name, leaf))
			v += p->stacks[i].count;
	profile_free(p);
	return v;
}

Test(memheld, release_drops_only_samples_inside_the_range)
{
	struct memheld *h = memheld_new();
	struct memheld_proc st;

	/* keep: 4 samples in [16 MiB, 20 MiB); churn: 4 in [64 MiB, 68 MiB) */
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(memheld_growth(h, 7, 7, "p", "t", A, 2, false, 16 * MiB + i * MiB,
					    256 << 10), 0);
		cr_assert_eq(memheld_growth(h, 7, 7, "p", "t", B, 2, false, 64 * MiB + i * MiB,
					    256 << 10), 0);
	}
	cr_assert_eq(held_of(h, 7, "keep"), 1 * MiB);
	cr_assert_eq(held_of(h, 7, "churn"), 1 * MiB);
	/* another process's release of the same addresses changes nothing */
	memheld_release(h, 8, 64 * MiB, 4 * MiB);
	cr_assert_eq(held_of(h, 7, "churn"), 1 * MiB);
	/* [65 MiB, 67 MiB): the two samples at 65 and 66 MiB */
	memheld_release(h, 7, 65 * MiB, 2 * MiB);
	cr_assert_eq(held_of(h, 7, "churn"), 512 << 10);
	cr_assert_eq(held_of(h, 7, "keep"), 1 * MiB);
	/* the end is exclusive: a release ending at 64 MiB keeps the sample at 64 MiB */
	memheld_release(h, 7, 60 * MiB, 4 * MiB);
	cr_assert_eq(held_of(h, 7, "churn"), 512 << 10);
	cr_assert_eq(memheld_proc(h, 7, &st), 0);
	cr_assert_eq(st.sampled, 2 * MiB);
	cr_assert_eq(st.held, 1536 << 10);
	cr_assert_eq(st.released, 512 << 10);
	cr_assert_eq(st.samples, 8);
	cr_assert_eq(memheld_proc(h, 9, &st), -ENOENT);
	memheld_free(h);
}

Test(memheld, huge_release_and_move)
{
	struct memheld *h = memheld_new();

	cr_assert_eq(memheld_growth(h, 7, 7, "p", "t", A, 2, false, 0x7f0000000000ull, 4096), 0);
	cr_assert_eq(memheld_growth(h, 7, 7, "p", "t", B, 2, false, 0x10000000ull, 8192), 0);
	/* mremap: the churn sample moves with its pages */
	memheld_move(h, 7, 0x10000000ull, 1 * MiB, 0x20000000ull);
	memheld_release(h, 7, 0x10000000ull, 1 * MiB);
	cr_assert_eq(held_of(h, 7, "churn"), 8192);
	memheld_release(h, 7, 0x20000000ull, 4096);
	cr_assert_eq(held_of(h, 7, "churn"), 0);
	/* a release spanning terabytes scans the buckets instead of every region */
	memheld_release(h, 7, 0x1000000000ull, 0x7f0000000000ull);
	cr_assert_eq(held_of(h, 7, "keep"), 0);
	/* an unknown address (0) is held to the end */
	cr_assert_eq(memheld_growth(h, 7, 7, "p", "t", A, 2, false, 0, 4096), 0);
	memheld_release(h, 7, 4096, 1ull << 40);
	cr_assert_eq(held_of(h, 7, "keep"), 4096);
	memheld_forget(h, 7);
	cr_assert_eq(held_of(h, 7, "keep"), 0);
	memheld_free(h);
}

Test(memheld, large_mappings_by_stack_and_kind)
{
	struct memheld *h = memheld_new();
	const struct profile *m;

	for (int i = 0; i < 3; i++)
		cr_assert_eq(memheld_mapping(h, 7, 7, "p", "t", A, 2, false, "[mmap]", 4 * MiB), 0);
	cr_assert_eq(memheld_mapping(h, 7, 7, "p", "t", A, 2, false, "[brk]", 2 * MiB), 0);
	m = memheld_maps(h);
	cr_assert_eq(m->nstacks, 2);
	cr_assert_str_eq(m->stacks[0].frames[2].name, "[mmap]");
	cr_assert_eq(m->stacks[0].count, 12 * MiB);
	cr_assert_eq(memheld_map_count(h, 0), 3);
	cr_assert_eq(memheld_map_count(h, 1), 1);
	memheld_free(h);
}
