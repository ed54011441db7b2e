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
	/* enum ph_wall_mode (include/wall.h): 0 CPU samples; 1 wall (every thread at
	 * frequency_hz, off-CPU ones ending in a [..] pseudo-frame); 2 GIL holders only */
	int mode;
	uint64_t total_samples;
	size_t nstacks, cap;
	struct prof_stack *stacks;
	/* interned strings */
	struct prof_strtab *strtab;
	/* finds the stack identical to one being added (private to profile.c) */
	struct prof_index *index;
	/* leaf (function, line, instruction) counts (lineops.c), NULL until the first */
	struct prof_lineops *lineops;
	/* leaf functions' sampled argument hashes (argstats.c), NULL until the first */
	struct prof_argstats *argstats;
};

/* Hard bounds on growth; past them profile_add/profile_intern fail with -ENOMEM / NULL and the
 * profile stays valid with what it already holds. */
#define PROFILE_MAX_STACKS (1u << 20)	    /* distinct stacks (profile_set_max_stacks) */
#define PROFILE_MAX_STRINGS (1u << 20)	    /* distinct interned strings */
#define PROFILE_MAX_STRING_BYTES (64u << 20) /* bytes of interned strings */
#define PROFILE_MAX_FRAMES 4096		    /* frames per stack; more is -EINVAL */

/* NULL when out of memory */
struct profile *profile_new(double duration_s, unsigned int frequency_hz);
void profile_free(struct profile *p);
/* The profile's copy of s (equal strings give the same pointer, so interned strings compare by
 * address); NULL s interns "". NULL when out of memory or past the bounds above. */
const char *profile_intern(struct profile *p, const char *s);
/* Lower the bound on distinct stacks (0 restores PROFILE_MAX_STACKS). */
void profile_set_max_stacks(struct profile *p, size_t max);
/* Add count samples of a stack (frames root first); merged with an identical stack (same pid,
 * tid, process, thread, frames incl. lines, truncated and in_syscall). Frames are copied and their
 * strings interned; a NULL name becomes "<unknown>", a NULL file "", a NULL or empty process
 * "pid <pid>" and thread "tid <tid>".
 * Returns 0, -EINVAL (NULL p, NULL frames with nframes > 0, nframes > PROFILE_MAX_FRAMES) or
 * -ENOMEM (allocation failed or a bound above was reached: the samples are not added). */
int profile_add(struct profile *p, pid_t pid, pid_t tid, const char *process, const char *thread,
		const struct prof_frame *frames, uint32_t nframes, bool truncated, bool in_syscall,
		uint64_t count);
/* As profile_add(), also with count 0, and returns the stack's index in p->stacks (stable:
 * stacks are never removed) or -EINVAL / -ENOMEM. */
ssize_t profile_add_index(struct profile *p, pid_t pid, pid_t tid, const char *process,
			  const char *thread, const struct prof_frame *frames, uint32_t nframes,
			  bool truncated, bool in_syscall, uint64_t count);

/* The line a frame is shown with: the executing line, else the definition's line. */
static inline int prof_frame_line(const struct prof_frame *fr)
{
	return fr->line ? fr->line : fr->first_line;
}

/* Pseudo-frame names the writers use for the flags */
#define PROF_TRUNCATED_NAME "[truncated]"
#define PROF_SYSCALL_NAME "[syscall]"

/* Stacks in a stable order independent of insertion and of string addresses: by pid, tid,
 * process, thread, then frames (name, file, line) root first, a prefix before its extensions,
 * truncated and in_syscall last. *out (free() it) gets p->nstacks pointers into p->stacks; with
 * pid > 0 only that process's stacks. Returns the number of stacks or -ENOMEM. */
ssize_t profile_sorted_stacks(const struct profile *p, pid_t pid, const struct prof_stack ***out);

/* The max (0: all) stacks with the most samples, most first (ties in profile_sorted_stacks
 * order); pid > 0 keeps that process only. Returns the number in *out (free() it) or -ENOMEM. */
ssize_t profile_top_stacks(const struct profile *p, pid_t pid, size_t max,
			   const struct prof_stack ***out);

/* Stacks equal but for their thread, merged: count sums them, nthreads is how many threads
 * (distinct tids) had it, stack is the member with most samples (its thread is the one shown
 * when nthreads is 1). */
