/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* report --mode wall: where each thread's wall time went (running Python, waiting for the GIL,
 * waiting for a CPU, blocked in a syscall), from the wall-clock samples' leaf pseudo-frames,
 * and the GIL-contention finding. */
#ifndef PYHOUND_REPORT_WALL_H
#define PYHOUND_REPORT_WALL_H

#include <stdint.h>
#include <stdio.h>
#include "lib/json.h"
#include "stack/profile.h"

/* the finding: threads waited for the GIL more than they ran Python and more than this share
 * of their time in Python (running or [gil]) ... */
#define WALL_GIL_FINDING_SHARE 0.50
/* ... at least two threads waited, at least this many thread-seconds in all */
#define WALL_GIL_FINDING_MIN_S 0.5
#define WALL_MAX_THREADS 64 /* threads shown per process; the rest are summed as "other" */

struct wall_thread {
	pid_t tid;
	const char *name;
	uint64_t total, running, gil, runnable, syscall, blocked;
	const char *top_syscall; /* the pseudo-frame with the most samples, e.g. "[syscall:read]" */
	uint64_t top_syscall_n;
};

struct wall_summary {
	struct wall_thread threads[WALL_MAX_THREADS + 1]; /* + "other threads" */
	int nthreads;
	uint64_t total, running, gil, runnable;
	int gil_threads; /* threads with any [gil] sample */
	const char *holder_fn; /* the function most often running while others waited */
	uint64_t holder_fn_n;
	char finding[640]; /* empty: no finding */
};

/* Summarise pid's wall-clock samples (prof->mode must be wall). 0, or -ENOENT (no samples). */
int wall_summarise(const struct profile *prof, pid_t pid, struct wall_summary *w);
void wall_print_text(const struct profile *prof, pid_t pid, FILE *f);
/* "wall": {...} and the finding into findings (called inside the process object) */
void wall_print_json(const struct profile *prof, pid_t pid, struct json *j);
void wall_print_findings_json(const struct profile *prof, pid_t pid, struct json *j);

#endif
