/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Queries and N+1 findings as text and JSON (pyhound queries, report). */
#ifndef PYHOUND_OUT_QUERIES_H
#define PYHOUND_OUT_QUERIES_H

#include <stdio.h>
#include <sys/types.h>
#include "lib/json.h"
#include "model/querystats.h"

/* Rows sorted by total time, longest first (a malloc'd array of pointers into qs; free it). */
const struct qs_entry **queries_sorted(const struct querystats *qs, size_t *n);

/* The top rows of one process (pid) as a table; 0 rows: nothing printed. Returns rows shown. */
size_t queries_print_proc(FILE *f, const struct querystats *qs, pid_t pid, size_t top,
			  const char *indent);
/* The N+1 findings of one process (pid 0: all). Returns how many. */
size_t queries_print_n1(FILE *f, const struct querystats *qs, pid_t pid, const char *indent);
/* "queries" and "n_plus_one" arrays (rows of pid, or all for 0) into an open JSON object. */
void queries_json(struct json *j, const struct querystats *qs, pid_t pid);

/* How the queries were seen (budget windows): a JSON object "queries_coverage", or a line. */
void queries_json_coverage(struct json *j, const struct querystats *qs);
void queries_print_coverage(FILE *f, const struct querystats *qs, const char *indent);

#endif
