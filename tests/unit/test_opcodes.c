// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* user/cpython/opcodes.c against the real interpreters: the generated tables must be what each
 * installed interpreter's opcode/dis modules say (pyenv 3.8-3.13, Debian's 3.11, sid's 3.14/3.15), and the
 * decoder must find, in bytecode the interpreter has run and specialised, every instruction dis
 * shows, with the same name (specialised form) and operand, and the loop depth of marked lines
 * (tests/workloads/dis_check.py). Debian sid's 3.14/3.15 (and -dbg) run chrooted. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/pythons.h"
#include "cpython/opcodes.h"

#define OUT_LEN (1 << 20)

static const char *src_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;
	char *b = buf[i++ % 4];
	const char *src = getenv("PYHOUND_SRC");

	snprintf(b, PATH_MAX, "%s/%s", src && *src ? src : ".", rel);
	return b;
}

/* pyenv 3.8-3.13, Debian 3.11, and Debian sid's 3.14/3.15 (release and -dbg, chrooted) */
static int all_pythons(struct test_python *py)
{
	char missing[256], sid_missing[256];
	int n = test_pythons(py, 16, missing, sizeof(missing));

	if (missing[0] && !getenv("PYHOUND_ALLOW_MISSING_PYTHON"))
		cr_assert_fail("interpreters missing:%s", missing);
	n += test_sid_pythons(py + n, 24 - n, sid_missing, sizeof(sid_missing));
	cr_assert_str_empty(sid_missing, "sid interpreters missing:%s", sid_missing);
	cr_assert_gt(n, 0);
	return n;
}

Test(opcodes, tables_match_each_interpreter)
{
	struct test_python py[24];
	int n = all_pythons(py);
	char cmd[PATH_MAX * 4 + 32], *out = malloc(OUT_LEN);

	cr_assert(out);
	for (int i = 0; i < n; i++) {
		const struct py_optab *t = py_optab_for(py[i].minor);
		int rows = 0;
		char *save = NULL;

		cr_assert(t, "%s: no opcode table", py[i].label);
		char pc[PATH_MAX * 2];

		snprintf(cmd, sizeof(cmd), "%s - --dump < %s", python_cmd(&py[i], pc, sizeof(pc)),
			 src_path("scripts/gen-opcodes.py"));
		cr_assert_eq(run_cmd(cmd, out, OUT_LEN), 0, "%s: %s", py[i].label, out);
		for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			unsigned int op, deopt, caches, jump;
			char name[64];

			cr_assert_eq(sscanf(l, "%u %63s %u %u %u", &op, name, &deopt, &caches, &jump),
				     5, "%s: bad line %s", py[i].label, l);
			cr_assert_lt(op, 256);
			if (strcmp(name, "-"))
				cr_expect_str_eq(t->names[op] ? t->names[op] : "-", name,
						 "%s: opcode %u", py[i].label, op);
			else
				cr_expect_null(t->names[op], "%s: opcode %u", py[i].label, op);
			cr_expect_eq(t->deopt[op], deopt, "%s: deopt of %s", py[i].label, name);
			cr_expect_eq(t->caches[op], caches, "%s: caches of %s", py[i].label, name);
			cr_expect_eq(t->jump[op], jump, "%s: jump kind of %s", py[i].label, name);
			rows++;
		}
		cr_expect_eq(rows, 256, "%s", py[i].label);
	}
	free(out);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

struct fn_check {
	char name[64];
	uint8_t code[8192];
	size_t len;
	int lines[8192 / 2]; /* line of each instruction start, by code unit; -1: not a start */
	int ninsn, nmarked;
};

static void check_depths(const struct test_python *py, const struct py_optab *t,
			 struct fn_check *f, int line, int want)
{
	uint8_t depth[8192 / 2];
	int max = -1;

	cr_assert_eq(py_loop_depths(t, f->code, f->len, depth), 0);
	for (size_t u = 0; u < f->len / 2; u++)
		if (f->lines[u] == line && depth[u] > max)
			max = depth[u];
	cr_expect_eq(max, want, "%s %s line %d: loop depth %d, want %d", py->label, f->name, line,
		     max, want);
	f->nmarked++;
}

