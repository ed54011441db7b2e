/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Strict UTF-8: what every string pyhound writes must be. Names come from other processes
 * (comm, command lines, paths, code objects' names with lone surrogates) and may hold any
 * byte; Prometheus rejects a whole scrape for one invalid label value. */
#ifndef PYHOUND_UTF8_H
#define PYHOUND_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* Length (1-4) of the valid UTF-8 sequence at s, or 0 for an invalid byte: a stray
 * continuation byte, a truncated sequence, an overlong form, a UTF-16 surrogate (U+D800 to
 * U+DFFF, as a lone surrogate encodes) or a code point past U+10FFFF. s is NUL-terminated. */
int utf8_seq_len(const unsigned char *s);
bool utf8_valid(const char *s);
/* Write s with each invalid byte replaced by U+FFFD. */
void utf8_fputs(FILE *f, const char *s);
/* Make the NUL-terminated string in buf (size bytes) valid in place: each invalid byte becomes
 * U+FFFD while it fits, '?' once the buffer is full (the tail is cut at a character boundary).
 * Returns how many bytes were replaced. */
size_t utf8_sanitize(char *buf, size_t size);
/* A valid copy of s (malloc'd; NULL without memory). */
char *utf8_dup(const char *s);

#endif
