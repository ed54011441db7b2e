// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host/hostcpu.h"

/* One line of /proc/stat into c: 1 (a cpu line), 0 (the cpu lines are over), -EINVAL */
static int parse_line(const char *line, struct host_cpu *c)
{
	unsigned long long v[8] = {};
	int n;

	if (strncmp(line, "cpu", 3))
		return 0;
	if (line[3] >= '0' && line[3] <= '9') {
		c->ncpus++;
		return 1;
	}
	/* user nice system idle iowait irq softirq steal (guest time is already in user) */
	n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	if (n < 4)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		c->total += v[i];
	c->idle = v[3] + v[4];
	return 1;
}

int host_cpu_parse(const char *text, struct host_cpu *c)
{
	const char *p = text;
	int rc = 1;

	memset(c, 0, sizeof(*c));
	while (p && *p && rc == 1) {
		rc = parse_line(p, c);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return rc < 0 || !c->ncpus || !c->total ? -EINVAL : 0;
}

int host_cpu_read(struct host_cpu *c)
{
	char line[512];
	FILE *f = fopen("/proc/stat", "re");
	int rc = 1;

	if (!f)
		return -errno;
	memset(c, 0, sizeof(*c));
	/* the cpu lines come first; a line longer than the buffer is not one of them */
	while (rc == 1 && fgets(line, sizeof(line), f))
		rc = parse_line(line, c);
	fclose(f);
	return rc < 0 || !c->ncpus || !c->total ? -EINVAL : 0;
}

double host_idle_cpus(const struct host_cpu *a, const struct host_cpu *b)
{
	if (!a->ncpus || a->ncpus != b->ncpus || b->total <= a->total || b->idle < a->idle)
		return -1;
	return (double)(b->idle - a->idle) / (b->total - a->total) * b->ncpus;
}
