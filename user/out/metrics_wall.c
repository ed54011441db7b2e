// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Wall-clock and GIL families for Prometheus (pyhound serve --mode wall|gil): where each
 * process's threads spend their time, and per function what it was doing. A sample stands for
 * 1/frequency seconds of its thread (the sampler visits every thread of every tracked process
 * at Poisson instants, frequency per second on average). */
#include <stdio.h>
#include "model/funcstats.h"
#include "model/report.h"
#include "out/metrics.h"
#include "sampler.h"
#include "wall.h"

struct wall_ctx {
	FILE *f;
	const struct report *r;
	const char *family;
	double period; /* seconds per sample */
	int pass;
};

static const char *const state_label[FS_WALL_STATES] = {
	[PH_WALL_ONCPU] = "running",   [PH_WALL_RUNNABLE] = "runnable", [PH_WALL_GIL] = "gil",
	[PH_WALL_SYSCALL] = "syscall", [PH_WALL_BLOCKED] = "blocked",
};

static const struct rep_proc *rep_find(const struct report *r, pid_t pid)
{
	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i].tp.info.pid == pid)
			return &r->procs[i];
	return NULL;
}

static void wall_cb(const struct fs_proc_view *v, void *ctx)
{
	struct wall_ctx *c = ctx;
	const struct rep_proc *rp = rep_find(c->r, v->pid);

	if (!rp)
		return;
	if (c->pass == 0) {
		for (int k = 0; k < FS_WALL_STATES; k++) {
			fputs("pyhound_thread_wall_seconds_total{", c->f);
			metrics_proc_labels(c->f, rp);
			fprintf(c->f, ",state=\"%s\"} %.6f\n", state_label[k], v->wall[k] * c->period);
		}
		return;
	}
	for (size_t i = 0; i < v->nseries; i++) {
		fprintf(c->f, "%s{", c->family);
		metrics_proc_labels(c->f, rp);
		fputs(",function=", c->f);
		metrics_label_value(c->f, v->series[i].name);
		fputs(",file=", c->f);
		metrics_label_value(c->f, v->series[i].file);
		fputs(",state=", c->f);
		metrics_label_value(c->f, v->series[i].state);
		fprintf(c->f, "} %.6f\n", v->series[i].samples * c->period);
	}
	fprintf(c->f, "%s{", c->family);
	metrics_proc_labels(c->f, rp);
	fprintf(c->f, ",function=\"other\",file=\"\",state=\"\"} %.6f\n", v->other * c->period);
}

void metrics_write_wall(FILE *f, const struct report *r, struct funcstats *fs, unsigned int top_n,
			unsigned int frequency, int mode)
{
	struct wall_ctx c = { f, r, NULL, frequency ? 1.0 / frequency : 0, 0 };

	fprintf(f, "# HELP pyhound_sample_frequency_hertz Stack samples per second of each thread "
		   "(wall and gil modes: every thread, at Poisson instants).\n"
		   "# TYPE pyhound_sample_frequency_hertz gauge\npyhound_sample_frequency_hertz %u\n",
		frequency);
	fprintf(f, "# HELP pyhound_sample_mode What the stack samples are: cpu (threads on a CPU), "
		   "wall (every thread) or gil (the thread holding the GIL).\n"
		   "# TYPE pyhound_sample_mode gauge\npyhound_sample_mode{mode=\"%s\"} 1\n",
		mode == PH_MODE_GIL ? "gil" : "wall");
	if (mode == PH_MODE_WALL) {
		fprintf(f, "# HELP pyhound_thread_wall_seconds_total Thread-seconds of the process's "
			   "Python threads by state: running (on a CPU), gil (waiting for the GIL), "
			   "runnable (waiting for a CPU), syscall (blocked in a syscall), blocked "
			   "(off the CPU otherwise); samples / pyhound_sample_frequency_hertz.\n"
			   "# TYPE pyhound_thread_wall_seconds_total counter\n");
		funcstats_foreach(fs, top_n, wall_cb, &c);
		c.family = "pyhound_function_wall_seconds_total";
		fprintf(f, "# HELP %s Thread-seconds whose innermost Python frame is this function, "
			   "by what the thread was doing (running, gil, runnable, blocked, "
			   "syscall:NAME), for each process's top (function, state) pairs; the rest "
			   "are function=\"other\".\n# TYPE %s counter\n", c.family, c.family);
	} else {
		c.family = "pyhound_function_gil_seconds_total";
		fprintf(f, "# HELP %s Seconds the GIL was held with this function as the holder's "
			   "innermost Python frame (state: what the holder was doing: running, "
			   "runnable, syscall:NAME, ...), for each process's top (function, state) "
			   "pairs; the rest are function=\"other\".\n# TYPE %s counter\n",
			c.family, c.family);
	}
	c.pass = 1;
	funcstats_foreach(fs, top_n, wall_cb, &c);
}
