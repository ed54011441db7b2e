/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Findings about the Python code itself, from the sampled stacks and the instruction each
 * leaf frame sat on (user/stack/lineops.c): linear membership tests, string building by +=,
 * nested loops, pure-Python numeric loops, deep self-recursion. Each names the function and
 * line, gives the evidence (sample counts and shares, the instruction, loop depth) and the
 * standard remedy. Pure: unit tests build profiles by hand. Thresholds are in report --help. */
#ifndef PYHOUND_FINDINGS_CODE_H
#define PYHOUND_FINDINGS_CODE_H

#include <stdint.h>
#include <sys/types.h>
#include "stack/profile.h"

/* evidence rule: no code finding for a process with fewer on-CPU Python samples than this */
#define CODE_MIN_SAMPLES 50
/* a line (or a function's loop) must hold this share of the process's on-CPU Python samples */
#define CODE_MIN_SHARE 0.10
/* linear membership: this share of the line's samples on a membership test that is not a
 * set/dict-specialised one (CONTAINS_OP; COMPARE_OP in on 3.8) */
#define CODE_MEMBERSHIP_OP_SHARE 0.70
/* ... and on this share of the function's own samples: the test costs several times the rest
 * of the loop around it, as a scan does (a set lookup costs about as much as the loop) */
#define CODE_MEMBERSHIP_FUNC_SHARE 0.80
/* string building: this share of the line's samples on BINARY_OP_(INPLACE_)ADD_UNICODE
 * (3.11+; older versions do not show the operand type, so no finding there) */
#define CODE_STRCAT_OP_SHARE 0.50
/* nested loop: samples at loop depth >= 2 in one function, and this share of them on
 * comparisons (COMPARE_OP*, CONTAINS_OP*, IS_OP) */
#define CODE_NESTED_CMP_SHARE 0.15
/* numeric loop: this share of a function's in-loop samples on arithmetic opcodes */
#define CODE_ARITH_SHARE 0.25
/* deep recursion: the function calls itself and sits this many levels deep (median over its
 * samples), in this share of the process's samples, with most of its own time outside loops */
#define CODE_RECURSION_DEPTH 10
#define CODE_RECURSION_SHARE 0.30

/* repeated arguments (argument sampling: user/cpython/argvals.h, user/stack/argstats.c): a
 * function holding CODE_MIN_SHARE of the samples, at least this share of them in calls of its
 * own (straight-line code, not waiting on a callee: each such sample is a different call), at
 * least CODE_ARGS_MIN_CALLS of those with every argument decoded (int, float, str, bytes, bool,
 * None, tuples of those) and that share of them decoded, and at most CODE_ARGS_DISTINCT_SHARE
 * distinct argument tuples per decoded sample (each seen 5 times on average, or more) */
#define CODE_ARGS_OWN_SHARE 0.50
#define CODE_ARGS_MIN_CALLS 50
#define CODE_ARGS_DECODED_SHARE 0.50
#define CODE_ARGS_DISTINCT_SHARE 0.20

#define CODE_MAX_FINDINGS 8

struct code_finding {
	const char *kind; /* "linear-membership", "string-concat", "nested-loop", "numeric-loop",
			     "deep-recursion", "repeated-arguments" */
	const char *name, *file;
	int first_line, line;
	uint64_t samples;      /* the process's on-CPU Python samples */
	uint64_t evidence;     /* samples behind the finding (line, loop or recursion) */
	double share;	       /* evidence / samples */
	const char *op;	       /* the dominant instruction, or NULL */
	double op_share;       /* its share of the evidence samples */
	int loop_depth;
	int recursion_depth;   /* median depth (deep-recursion) */
	uint64_t arg_calls;    /* sampled calls with decoded arguments (0: no argument evidence) */
	uint64_t arg_distinct; /* distinct argument tuples among them */
	unsigned arg_count;    /* arguments hashed per call (the first PH_ARG_SLOTS) */
	char text[768];
};

/* The findings for process pid, at most max, strongest first. Returns the count or -ENOMEM. */
int code_findings(const struct profile *p, pid_t pid, struct code_finding *out, int max);

/* The instructions one line's leaf samples sat on, most first (summed over loop depths). */
struct line_op {
	const char *op;
	uint64_t count;
	int loop_depth; /* the deepest seen */
};
/* Up to max of them in out; *total gets all the line's samples. Returns the number or -ENOMEM. */
int line_ops(const struct profile *p, pid_t pid, const char *name, const char *file,
	     int first_line, int line, struct line_op *out, int max, uint64_t *total);

#endif
