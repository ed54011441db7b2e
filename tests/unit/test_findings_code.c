// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* user/model/findings_code.c on hand-built profiles: each finding fires on its evidence and
 * stays quiet below its thresholds (evidence rule, set/dict-specialised membership, a
 * membership test as cheap as the loop around it, str += without the typed opcode). */
#include <criterion/criterion.h>
#include <string.h>
#include "model/findings_code.h"

static struct profile *p;

static void add(const char *fn, int first, int line, const char *op, int depth, int count)
{
	struct prof_frame fr[2] = {
		{ .name = "<module>", .file = "w.py", .line = 1, .first_line = 1 },
		{ .name = fn, .file = "w.py", .line = line, .first_line = first },
	};

	cr_assert_eq(profile_add(p, 7, 7, "p", "t", fr, 2, false, false, count), 0);
	prof_lineops_add(p, 7, &fr[1], op, depth, count);
}

static int findings(struct code_finding *cf)
{
	return code_findings(p, 7, cf, CODE_MAX_FINDINGS);
}

static void setup(void)
{
	p = profile_new(1, 99);
	cr_assert(p);
}

static void teardown(void)
{
	profile_free(p);
}

TestSuite(code_findings, .init = setup, .fini = teardown);

Test(code_findings, membership_fires_with_evidence)
{
	struct code_finding cf[CODE_MAX_FINDINGS];
	int n;

	add("scan", 10, 12, "CONTAINS_OP", 1, 90);
	add("scan", 10, 11, "FOR_ITER", 1, 5);
	add("other", 20, 21, "CALL", 1, 30);
	n = findings(cf);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(cf[0].kind, "linear-membership");
	cr_expect_str_eq(cf[0].name, "scan");
	cr_expect_eq(cf[0].line, 12);
	cr_expect_eq(cf[0].evidence, 90);
	cr_expect_eq(cf[0].samples, 125);
	cr_expect_eq(cf[0].loop_depth, 1);
	cr_expect(strstr(cf[0].text, "set or dict"), "%s", cf[0].text);
}

Test(code_findings, membership_on_38_compare_op_in)
{
	struct code_finding cf[CODE_MAX_FINDINGS];

	add("scan", 10, 12, "COMPARE_OP in", 1, 90);
	cr_assert_eq(findings(cf), 1);
	cr_expect_str_eq(cf[0].op, "COMPARE_OP in");
}

Test(code_findings, no_finding_below_evidence_rule)
{
	struct code_finding cf[CODE_MAX_FINDINGS];

	add("scan", 10, 12, "CONTAINS_OP", 1, CODE_MIN_SAMPLES - 1);
	cr_expect_eq(findings(cf), 0);
}

Test(code_findings, set_lookup_is_not_linear)
{
	struct code_finding cf[CODE_MAX_FINDINGS];

	/* 3.13 tells a set apart */
	add("scan", 10, 12, "CONTAINS_OP_SET", 1, 90);
	cr_expect_eq(findings(cf), 0);
}

Test(code_findings, cheap_membership_in_busy_loop_is_not_linear)
{
	struct code_finding cf[CODE_MAX_FINDINGS];

	/* 3.8-3.12 do not show the type: a test costing about as much as its loop is no scan */
	add("scan", 10, 12, "CONTAINS_OP", 1, 60);
	add("scan", 10, 12, "POP_JUMP_IF_FALSE", 1, 15);
	add("scan", 10, 11, "FOR_ITER", 1, 40);
	cr_expect_eq(findings(cf), 0);
}

Test(code_findings, string_concat_needs_the_typed_opcode)
{
	struct code_finding cf[CODE_MAX_FINDINGS];
	int n;

	add("build", 30, 33, "INPLACE_ADD", 1, 80); /* 3.10: operands' type unknown */
	cr_expect_eq(findings(cf), 0);
	add("build2", 40, 43, "BINARY_OP_INPLACE_ADD_UNICODE", 1, 80);
	n = findings(cf);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(cf[0].kind, "string-concat");
	cr_expect_eq(cf[0].line, 43);
	cr_expect(strstr(cf[0].text, "join"), "%s", cf[0].text);
}

Test(code_findings, nested_loop_with_comparisons)
{
	struct code_finding cf[CODE_MAX_FINDINGS];

	add("match", 50, 53, "COMPARE_OP ==", 2, 40);
	add("match", 50, 52, "FOR_ITER", 2, 30);
	add("match", 50, 53, "LOAD_FAST", 2, 20);
	cr_assert_eq(findings(cf), 1);
	cr_expect_str_eq(cf[0].kind, "nested-loop");
	cr_expect_eq(cf[0].line, 53);
	cr_expect_eq(cf[0].evidence, 90);
}

Test(code_findings, nested_loop_without_comparisons_is_not_matching)
{
	struct code_finding cf[CODE_MAX_FINDINGS];

	add("fill", 50, 53, "STORE_SUBSCR_LIST_INT", 2, 60);
	add("fill", 50, 52, "FOR_ITER_RANGE", 2, 40);
	cr_expect_eq(findings(cf), 0);
}

Test(code_findings, numeric_loop_typed_or_not_only_add)
{
	struct code_finding cf[CODE_MAX_FINDINGS];

	add("dot", 60, 63, "BINARY_OP_MULTIPLY_FLOAT", 1, 30);
	add("dot", 60, 63, "BINARY_OP_ADD_FLOAT", 1, 20);
	add("dot", 60, 62, "FOR_ITER_LIST", 1, 50);
	cr_assert_eq(findings(cf), 1);
	cr_expect_str_eq(cf[0].kind, "numeric-loop");
	cr_expect_eq(cf[0].line, 63);
}

