// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The wall-clock findings' logic on made-up samples: the blocked-event-loop stretches
 * (model/loopblock.c), the CPU-bound-on-one-core rule (model/report_wall.c) and the host's idle
 * CPUs (host/hostcpu.c). The live versions are in tests/integration/test_wall_findings.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "host/hostcpu.h"
#include "model/loopblock.h"
#include "model/report_wall.h"
#include "wall.h"

#define MS 1000000ULL

static const struct prof_frame run_once = { "BaseEventLoop._run_once",
					    "/usr/lib/python3.12/asyncio/base_events.py", 1922,
					    1880 };
static const struct prof_frame handle_run = { "Handle._run",
					      "/usr/lib/python3.12/asyncio/events.py", 84, 78 };
static const struct prof_frame select_ = { "EpollSelector.select",
					   "/usr/lib/python3.12/selectors.py", 468, 451 };

/* <module> > run_forever > _run_once > (what); "runnable": the handler waiting for a CPU */
static void add(struct loopblock *lb, pid_t tid, uint64_t t_ms, const char *what)
{
	struct prof_frame f[8] = {
		{ "<module>", "/srv/app.py", 40, 1 },
		{ "BaseEventLoop.run_forever", "/usr/lib/python3.12/asyncio/base_events.py", 641,
		  620 },
		run_once,
	};
	uint32_t n = 3;

	if (!strcmp(what, "select")) {
		f[n++] = select_;
		f[n++] = (struct prof_frame){ "[syscall:epoll_wait]", "", 0, 0 };
	} else if (!strcmp(what, "loop")) {
		f[n++] = handle_run;
	} else if (!strcmp(what, "runnable")) {
		f[n++] = handle_run;
		f[n++] = (struct prof_frame){ "handler", "/srv/app.py", 12, 10 };
		f[n++] = (struct prof_frame){ "[runnable]", "", 0, 0 };
	} else {
		f[n++] = handle_run;
		f[n++] = (struct prof_frame){ what, "/srv/app.py", 12, 10 };
		f[n++] = (struct prof_frame){ "slow_io", "/srv/db.py", 7, 5 };
		f[n++] = (struct prof_frame){ "[syscall:recvfrom]", "", 0, 0 };
	}
	loopblock_add(lb, 100, tid, f, n, t_ms * MS);
}

Test(loopblock, one_long_call_is_a_block)
{
	struct loopblock *lb = loopblock_new();
	struct loopblock_result r;
	uint64_t t = 1000;

	add(lb, 100, t, "select");
	for (int i = 0; i < 30; i++, t += 10) /* 290 ms between the first and last sample */
		add(lb, 100, t, "handler");
	add(lb, 100, t, "select");
	loopblock_finish(lb);
	cr_assert(loopblock_get(lb, 100, &r));
	cr_expect_eq(r.blocks, 1);
	cr_expect_float_eq(r.longest_s, 0.29, 1e-9);
	cr_expect_eq(r.longest_samples, 30);
	cr_expect_eq(r.tid, 100);
	cr_expect_str_eq(r.handler, "handler (app.py:12)");
	cr_expect_str_eq(r.blocker, "slow_io (db.py:7)");
	cr_expect_str_eq(r.stack, "handler (app.py:12) > slow_io (db.py:7) > [syscall:recvfrom]");
	loopblock_free(lb);
}

Test(loopblock, short_calls_and_returns_to_the_loop_are_not)
{
	struct loopblock *lb = loopblock_new();
	struct loopblock_result r;
	uint64_t t = 1000;

	for (int k = 0; k < 20; k++) {
		for (int i = 0; i < 9; i++, t += 10) /* 80 ms each */
			add(lb, 100, t, "handler");
		add(lb, 100, t, k % 2 ? "select" : "loop"); /* the loop between callbacks */
		t += 10;
	}
	/* a 30 ms call on a starved host: 120 ms waiting for a CPU after it is not a block */
	for (int i = 0; i < 16; i++, t += 10)
		add(lb, 100, t, i < 4 ? "handler" : "runnable");
	add(lb, 100, t, "select");
	t += 10;
	/* one handler after another, no sample of the loop between: two stretches */
	for (int i = 0; i < 8; i++, t += 10)
		add(lb, 100, t, i < 4 ? "first" : "second");
	/* another thread's samples do not end this one's stretch */
	for (int i = 0; i < 9; i++, t += 10) {
		add(lb, 100, t, "handler");
		add(lb, 101, t, "select");
	}
	loopblock_finish(lb);
	cr_assert(loopblock_get(lb, 100, &r), "the loop was seen");
	cr_expect_eq(r.blocks, 0, "longest %.3f s", r.longest_s);
	cr_expect_gt(r.loop_samples, 200);
	loopblock_free(lb);
}

