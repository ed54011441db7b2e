// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* USDT argument specs as the python:gc__* and import__* notes of Debian's 3.11 and sid's
 * 3.14/3.15 write them, parsed into the fetch specs bpf/usdt_arg.bpf.h reads; forms pyhound
 * does not fetch refused with the reason; every python note of the host's interpreters
 * parses. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "host/elf.h"
#include "host/usdt_args.h"

static struct usdt_arg a[USDT_MAX_ARGS];
static char why[256];

static void one(const char *spec, int kind, int reg, long long val, int size, int sgn)
{
	int n = usdt_args_parse(spec, a, USDT_MAX_ARGS, why, sizeof(why));

	cr_assert_eq(n, 1, "%s: %d (%s)", spec, n, why);
	cr_expect_eq(a[0].kind, kind, "%s kind", spec);
	if (kind != USDT_ARG_CONST)
		cr_expect_eq(a[0].reg, reg, "%s reg", spec);
	cr_expect_eq(a[0].val, val, "%s val", spec);
	cr_expect_eq(a[0].size, size, "%s size", spec);
	cr_expect_eq(a[0].is_signed, sgn, "%s sign", spec);
}

Test(usdt_args, the_forms_of_cpythons_notes)
{
	one("-4@112(%rsp)", USDT_ARG_REG_DEREF, 19, 112, 4, 1);	/* Debian 3.11 gc__start */
	one("-8@%r12", USDT_ARG_REG, 3, 0, 8, 1);		/* Debian 3.11 gc__done */
	one("-4@-228(%rbp)", USDT_ARG_REG_DEREF, 4, -228, 4, 1); /* sid 3.14 gc__start */
	one("-8@%r13", USDT_ARG_REG, 2, 0, 8, 1);
	one("-8@%rbx", USDT_ARG_REG, 5, 0, 8, 1);
	one("8@%rax", USDT_ARG_REG, 10, 0, 8, 0);
	one("-4@%edx", USDT_ARG_REG, 12, 0, 4, 1);
	one("-4@%eax", USDT_ARG_REG, 10, 0, 4, 1);
	one("8@%rdi", USDT_ARG_REG, 14, 0, 8, 0);
	one("1@%r15b", USDT_ARG_REG, 0, 0, 1, 0);
	one("2@%si", USDT_ARG_REG, 13, 0, 2, 0);
	one("8@(%rdx)", USDT_ARG_REG_DEREF, 12, 0, 8, 0);
	one("-4@$-5", USDT_ARG_CONST, 0, -5, 4, 1);
	one("4@$0x10", USDT_ARG_CONST, 0, 16, 4, 0);
	cr_expect_eq(usdt_args_parse("8@%rax -4@%edx", a, USDT_MAX_ARGS, why, sizeof(why)), 2);
	cr_expect_eq(a[0].reg, 10);
	cr_expect_eq(a[1].reg, 12);
	cr_expect_eq(a[1].size, 4);
	cr_expect_eq(usdt_args_parse("", a, USDT_MAX_ARGS, why, sizeof(why)), 0);
	cr_expect_eq(usdt_args_parse(NULL, a, USDT_MAX_ARGS, why, sizeof(why)), 0);
}

Test(usdt_args, forms_not_fetched_are_refused_with_the_reason)
{
	static const char *const bad[] = {
		"%rax",		       /* no size */
		"3@%rax",	       /* size */
		"16@%rax",	       /* size */
		"8@%eax",	       /* register narrower than the argument */
		"1@%ah",	       /* high byte */
		"8@%xmm0",	       /* not fetched */
		"8@8(%rax,%rbx,8)",    /* an index register */
		"8@_PyRuntime(%rip)",  /* a symbol */
		"8@16(%rip)",	       /* rip-relative */
		"8@16(%eax)",	       /* 32-bit address register */
		"8@$x",		       /* constant */
		"8@16(%rax)x",	       /* trailing text */
		"8@",		       /* nothing */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		cr_expect_eq(usdt_args_parse(bad[i], a, USDT_MAX_ARGS, why, sizeof(why)), -EINVAL,
			     "%s accepted", bad[i]);
		cr_expect_neq(why[0], '\0', "%s: no reason", bad[i]);
	}
	cr_expect_eq(usdt_args_parse("8@%rax 8@%rbx 8@%rcx", a, USDT_MAX_ARGS, why, sizeof(why)),
		     -E2BIG);
}

struct note_count {
	int seen, parsed;
	char first_bad[640];
};

static int note_cb(const struct elf_usdt_note *n, void *ctx)
{
	struct note_count *nc = ctx;
	struct usdt_arg args[4];
	char w[256];

	if (strcmp(n->provider, "python"))
		return 0;
	nc->seen++;
	if (usdt_args_parse(n->args, args, 4, w, sizeof(w)) >= 0)
		nc->parsed++;
	else if (!nc->first_bad[0])
		snprintf(nc->first_bad, sizeof(nc->first_bad), "%s: '%s': %s", n->name, n->args, w);
	return 0;
}

/* the notes of the interpreters the suite runs (Debian's 3.11 always; sid's when made) */
Test(usdt_args, every_python_note_of_the_hosts_interpreters_parses)
{
	static const char *const paths[] = {
		"/usr/bin/python3.11",
		"/var/cache/pyhound-test/sid/usr/bin/python3.14",
		"/var/cache/pyhound-test/sid/usr/bin/python3.15",
		"/var/cache/pyhound-test/sid/usr/bin/python3.14d",
		"/var/cache/pyhound-test/sid/usr/bin/python3.15d",
	};
	int files = 0;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct note_count nc = { 0 };
		struct elf_file *ef;

		if (access(paths[i], R_OK))
			continue;
		ef = elf_open(paths[i]);
		cr_assert_not_null(ef, "%s", paths[i]);
		elf_foreach_usdt(ef, note_cb, &nc);
		elf_close(ef);
		cr_expect_gt(nc.seen, 0, "%s: no python notes", paths[i]);
		cr_expect_eq(nc.parsed, nc.seen, "%s: %s", paths[i], nc.first_bad);
		files++;
	}
	cr_assert_gt(files, 0, "no interpreter with USDT notes (Debian's python3.11 missing)");
}