static void check_python(const struct test_python *py, char *out)
{
	const struct py_optab *t = py_optab_for(py->minor);
	struct fn_check *f = calloc(1, sizeof(*f));
	char cmd[PATH_MAX * 4 + 32], *save = NULL;
	int nfn = 0, membership = 0;

	cr_assert(f && t);
	char pc[PATH_MAX * 2];

	snprintf(cmd, sizeof(cmd), "%s %s", python_cmd(py, pc, sizeof(pc)), workload("dis_check.py"));
	cr_assert_eq(run_cmd(cmd, out, OUT_LEN), 0, "%s: %s", py->label, out);
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == 'F') {
			if (nfn)
				cr_expect_gt(f->ninsn, 3, "%s %s", py->label, f->name);
			memset(f, 0, sizeof(*f));
			snprintf(f->name, sizeof(f->name), "%s", l + 2);
			memset(f->lines, 0xff, sizeof(f->lines));
			nfn++;
		} else if (l[0] == 'B') {
			size_t n = strlen(l + 2) / 2;

			cr_assert_leq(n, sizeof(f->code));
			for (size_t i = 0; i < n; i++)
				f->code[i] = hexval(l[2 + 2 * i]) << 4 | hexval(l[3 + 2 * i]);
			f->len = n;
		} else if (l[0] == 'I') {
			int off, line, err;
			char name[64], sym[16], label[PY_OP_LABEL_LEN], want[96];
			uint8_t deopt;

			cr_assert_eq(sscanf(l, "I %d %63s %15s %d", &off, name, sym, &line), 4);
			err = py_op_label(t, f->code, f->len, off, label, sizeof(label), &deopt);
			cr_assert_eq(err, 0, "%s %s: no instruction at %d (%s)", py->label, f->name,
				     off, name);
			for (char *c = sym; *c; c++)
				if (*c == '_')
					*c = ' ';
			snprintf(want, sizeof(want), strcmp(sym, "-") ? "%s %s" : "%s", name, sym);
			cr_expect_str_eq(label, want, "%s %s @%d", py->label, f->name, off);
			if (py_op_is_membership(label))
				membership++;
			/* an offset inside the instruction's caches is not an instruction */
			if (t->caches[f->code[off]] && (size_t)off + 2 < f->len)
				cr_expect_eq(py_op_label(t, f->code, f->len, off + 2, label,
							 sizeof(label), NULL),
					     -ENOENT, "%s %s: cache at %d taken as code", py->label,
					     f->name, off + 2);
			f->lines[off / 2] = line;
			f->ninsn++;
		} else if (l[0] == 'D') {
			int line, d;

			cr_assert_eq(sscanf(l, "D %d %d", &line, &d), 2);
			check_depths(py, t, f, line, d);
		}
	}
	cr_expect_eq(nfn, 7, "%s: functions", py->label);
	cr_expect_geq(membership, 1, "%s: no membership test decoded", py->label);
	free(f);
}

Test(opcodes, decoder_matches_dis, .timeout = 120)
{
	struct test_python py[24];
	int n = all_pythons(py);
	char *out = malloc(OUT_LEN);

	cr_assert(out);
	for (int i = 0; i < n; i++)
		check_python(&py[i], out);
	free(out);
}

Test(opcodes, hostile_bytecode_is_bounded)
{
	const struct py_optab *t = py_optab_for(12);
	uint8_t code[64], depth[32];
	char label[PY_OP_LABEL_LEN];

	cr_assert(t);
	/* EXTENDED_ARG prefixes only, then a backward jump to far before the start */
	for (size_t i = 0; i < sizeof(code); i += 2) {
		code[i] = (uint8_t)t->extended_arg;
		code[i + 1] = 0xff;
	}
	cr_expect_eq(py_loop_depths(t, code, sizeof(code), depth), 0);
	for (size_t i = 0; i < sizeof(depth); i++)
		cr_expect_eq(depth[i], 0);
	cr_expect_eq(py_op_label(t, code, sizeof(code), 200, label, sizeof(label), NULL), -ENOENT);
	cr_expect_eq(py_op_label(t, code, sizeof(code), -2, label, sizeof(label), NULL), -ENOENT);
	cr_expect_eq(py_op_label(t, code, sizeof(code), 3, label, sizeof(label), NULL), -ENOENT);
	cr_expect_null(py_optab_for(7));
}
