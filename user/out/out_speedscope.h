/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): shared
 * frames {name, file, line}, one "sampled" profile per (process, thread) with unit "none", a
 * sample per distinct stack (frame indices, root first) weighted by its count. Truncated stacks
 * start with a "[truncated]" frame, samples taken in a syscall end with a "[syscall]" frame. */
#ifndef PYHOUND_OUT_SPEEDSCOPE_H
#define PYHOUND_OUT_SPEEDSCOPE_H

#include <stdio.h>
#include "stack/profile.h"

#define SPEEDSCOPE_SCHEMA "https://www.speedscope.app/file-format-schema.json"

/* 0, -EINVAL, -ENOMEM or -EIO (write error on f) */
int out_speedscope_write(const struct profile *p, FILE *f);

#endif
