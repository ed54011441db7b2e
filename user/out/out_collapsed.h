/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Collapsed ("folded") stacks, as read by flamegraph.pl, inferno and speedscope: one line per
 * stack, `process;thread;frame;...;frame count`, root first, a frame being `name (file:line)`
 * (`name (file)` without a line, `name` without a file). A truncated stack gets a `[truncated]`
 * frame under its thread, a sample taken in a syscall a `[syscall]` leaf.
 * Since readers split on ';' and lines, names are escaped: '\' -> "\\", ';' -> "\x3b", newline
 * -> "\n", CR -> "\r", other control bytes -> "\xNN". Lines are in profile_sorted_stacks order. */
#ifndef PYHOUND_OUT_COLLAPSED_H
#define PYHOUND_OUT_COLLAPSED_H

#include <stdio.h>
#include "stack/profile.h"

/* 0, -EINVAL, -ENOMEM or -EIO (write error on f) */
int out_collapsed_write(const struct profile *p, FILE *f);
/* One frame as written above (escaped) */
void out_collapsed_frame(FILE *f, const struct prof_frame *fr);

#endif
