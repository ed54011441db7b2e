/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A self-contained, interactive SVG flamegraph. Stacks are merged into a tree (all -> process ->
 * thread -> [truncated] -> frames -> [syscall]; siblings in name order), drawn root at the bottom,
 * a box's width proportional to its samples: x = OUT_SVG_XPAD + start * scale, width = samples *
 * scale with scale = (OUT_SVG_WIDTH - 2 * OUT_SVG_XPAD) / total samples, both printed "%.2f".
 * Boxes narrower than OUT_SVG_MIN_WIDTH pixels are left out with everything above them.
 * Python frames are coloured by a hash of their file (a warm palette), so one module has one
 * colour; processes, threads and the pseudo-frames have fixed colours. Each box's <title> tooltip
 * reads "label\nN samples (P.PP%)[, self M]". An inline script zooms on click (Escape or "Reset
 * Zoom" to go back), searches by regular expression (Ctrl-F or "Search"), and shows the frame
 * under the pointer at the bottom. Text is XML-escaped; invalid UTF-8 and control characters
 * become U+FFFD. */
#ifndef PYHOUND_OUT_SVG_H
#define PYHOUND_OUT_SVG_H

#include <stdio.h>
#include "stack/profile.h"

#define OUT_SVG_WIDTH 1200
#define OUT_SVG_XPAD 10
#define OUT_SVG_FRAME_HEIGHT 16
#define OUT_SVG_FONT_SIZE 12
#define OUT_SVG_MIN_WIDTH 0.1

/* 0, -EINVAL, -ENOMEM or -EIO (write error on f) */
int out_svg_write(const struct profile *p, FILE *f);
/* s as XML character data or attribute value (escaped, sanitized), at most max_cp characters */
void out_svg_put_text(FILE *f, const char *s, size_t max_cp);

#endif
