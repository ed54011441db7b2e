/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A small hand-built profile the output tests share: two processes, a stack added twice (merged),
 * a non-ASCII name, a ';' in a name, a truncated stack and a sample taken in a syscall.
 * 16 samples in 2 s at 100 Hz. */
#ifndef PYHOUND_TESTS_SAMPLE_PROFILE_H
#define PYHOUND_TESTS_SAMPLE_PROFILE_H

#include <criterion/criterion.h>
#include "stack/profile.h"

#define F_MODULE { "<module>", "main.py", 10, 1 }
#define F_WORK { "work", "main.py", 5, 4 }
#define F_COMPUTE { "compute", "lib/calc.py", 20, 18 }
#define F_NAIVE { "na\xc3\xafve_\xcf\x83", "lib/calc.py", 30, 28 } /* naïve_σ */
#define F_SEMI { "a;b", "main.py", 12, 11 }
#define F_WAIT { "wait", "main.py", 40, 38 }
#define F_JOB_MODULE { "<module>", "job.py", 3, 1 }
#define F_RUN { "run", "job.py", 8, 7 }

static inline struct profile *sample_profile(void)
{
	const struct prof_frame s1[] = { F_MODULE, F_WORK, F_COMPUTE };
	const struct prof_frame s2[] = { F_MODULE, F_WORK, F_NAIVE };
	const struct prof_frame s3[] = { F_MODULE, F_SEMI };
	const struct prof_frame s4[] = { F_WORK, F_COMPUTE };
	const struct prof_frame s5[] = { F_MODULE, F_WAIT };
	const struct prof_frame s6[] = { F_JOB_MODULE, F_RUN };
	struct profile *p = profile_new(2.0, 100);
	const char *proc = "python3 (100)", *main = "MainThread";

	cr_assert_not_null(p);
	/* the second process first: output order must not depend on insertion order */
	cr_assert_eq(profile_add(p, 200, 201, "python3.11 (200)", "worker", s6, 2, false, false, 2),
		     0);
	cr_assert_eq(profile_add(p, 100, 100, proc, main, s1, 3, false, false, 4), 0);
	cr_assert_eq(profile_add(p, 100, 100, proc, main, s2, 3, false, false, 2), 0);
	cr_assert_eq(profile_add(p, 100, 100, proc, main, s3, 2, false, false, 1), 0);
	cr_assert_eq(profile_add(p, 100, 100, proc, main, s4, 2, true, false, 1), 0);
	cr_assert_eq(profile_add(p, 100, 100, proc, main, s5, 2, false, true, 3), 0);
	cr_assert_eq(profile_add(p, 100, 100, proc, main, s1, 3, false, false, 3), 0);
	cr_assert_eq(p->nstacks, 6);
	cr_assert_eq(p->total_samples, 16);
	return p;
}

#endif
