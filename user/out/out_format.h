/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Choosing an output format by name or by file name, and writing a profile in it. */
#ifndef PYHOUND_OUT_FORMAT_H
#define PYHOUND_OUT_FORMAT_H

#include <stdio.h>
#include "stack/profile.h"

/* The format names profile_write accepts */
#define PROFILE_FORMATS "collapsed, svg, speedscope, pprof"

/* Write p to f as format (one of PROFILE_FORMATS). 0, -EINVAL (unknown format), or the
 * writer's error (-ENOMEM, -EIO). */
int profile_write(const struct profile *p, const char *format, FILE *f);
/* The format a file name asks for, by its ending (case-insensitive): .collapsed .folded .txt ->
 * "collapsed", .svg -> "svg", .json (incl. .speedscope.json) -> "speedscope", .pb.gz .pprof
 * .pb -> "pprof". NULL when none fits. */
const char *profile_format_from_path(const char *path);

#endif
