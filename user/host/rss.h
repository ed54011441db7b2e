/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Resident memory of processes over time, from /proc/PID/status (RssAnon, RssFile, RssShmem):
 * first and last reading, peak, for a bounded set of processes. */
#ifndef PYHOUND_RSS_H
#define PYHOUND_RSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum rss_kind { RSS_ANON, RSS_FILE, RSS_SHMEM, RSS_KINDS };
const char *rss_kind_name(int kind); /* "anon", "file", "shmem" */

struct rss_series {
	pid_t pid;
	uint64_t start_ticks; /* tells a reused PID apart */
	unsigned int n;	      /* readings */
	double t_first, t_last, t_peak; /* CLOCK_MONOTONIC seconds */
	uint64_t first[RSS_KINDS], last[RSS_KINDS], peak[RSS_KINDS]; /* bytes; peak: at t_peak */
};

static inline uint64_t rss_total(const uint64_t v[RSS_KINDS])
{
	return v[RSS_ANON] + v[RSS_FILE] + v[RSS_SHMEM];
}

/* One reading of pid: 0, -ESRCH (gone), -EIO (no Rss lines: a kernel thread or a zombie). */
int rss_read(pid_t pid, uint64_t out[RSS_KINDS]);

struct rss_watch;
struct rss_watch *rss_watch_new(size_t max_procs);
void rss_watch_free(struct rss_watch *w);
/* Read pid now (t: CLOCK_MONOTONIC seconds) into its series (a new one when the PID was reused
 * or not seen; a process beyond max_procs is counted in dropped). */
int rss_watch_sample(struct rss_watch *w, pid_t pid, uint64_t start_ticks, double t);
const struct rss_series *rss_watch_find(const struct rss_watch *w, pid_t pid);
uint64_t rss_watch_dropped(const struct rss_watch *w);

#endif
