/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A USDT probe argument as its .note.stapsdt spec says where to find it at the probe site
 * (x86-64: "-4@%edx", "8@%rax", "-4@112(%rsp)", "-4@-228(%rbp)", "4@$5"), parsed by userspace
 * (user/host/usdt_args.c) and fetched from pt_regs by BPF (bpf/usdt_arg.bpf.h), for probes
 * attached through uprobe_multi links rather than libbpf's USDT support. */
#ifndef PYHOUND_USDT_ARG_H
#define PYHOUND_USDT_ARG_H

enum usdt_arg_kind {
	USDT_ARG_NONE = 0,
	USDT_ARG_CONST,	    /* $imm: the value itself */
	USDT_ARG_REG,	    /* %reg: the register's low size bytes */
	USDT_ARG_REG_DEREF, /* off(%reg): size bytes of user memory at reg + off */
};

/* x86-64 struct pt_regs is 21 8-byte slots, r15 first (the same order as the head of
 * struct user_regs_struct): reg is a slot index */
#define USDT_REG_SLOTS 21
#define USDT_MAX_ARGS 2 /* what the python GC and import probes take */

struct usdt_arg {
	long long val;	    /* CONST: the value; REG_DEREF: the offset added to the register */
	unsigned short reg; /* pt_regs slot, < USDT_REG_SLOTS */
	unsigned char kind; /* enum usdt_arg_kind */
	unsigned char size; /* 1, 2, 4 or 8 bytes */
	unsigned char is_signed;
	unsigned char pad[3];
};

_Static_assert(sizeof(struct usdt_arg) == 16, "usdt_arg layout");

#endif
