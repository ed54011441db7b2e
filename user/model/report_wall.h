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
#include "model/loopblock.h"

/* the finding: threads waited for the GIL more than they ran Python and more than this share
 * of their time in Python (running or [gil]) ... */
#define WALL_GIL_FINDING_SHARE 0.50
/* ... at least two threads waited, at least this many thread-seconds in all */
#define WALL_GIL_FINDING_MIN_S 0.5
/* CPU-bound on one core: the process's threads wanted a CPU (running or [runnable]) about one
 * core's worth, at least this share of one CPU over the window and at most WALL_ONECORE_MAX
 * (more is running on several cores already) ... */
#define WALL_ONECORE_MIN 0.85
#define WALL_ONECORE_MAX 1.3
/* ... while the host had at least this many CPUs idle on average (/proc/stat), at least two
 * CPUs, over at least WALL_ONECORE_MIN_S seconds of samples */
#define WALL_ONECORE_IDLE 0.5
#define WALL_ONECORE_MIN_S 2.0
#define WALL_MAX_THREADS 64 /* threads shown per process; the rest are summed as "other" */

struct wall_thread {
	pid_t tid;
	const char *name;
	uint64_t total, running, gil, runnable, syscall, blocked;
	const char *top_syscall; /* the pseudo-frame with the most samples, e.g. "[syscall:read]" */
	uint64_t top_syscall_n;
};

/* What the wall findings need beyond the samples (report fills it; zero: unknown) */
struct wall_env {
	double idle_cpus;	     /* the host's average idle CPUs over the window; < 0 unknown */
	int ncpus;		     /* online CPUs */
	const struct loopblock *loop; /* event-loop blocks seen in the samples, or NULL */
};

struct wall_summary {
	struct wall_thread threads[WALL_MAX_THREADS + 1]; /* + "other threads" */
	int nthreads;
	uint64_t total, running, gil, runnable;
	int gil_threads; /* threads with any [gil] sample */
	const char *holder_fn; /* the function most often running while others waited */
	uint64_t holder_fn_n;
	char finding[640]; /* empty: no finding */
	/* CPU-bound on one core */
	double observed_s;     /* the process's longest-sampled thread: samples / rate */
	double cores;	       /* CPUs wanted: (running + [runnable]) thread-seconds / observed_s */
	const char *top_thread; /* the thread that wanted a CPU most */
	double top_thread_cores;
	char onecore[768];     /* the finding, or empty */
	/* blocked event loop */
	struct loopblock_result loop;
	bool has_loop;
	char loopblock[2048];  /* the finding, or empty */
};

/* Summarise pid's wall-clock samples (prof->mode must be wall). 0, or -ENOENT (no samples). */
int wall_summarise(const struct profile *prof, pid_t pid, const struct wall_env *env,
		   struct wall_summary *w);
void wall_print_text(const struct profile *prof, pid_t pid, const struct wall_env *env, FILE *f);
/* "wall": {...} and the findings into findings (called inside the process object) */
void wall_print_json(const struct profile *prof, pid_t pid, const struct wall_env *env,
		     struct json *j);
void wall_print_findings_json(const struct profile *prof, pid_t pid, const struct wall_env *env,
			      struct json *j);

#endif
