/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A named (symbolized) CPU profile: sampled stacks with counts, per process and thread. The
 * sampler builds one; the writers (collapsed, SVG flamegraph, speedscope, pprof) and the report
 * read it. Strings are owned by the profile (interned). */
#ifndef PYHOUND_PROFILE_H
#define PYHOUND_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct prof_frame {
	const char *name; /* qualified name, e.g. "Class.method" or "<module>" */
	const char *file; /* co_filename */
	int line;	  /* line being executed, 0 when unknown */
	int first_line;	  /* co_firstlineno */
};

struct prof_stack {
	pid_t pid, tid;
	const char *process; /* e.g. "python3.12 (1234)" */
	const char *thread;  /* e.g. "MainThread" or "tid 1236" */
	uint32_t nframes;
	struct prof_frame *frames; /* root (outermost) first, leaf last */
	uint64_t count;		   /* samples */
	bool truncated;		   /* deeper than the walker's bound: outermost frames missing */
	bool in_syscall;	   /* sampled while in a syscall, not running Python */
};

struct profile {
	double duration_s;
	unsigned int frequency_hz;
	uint64_t total_samples;
	size_t nstacks, cap;
	struct prof_stack *stacks;
	/* interned strings */
	struct prof_strtab *strtab;
};

struct profile *profile_new(double duration_s, unsigned int frequency_hz);
void profile_free(struct profile *p);
const char *profile_intern(struct profile *p, const char *s);
/* Add count samples of a stack (frames root first); merged with an identical stack. Frames are
 * copied and their strings interned. */
int profile_add(struct profile *p, pid_t pid, pid_t tid, const char *process, const char *thread,
		const struct prof_frame *frames, uint32_t nframes, bool truncated, bool in_syscall,
		uint64_t count);

#endif
