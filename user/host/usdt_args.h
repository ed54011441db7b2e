/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Parsing a USDT note's argument string (x86-64, GNU as syntax) into include/usdt_arg.h's
 * fetch specs. Pure: unit-tested. */
#ifndef PYHOUND_HOST_USDT_ARGS_H
#define PYHOUND_HOST_USDT_ARGS_H

#include <stddef.h>
#include "usdt_arg.h"

/* The arguments of args (e.g. "8@%rax -4@%edx"), at most max, into out[0..). The number of
 * arguments (>= 0), or -EINVAL with the reason in why (a form pyhound does not fetch: an
 * index register, %rip, a symbol, a high-byte register, a size other than 1/2/4/8, a register
 * narrower than the argument), or -E2BIG when there are more than max. */
int usdt_args_parse(const char *args, struct usdt_arg *out, int max, char *why, size_t whylen);

#endif