Test(loopblock, not_a_loop)
{
	struct loopblock *lb = loopblock_new();
	struct prof_frame f[] = { { "<module>", "/srv/batch.py", 3, 1 }, { "work", "/srv/b.py", 9, 8 } };
	struct loopblock_result r;

	for (int i = 0; i < 50; i++)
		loopblock_add(lb, 7, 7, f, 2, (uint64_t)i * 10 * MS);
	loopblock_finish(lb);
	cr_expect(!loopblock_get(lb, 7, &r));
	cr_expect_eq(r.blocks, 0);
	loopblock_free(lb);
}

static const char proc_stat[] =
	"cpu  1000 0 500 8000 500 0 0 0 0 0\n"
	"cpu0 500 0 250 4000 250 0 0 0 0 0\n"
	"cpu1 500 0 250 4000 250 0 0 0 0 0\n"
	"intr 12345 0 0\n"
	"cpu9 this is not a cpu line any more\n";

Test(hostcpu, idle_cpus_between_two_readings)
{
	struct host_cpu a, b;

	cr_assert_eq(host_cpu_parse(proc_stat, &a), 0);
	cr_expect_eq(a.ncpus, 2);
	cr_expect_eq(a.total, 10000);
	cr_expect_eq(a.idle, 8500);
	b = a;
	b.total += 1000; /* 1000 ticks over 2 CPUs, 250 of them idle: 0.5 CPU idle */
	b.idle += 250;
	cr_expect_float_eq(host_idle_cpus(&a, &b), 0.5, 1e-9);
	cr_expect_lt(host_idle_cpus(&a, &a), 0, "no time passed: unknown");
	cr_expect_eq(host_cpu_parse("intr 1 2\n", &a), -EINVAL);
	cr_assert_eq(host_cpu_read(&a), 0);
	cr_expect_gt(a.ncpus, 0);
}

/* a thread's samples: running spin (CPU), [runnable], [gil] or a sleep syscall */
static void thread_samples(struct profile *p, pid_t tid, uint64_t running, uint64_t runnable,
			   uint64_t gil, uint64_t sleep)
{
	struct prof_frame f[2] = { { "spin", "/srv/w.py", 5, 1 }, { "", "", 0, 0 } };

	profile_add(p, 50, tid, "python3", NULL, f, 1, false, false, running);
	f[1].name = "[runnable]";
	profile_add(p, 50, tid, "python3", NULL, f, 2, false, false, runnable);
	f[1].name = "[gil]";
	profile_add(p, 50, tid, "python3", NULL, f, 2, false, false, gil);
	f[1].name = "[syscall:clock_nanosleep]";
	profile_add(p, 50, tid, "python3", NULL, f, 2, false, false, sleep);
}

Test(wall_findings, cpu_bound_on_one_core)
{
	struct wall_env idle = { .idle_cpus = 0.9, .ncpus = 2 }, busy = { .idle_cpus = 0.2,
									    .ncpus = 2 };
	struct wall_summary *w = malloc(sizeof(*w));
	struct profile *p = profile_new(4, 100);

	cr_assert(w && p);
	p->mode = PH_MODE_WALL;
	thread_samples(p, 50, 380, 15, 0, 0); /* 3.95 s of 4 wanting a CPU */
	thread_samples(p, 51, 0, 0, 0, 400);  /* a sleeper */
	cr_assert_eq(wall_summarise(p, 50, &idle, w), 0);
	cr_expect_float_eq(w->cores, 0.9875, 1e-9);
	cr_expect_float_eq(w->observed_s, 4.0, 1e-9);
	cr_expect(strstr(w->onecore, "CPU-bound on one core: tid 50 wanted a CPU 99%"), "%s", w->onecore);
	cr_expect(strstr(w->onecore, "0.9 of its 2 CPUs idle"), "%s", w->onecore);
	cr_assert_eq(wall_summarise(p, 50, &busy, w), 0);
	cr_expect_str_empty(w->onecore, "a busy host: splitting would not help now");
	profile_free(p);

	/* three threads taking turns with the GIL: ~1 CPU in all */
	p = profile_new(4, 100);
	p->mode = PH_MODE_WALL;
	for (pid_t t = 60; t < 63; t++)
		thread_samples(p, t, 130, 5, 265, 0);
	cr_assert_eq(wall_summarise(p, 50, &idle, w), 0);
	cr_expect(strstr(w->onecore, "3 threads wanted the CPU and the GIL"), "%s", w->onecore);
	profile_free(p);

	/* the near miss: 55% of a CPU */
	p = profile_new(4, 100);
	p->mode = PH_MODE_WALL;
	thread_samples(p, 50, 215, 5, 0, 180); /* 0.55 */
	cr_assert_eq(wall_summarise(p, 50, &idle, w), 0);
	cr_expect_str_empty(w->onecore, "%s", w->onecore);
	/* and two CPUs' worth (threads already in parallel, e.g. in C without the GIL) */
	profile_free(p);
	p = profile_new(4, 100);
	p->mode = PH_MODE_WALL;
	thread_samples(p, 50, 400, 0, 0, 0);
	thread_samples(p, 51, 400, 0, 0, 0);
	cr_assert_eq(wall_summarise(p, 50, &idle, w), 0);
	cr_expect_str_empty(w->onecore, "%s", w->onecore);
	profile_free(p);
	free(w);
}
