/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* SQL statement fingerprints: the text with its literals replaced by ?, IN (...) lists folded,
 * comments dropped and white space collapsed, so that the same statement run with different
 * values is one row. Bytes that are not valid UTF-8 are escaped as \xNN. */
#ifndef PYHOUND_SQLNORM_H
#define PYHOUND_SQLNORM_H

#include <stddef.h>
#include <stdint.h>

/* Normalise len bytes of sql into out (always NUL-terminated when outlen > 0; cut at a
 * character boundary and ended with "..." when it does not fit). Returns the length written. */
size_t sql_normalize(const char *sql, size_t len, char *out, size_t outlen);

/* A short stable fingerprint of a normalised statement (for metric labels): 16 hex digits. */
void sql_fingerprint(const char *norm, char out[17]);

#endif
