/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-process CPU sample counters for the exporter, with bounded cardinality: each process
 * gets its own series for at most N functions (the hottest when they are admitted), all other
 * samples count towards function="other". Admitted series never leave while the process is
 * known, and a function admitted late starts from zero, so every counter is monotonic. */
#ifndef PYHOUND_FUNCSTATS_H
#define PYHOUND_FUNCSTATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define FUNCSTATS_TRACK 256 /* distinct functions counted per process before admission */

struct funcstats;

struct fs_series {
	const char *name, *file;
	const char *state; /* wall/gil samples: "running", "gil", "syscall:read", ...; CPU: "" */
	uint64_t samples;
};

#define FS_WALL_STATES 5 /* enum ph_wall_state */

struct fs_proc_view {
	pid_t pid;
	uint64_t python, syscall; /* samples on CPU running Python / in a syscall */
	uint64_t other;		  /* samples of functions without their own series */
	uint64_t wall[FS_WALL_STATES]; /* wall/gil samples by enum ph_wall_state */
	const struct fs_series *series;
	size_t nseries;
};

struct funcstats *funcstats_new(void);
void funcstats_free(struct funcstats *fs);
/* One sample whose innermost frame is (name, file). */
int funcstats_add(struct funcstats *fs, pid_t pid, const char *name, const char *file,
		  bool in_syscall);
/* One wall-clock (or gil-mode) sample: its innermost Python frame (name, file), what the thread
 * was doing (wall_state: enum ph_wall_state) and the series' state label ("running", "gil",
 * "runnable", "blocked", "syscall:NAME"). Series are (function, file, state). */
int funcstats_add_wall(struct funcstats *fs, pid_t pid, const char *name, const char *file,
		       unsigned int wall_state, const char *state);
/* n units (e.g. bytes of memory growth) for (name, file), counted as python. */
int funcstats_add_weight(struct funcstats *fs, pid_t pid, const char *name, const char *file,
			 uint64_t n);
/* Admit up to top_n functions per process (hottest first), then call cb for each process. */
void funcstats_foreach(struct funcstats *fs, unsigned int top_n,
		       void (*cb)(const struct fs_proc_view *v, void *ctx), void *ctx);
void funcstats_forget(struct funcstats *fs, pid_t pid);
/* A process's samples so far (0 when unknown). */
void funcstats_totals(const struct funcstats *fs, pid_t pid, uint64_t *python, uint64_t *syscall);

#endif
