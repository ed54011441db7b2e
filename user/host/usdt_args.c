// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host/usdt_args.h"

/* x86-64 register names by width, with their struct pt_regs slot */
static const struct {
	const char *name[4]; /* 8, 4, 2, 1 bytes */
	unsigned short slot;
} regs[] = {
	{ { "rax", "eax", "ax", "al" }, 10 },	   { { "rbx", "ebx", "bx", "bl" }, 5 },
	{ { "rcx", "ecx", "cx", "cl" }, 11 },	   { { "rdx", "edx", "dx", "dl" }, 12 },
	{ { "rsi", "esi", "si", "sil" }, 13 },	   { { "rdi", "edi", "di", "dil" }, 14 },
	{ { "rbp", "ebp", "bp", "bpl" }, 4 },	   { { "rsp", "esp", "sp", "spl" }, 19 },
	{ { "r8", "r8d", "r8w", "r8b" }, 9 },	   { { "r9", "r9d", "r9w", "r9b" }, 8 },
	{ { "r10", "r10d", "r10w", "r10b" }, 7 }, { { "r11", "r11d", "r11w", "r11b" }, 6 },
	{ { "r12", "r12d", "r12w", "r12b" }, 3 }, { { "r13", "r13d", "r13w", "r13b" }, 2 },
	{ { "r14", "r14d", "r14w", "r14b" }, 1 }, { { "r15", "r15d", "r15w", "r15b" }, 0 },
};

/* the slot and width in bytes of a register name (without '%'); -1 when unknown */
static int reg_lookup(const char *name, size_t len, unsigned int *width)
{
	static const unsigned int widths[4] = { 8, 4, 2, 1 };

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		for (int w = 0; w < 4; w++)
			if (strlen(regs[i].name[w]) == len && !memcmp(regs[i].name[w], name, len)) {
				*width = widths[w];
				return regs[i].slot;
			}
	return -1;
}

/* a signed decimal or 0x number ending at *end; -EINVAL when none or out of range */
static int number(const char *s, long long *v, const char **end)
{
	char *e;

	if (!isdigit((unsigned char)*s) && !((*s == '-' || *s == '+') &&
					     isdigit((unsigned char)s[1])))
		return -EINVAL;
	errno = 0;
	*v = strtoll(s, &e, 0);
	if (errno || e == s)
		return -EINVAL;
	*end = e;
	return 0;
}

static int parse_one(const char *tok, size_t len, struct usdt_arg *a, char *why, size_t whylen)
{
	char buf[96];
	const char *p, *r;
	long long size, off = 0;
	unsigned int width;
	int slot;

	if (len >= sizeof(buf)) {
		snprintf(why, whylen, "argument spec too long");
		return -EINVAL;
	}
	memcpy(buf, tok, len);
	buf[len] = '\0';
	memset(a, 0, sizeof(*a));
	if (number(buf, &size, &p) || *p != '@') {
		snprintf(why, whylen, "argument '%s': no size@ prefix", buf);
		return -EINVAL;
	}
	a->is_signed = size < 0;
	if (size < 0)
		size = -size;
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		snprintf(why, whylen, "argument '%s': size %lld", buf, size);
		return -EINVAL;
	}
	a->size = size;
	p++;
	if (*p == '$') { /* a constant */
		if (number(p + 1, &a->val, &r) || *r) {
			snprintf(why, whylen, "argument '%s': constant not a number", buf);
			return -EINVAL;
		}
		a->kind = USDT_ARG_CONST;
		return 0;
	}
	if (*p == '%') { /* a register */
		slot = reg_lookup(p + 1, strlen(p + 1), &width);
		if (slot < 0) {
			snprintf(why, whylen, "argument '%s': register not fetched", buf);
			return -EINVAL;
		}
		if (width < size) {
			snprintf(why, whylen, "argument '%s': register narrower than the argument",
				 buf);
			return -EINVAL;
		}
		a->kind = USDT_ARG_REG;
		a->reg = slot;
		return 0;
	}
	/* [offset](%reg): memory at a register plus an offset */
	if (*p != '(' && number(p, &off, &p)) {
		snprintf(why, whylen, "argument '%s': not a register, constant or memory operand "
			 "pyhound fetches", buf);
		return -EINVAL;
	}
	if (p[0] != '(' || p[1] != '%' || !(r = strchr(p, ')')) || r[1]) {
		snprintf(why, whylen, "argument '%s': not a register, constant or memory operand "
			 "pyhound fetches", buf);
		return -EINVAL;
	}
	slot = reg_lookup(p + 2, r - (p + 2), &width);
	if (slot < 0 || width != 8) { /* also "(%rax,%rbx,8)": an index register */
		snprintf(why, whylen, "argument '%s': address register not fetched", buf);
		return -EINVAL;
	}
	a->kind = USDT_ARG_REG_DEREF;
	a->reg = slot;
	a->val = off;
	return 0;
}

int usdt_args_parse(const char *args, struct usdt_arg *out, int max, char *why, size_t whylen)
{
	const char *p = args ? args : "";
	int n = 0, err;

	for (;;) {
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return n;
		len = strcspn(p, " \t");
		if (n >= max) {
			snprintf(why, whylen, "more than %d arguments", max);
			return -E2BIG;
		}
		err = parse_one(p, len, &out[n], why, whylen);
		if (err)
			return err;
		n++;
		p += len;
	}
}
