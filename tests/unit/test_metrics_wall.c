// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve --mode wall|gil's families from known samples: thread-seconds by state, per (function,
 * state) series for each process's top N admitted at a scrape and counting from then on, the
 * rest in function="other", seconds = samples / frequency. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/funcstats.h"
#include "model/report.h"
#include "out/metrics.h"
#include "sampler.h"
#include "wall.h"

static double value_of(const char *text, const char *needle)
{
	const char *p = strstr(text, needle), *sp;

	if (!p)
		return -1;
	sp = strstr(p, "} ");
	return sp ? atof(sp + 2) : -1;
}

static char *render(const struct report *r, struct funcstats *fs, int mode)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	metrics_write_wall(f, r, fs, 2, 100, mode);
	fclose(f);
	return buf;
}

Test(metrics_wall, states_top_n_and_other)
{
	struct funcstats *fs = funcstats_new();
	struct rep_proc rp = {};
	struct report r = {};
	char *text;

	rp.tp.info.pid = 42;
	rp.tp.info.major = 3;
	rp.tp.info.minor = 12;
	rp.tp.info.micro = 1;
	snprintf(rp.tp.info.comm, sizeof(rp.tp.info.comm), "python3");
	r.procs = &rp;
	r.nprocs = 1;
	for (int i = 0; i < 300; i++)
		funcstats_add_wall(fs, 42, "reader", "/srv/a.py", PH_WALL_SYSCALL, "syscall:read");
	for (int i = 0; i < 200; i++)
		funcstats_add_wall(fs, 42, "spin", "/srv/a.py", PH_WALL_GIL, "gil");
	for (int i = 0; i < 100; i++)
		funcstats_add_wall(fs, 42, "spin", "/srv/a.py", PH_WALL_ONCPU, "running");
	text = render(&r, fs, PH_MODE_WALL);
	cr_expect(strstr(text, "pyhound_sample_mode{mode=\"wall\"} 1"), "%s", text);
	cr_expect_float_eq(value_of(text, "state=\"syscall\"}"), 3.0, 1e-9, "%s", text);
	cr_expect_float_eq(value_of(text, "state=\"gil\"}"), 2.0, 1e-9, "%s", text);
	cr_expect_float_eq(value_of(text, "state=\"running\"}"), 1.0, 1e-9, "%s", text);
	cr_expect_float_eq(value_of(text, "state=\"runnable\"}"), 0.0, 1e-9, "%s", text);
	/* the first scrape admits the top 2 pairs; they count from then on */
	cr_expect_float_eq(value_of(text, "function=\"reader\",file=\"/srv/a.py\","
				    "state=\"syscall:read\"}"), 0.0, 1e-9, "%s", text);
	cr_expect_float_eq(value_of(text, ",function=\"other\""), 6.0, 1e-9, "%s", text);
	cr_expect(!strstr(text, "file=\"/srv/a.py\",state=\"running\"}"),
		  "spin running not admitted: %s", text);
	free(text);
	for (int i = 0; i < 50; i++) {
		funcstats_add_wall(fs, 42, "reader", "/srv/a.py", PH_WALL_SYSCALL, "syscall:read");
		funcstats_add_wall(fs, 42, "spin", "/srv/a.py", PH_WALL_ONCPU, "running");
	}
	text = render(&r, fs, PH_MODE_WALL);
	cr_expect_float_eq(value_of(text, "function=\"reader\",file=\"/srv/a.py\","
				    "state=\"syscall:read\"}"), 0.5, 1e-9, "%s", text);
	cr_expect_float_eq(value_of(text, "function=\"spin\",file=\"/srv/a.py\",state=\"gil\"}"),
			   0.0, 1e-9, "%s", text);
	cr_expect_float_eq(value_of(text, ",function=\"other\""), 6.5, 1e-9, "%s", text);
	cr_expect(!strstr(text, "file=\"/srv/a.py\",state=\"running\"}"),
		  "a third pair past top 2: %s", text);
	free(text);
	text = render(&r, fs, PH_MODE_GIL);
	cr_expect(strstr(text, "pyhound_function_gil_seconds_total{"), "%s", text);
	cr_expect(!strstr(text, "pyhound_thread_wall_seconds_total{"), "%s", text);
	free(text);
	funcstats_free(fs);
}