struct prof_stack_group {
	const struct prof_stack *stack;
	uint64_t count;
	uint32_t nthreads;
};

/* The max (0: all) groups with the most samples, most first (ties by frames); pid > 0 keeps
 * that process only. Returns the number in *out (free() it) or -ENOMEM. */
ssize_t profile_top_stack_groups(const struct profile *p, pid_t pid, size_t max,
				 struct prof_stack_group **out);

/* Per function (name, file, line of definition): self counts samples where it is the leaf frame
 * (self_syscall those of them sampled in a syscall), total samples where it is anywhere on the
 * stack (once per sample, however deep the recursion). */
struct prof_func_stat {
	const char *name;
	const char *file;
	int first_line;
	uint64_t self;
	uint64_t self_syscall;
	uint64_t total;
	int hot_line;		/* profile_set_hot_lines(): the line with most self samples (most */
	uint64_t hot_line_self; /* total without self; 0: unknown), and its self samples */
};

/* Fill hot_line/hot_line_self of n functions (one pass over the stacks each). */
void profile_set_hot_lines(const struct profile *p, pid_t pid, struct prof_func_stat *f, size_t n);

/* The max (0: all) functions by self samples, then total, then name, file, line; pid > 0 keeps
 * that process only. Returns the number in *out (free() it) or -ENOMEM. */
ssize_t profile_top_functions(const struct profile *p, pid_t pid, size_t max,
			      struct prof_func_stat **out);

/* ---- what the leaf frames sat on (user/stack/lineops.c) ---- */
/* Samples on CPU running Python (not in a syscall) per (process, function, line, instruction
 * label, loop depth). Bounded by PROFILE_MAX_STACKS entries; samples past it are counted in
 * lineops_dropped. */
struct prof_line_op {
	pid_t pid;
	const char *name, *file; /* interned */
	int first_line, line;
	const char *op; /* interned label, "?" when the instruction could not be read */
	int loop_depth;
	uint64_t count;
};
/* Count samples of a leaf frame that sat on instruction op (NULL: unknown) at loop depth
 * loop_depth; the profiler calls it next to profile_add() for samples not in a syscall. */
void prof_lineops_add(struct profile *p, pid_t pid, const struct prof_frame *leaf, const char *op,
		      int loop_depth, uint64_t count);
void prof_lineops_free(struct prof_lineops *lo);
/* Entries of process pid (> 0), by function (name, file, first line), line, then count (most
 * first). Returns the number in *out (free() it) or -ENOMEM. */
ssize_t profile_line_ops(const struct profile *p, pid_t pid, struct prof_line_op **out);
uint64_t profile_lineops_dropped(const struct profile *p);

/* ---- the leaf's sampled arguments (user/stack/argstats.c) ---- */
#define PROF_ARGS_MAX_FUNCS 4096    /* functions tracked; samples of more are counted dropped */
#define PROF_ARGS_MAX_DISTINCT 1024 /* distinct argument hashes kept per function */
/* Per (process, function): leaf samples whose argument slots were sampled, those of them in a
 * call of their own (loop depth 0, not on a call instruction: straight-line code, so no two such
 * samples can be in the same call), those decoded, and the distinct argument hashes among them
 * (distinct_capped: more than PROF_ARGS_MAX_DISTINCT). */
struct prof_arg_func {
	pid_t pid;
	const char *name, *file; /* interned */
	int first_line;
	unsigned nargs;
	uint64_t sampled, own_call, decoded;
	uint32_t distinct;
	bool distinct_capped;
	uint64_t *hashes; /* open addressing, hslots (a power of two, at most half full), 0: empty */
	uint32_t hslots;
};
/* state: sampler_leaf_args() (1 decoded with hash and nargs, 0 not decoded, -1 not sampled) */
void prof_args_add(struct profile *p, pid_t pid, const struct prof_frame *leaf, bool own_call,
		   int state, uint64_t hash, unsigned nargs);
void prof_argstats_free(struct prof_argstats *a);
/* The entry of one function, or NULL */
const struct prof_arg_func *profile_args_find(const struct profile *p, pid_t pid, const char *name,
					      const char *file, int first_line);
uint64_t profile_args_dropped(const struct profile *p);

/* Samples of one process (pid > 0) or of all */
uint64_t profile_samples(const struct profile *p, pid_t pid);

#endif