Test(code_findings, untyped_add_alone_is_not_numeric)
{
	struct code_finding cf[CODE_MAX_FINDINGS];

	/* 3.8-3.10: INPLACE_ADD may be joining strings or lists */
	add("acc", 60, 63, "INPLACE_ADD", 1, 50);
	add("acc", 60, 62, "FOR_ITER", 1, 50);
	cr_expect_eq(findings(cf), 0);
}

Test(code_findings, deep_recursion)
{
	struct prof_frame fr[20];
	struct code_finding cf[CODE_MAX_FINDINGS];
	int n;

	fr[0] = (struct prof_frame){ .name = "<module>", .file = "w.py", .line = 1, .first_line = 1 };
	for (int i = 1; i < 20; i++)
		fr[i] = (struct prof_frame){ .name = "fib", .file = "w.py", .line = 73,
					     .first_line = 70 };
	fr[19].line = 71;
	cr_assert_eq(profile_add(p, 7, 7, "p", "t", fr, 20, false, false, 80), 0);
	prof_lineops_add(p, 7, &fr[19], "COMPARE_OP_INT <", 0, 80);
	add("other", 20, 21, "CALL", 1, 20);
	n = findings(cf);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(cf[0].kind, "deep-recursion");
	cr_expect_eq(cf[0].line, 73);
	cr_expect_eq(cf[0].recursion_depth, 19);
	cr_expect(strstr(cf[0].text, "functools.cache"), "%s", cf[0].text);
}

Test(code_findings, line_ops_most_first)
{
	struct line_op ops[4];
	uint64_t tot;
	int n;

	add("scan", 10, 12, "LOAD_FAST", 1, 5);
	add("scan", 10, 12, "CONTAINS_OP", 1, 90);
	add("scan", 10, 12, NULL, 1, 2);
	n = line_ops(p, 7, "scan", "w.py", 10, 12, ops, 4, &tot);
	cr_assert_eq(n, 3);
	cr_expect_eq(tot, 97);
	cr_expect_str_eq(ops[0].op, "CONTAINS_OP");
	cr_expect_str_eq(ops[1].op, "LOAD_FAST");
	cr_expect_str_eq(ops[2].op, "?");
}

/* argument sampling: n samples of fn in calls of their own, cycling over `distinct` hashes */
static void add_args(const char *fn, int first, int n, int distinct, bool own)
{
	struct prof_frame fr = { .name = fn, .file = "w.py", .line = first + 1, .first_line = first };

	for (int i = 0; i < n; i++)
		prof_args_add(p, 7, &fr, own, 1, 1000 + (uint64_t)(i % distinct), 2);
}

Test(code_findings, repeated_arguments_fire_with_evidence)
{
	struct code_finding cf[CODE_MAX_FINDINGS];
	int n;

	add("price", 40, 41, "BINARY_OP", 0, 300);
	add("main", 10, 12, "CALL", 1, 100);
	add_args("price", 40, 300, 12, true);
	n = findings(cf);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(cf[0].kind, "repeated-arguments");
	cr_assert_str_eq(cf[0].name, "price");
	cr_assert_eq(cf[0].line, 40);
	cr_assert_eq(cf[0].arg_calls, 300);
	cr_assert_eq(cf[0].arg_distinct, 12);
	cr_assert(strstr(cf[0].text, "300 sampled calls of it (2 arguments read from the "
				     "frame) saw only 12 distinct argument values"), "%s", cf[0].text);
	cr_assert(strstr(cf[0].text, "functools.cache"));
}

Test(code_findings, repeated_arguments_need_repeats_and_own_calls)
{
	struct code_finding cf[CODE_MAX_FINDINGS];

	/* 300 calls, 70 distinct: 23% > 20% */
	add("price", 40, 41, "BINARY_OP", 0, 300);
	add("main", 10, 12, "CALL", 1, 100);
	add_args("price", 40, 300, 70, true);
	cr_assert_eq(findings(cf), 0);
	profile_free(p);
	p = profile_new(1, 99);
	/* one long call: its samples are in a callee or a loop, not calls of their own */
	add("slow", 40, 41, "CALL", 0, 300);
	add("main", 10, 12, "CALL", 1, 100);
	add_args("slow", 40, 300, 1, false);
	cr_assert_eq(findings(cf), 0);
	profile_free(p);
	p = profile_new(1, 99);
	/* too few decoded calls */
	add("price", 40, 41, "BINARY_OP", 0, 300);
	add_args("price", 40, CODE_ARGS_MIN_CALLS - 1, 2, true);
	cr_assert_eq(findings(cf), 0);
}

Test(code_findings, argument_hashes_are_bounded)
{
	struct code_finding cf[CODE_MAX_FINDINGS];
	const struct prof_arg_func *a;

	add("price", 40, 41, "BINARY_OP", 0, 20000);
	add_args("price", 40, 20000, PROF_ARGS_MAX_DISTINCT + 100, true);
	a = profile_args_find(p, 7, profile_intern(p, "price"), profile_intern(p, "w.py"), 40);
	cr_assert(a);
	cr_assert_eq(a->distinct, PROF_ARGS_MAX_DISTINCT);
	cr_assert(a->distinct_capped);
	cr_assert_eq(a->decoded, 20000);
	cr_assert_eq(findings(cf), 0, "capped: not a finding, however the samples repeat");
}
