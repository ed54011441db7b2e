/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The host's CPU time from /proc/stat: how many CPUs stood idle, on average, between two
 * readings (the "idle cores" of report --mode wall's CPU-bound-on-one-core finding). */
#ifndef PYHOUND_HOSTCPU_H
#define PYHOUND_HOSTCPU_H

#include <stdint.h>

struct host_cpu {
	uint64_t idle, total; /* clock ticks summed over CPUs: idle + iowait, and all */
	int ncpus;	      /* "cpuN" lines: online CPUs */
};

/* 0, or -errno. */
int host_cpu_read(struct host_cpu *c);
/* Parse /proc/stat's text (for tests). 0, or -EINVAL. */
int host_cpu_parse(const char *text, struct host_cpu *c);
/* Average idle CPUs between a and b (b later), or -1 when unknown. */
double host_idle_cpus(const struct host_cpu *a, const struct host_cpu *b);

#endif
