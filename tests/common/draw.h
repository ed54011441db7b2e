/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* An integration test's example drawn per run, so that no hard-coded result can pass it: a seed
 * from the test's pid (PYHOUND_TEST_SEED=N replays a run: every test prints its seed in its info
 * line), and numbers drawn from it in a range (splitmix64). */
#ifndef PYHOUND_TEST_DRAW_H
#define PYHOUND_TEST_DRAW_H

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static inline uint64_t test_seed(void)
{
	const char *s = getenv("PYHOUND_TEST_SEED");

	return s && *s ? strtoull(s, NULL, 0) : (uint64_t)getpid();
}

/* a number in [lo, hi], advancing *state */
static inline long test_draw(uint64_t *state, long lo, long hi)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return lo + (long)(z % (uint64_t)(hi - lo + 1));
}

#endif
