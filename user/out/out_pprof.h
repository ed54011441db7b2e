/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pprof: a gzipped perftools.profiles.Profile protobuf (github.com/google/pprof profile.proto),
 * encoded by hand. Sample types samples/count and cpu/nanoseconds (value = count and
 * count * period), period_type cpu/nanoseconds, period = 1e9 / frequency, duration_nanos.
 * A Function is (name, filename, start_line = line of definition), a Location one line of it, in
 * one Mapping "python" marked as symbolized (has_functions, has_filenames, has_line_numbers);
 * samples carry the labels pid and tid (numbers), process and thread (strings). Truncated stacks
 * get a "[truncated]" outermost function, samples taken in a syscall a "[syscall]" leaf. */
#ifndef PYHOUND_OUT_PPROF_H
#define PYHOUND_OUT_PPROF_H

#include <stdio.h>
#include "stack/profile.h"
#include "lib/protobuf.h"

/* Encode p as an uncompressed Profile message into b. 0 or -ENOMEM. */
int out_pprof_encode(const struct profile *p, struct pb_buf *b);
/* Write p to f, gzipped. 0, -EINVAL, -ENOMEM or -EIO (zlib or write error on f). */
int out_pprof_write(const struct profile *p, FILE *f);

#endif
