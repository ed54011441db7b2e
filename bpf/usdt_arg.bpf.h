/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Fetch a USDT argument (include/usdt_arg.h, parsed by userspace from the probe's note) at the
 * probe site from the uprobe's pt_regs, as libbpf's usdt.bpf.h does for its own links. */
#ifndef PYHOUND_USDT_ARG_BPF_H
#define PYHOUND_USDT_ARG_BPF_H

#include "usdt_arg.h"

_Static_assert(sizeof(struct pt_regs) == USDT_REG_SLOTS * 8, "x86-64 pt_regs slots");
_Static_assert(__builtin_offsetof(struct pt_regs, ax) == 10 * 8 &&
		       __builtin_offsetof(struct pt_regs, sp) == 19 * 8 &&
		       __builtin_offsetof(struct pt_regs, bp) == 4 * 8,
	       "pt_regs slot order (user/host/usdt_args.c)");

/* 0 and the value in *res (sign- or zero-extended from its size), or -1 when the spec is not
 * one or user memory could not be read */
static __always_inline int usdt_arg_fetch(struct pt_regs *ctx, const struct usdt_arg *a,
					  __s64 *res)
{
	__u64 v = 0, addr;
	__u32 reg = a->reg, size = a->size, shift;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -1;
	switch (a->kind) {
	case USDT_ARG_CONST:
		v = a->val;
		break;
	case USDT_ARG_REG:
	case USDT_ARG_REG_DEREF:
		if (reg >= USDT_REG_SLOTS)
			return -1;
		if (bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + reg * 8))
			return -1;
		if (a->kind == USDT_ARG_REG)
			break;
		addr = v + a->val;
		v = 0;
		if (bpf_probe_read_user(&v, size & 15, (const void *)addr)) /* little-endian */
			return -1;
		break;
	default:
		return -1;
	}
	shift = 64 - size * 8;
	if (shift) {
		v <<= shift;
		v = a->is_signed ? (__u64)((__s64)v >> shift) : v >> shift;
	}
	*res = (__s64)v;
	return 0;
}

#endif
