// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/log.h"
#include "cpython/gil.h"
#include "wall.skel.h"
#include "collect/wall_sampler.h"

/* A run visits every task on the host (one iterator over all tasks, ~0.5 us per task here
 * even when it is skipped) unless each tracked process has an iterator of its own threads
 * (Linux 6.1+: bpf_iter_link_info.task.pid): then a run reads one iterator per process, ~17 us
 * each (creating, reading and closing it; bench/RESULTS-wall.md). Runs go per process while
 * processes x WALL_TASKS_PER_PROC <= the host's tasks, at most WALL_PROC_LINKS of them, all with
 * their iterator; otherwise over all tasks. */
#define WALL_PROC_LINKS 32
#define WALL_TASKS_PER_PROC 32

struct proc_link {
	pid_t pid;
	struct bpf_link *link; /* NULL: none (no room, or the kernel refused it) */
};

struct wall_sampler {
	struct wall_bpf *skel;
	struct bpf_link *link; /* every task on the host */
	pthread_mutex_t lock;  /* procs: the sampling thread vs process arrivals and exits */
	struct proc_link *procs; /* registered processes (up to max_procs) */
	int nprocs, cap;
	int nlinked;	       /* of which with a link; runs go per process iff all are */
	int host_tasks;	       /* threads on the host (/proc/loadavg), read about once a second */
	uint64_t tasks_read_ns;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	unsigned int freq;
	uint64_t rng;
	/* written by the thread, read with atomics */
	atomic_uint_fast64_t runs, run_ns, late, errors;
	uint64_t gil_unknown;
	bool realtime; /* the sampling thread runs SCHED_FIFO */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int wall_open(enum ph_wall_mode mode, unsigned int max_procs, const struct wall_maps *m,
	      struct wall_sampler **out)
{
	struct wall_sampler *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	w->cap = max_procs ? max_procs : 1;
	w->procs = calloc(w->cap, sizeof(*w->procs));
	if (!w->procs) {
		err = -ENOMEM;
		goto err_free;
	}
	w->skel = wall_bpf__open();
	if (!w->skel) {
		err = -errno;
		pr_err("can't open the wall-clock sampler BPF object: %s\n", strerror(errno));
		goto err_free;
	}
	w->skel->rodata->targ_mode = mode;
	bpf_map__set_max_entries(w->skel->maps.gil_info, max_procs);
	if ((err = bpf_map__reuse_fd(w->skel->maps.tracked_pids, m->tracked_fd)) ||
	    (err = bpf_map__reuse_fd(w->skel->maps.proc_info, m->proc_info_fd)) ||
	    (err = bpf_map__reuse_fd(w->skel->maps.samples, m->samples_fd)) ||
	    (err = bpf_map__reuse_fd(w->skel->maps.stats, m->stats_fd))) {
		pr_err("can't share the sampler's maps with the wall-clock sampler: %s\n",
		       strerror(-err));
		goto err_skel;
	}
	err = wall_bpf__load(w->skel);
	if (err) {
		pr_err("can't load the wall-clock sampler (a sleepable task iterator, Linux 6.1+): "
		       "%s\n", strerror(-err));
		goto err_skel;
	}
	*out = w;
	return 0;
err_skel:
	wall_bpf__destroy(w->skel);
err_free:
	free(w->procs);
	free(w);
	return err;
}

/* Register pid, with an iterator over its threads only while there is room (else runs cover
 * every task). A pid registered twice keeps its first entry. */
static void link_process(struct wall_sampler *w, pid_t pid)
{
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info linfo = {};
	struct proc_link *pl = NULL;

	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < w->nprocs; i++)
		if (w->procs[i].pid == pid)
			goto out;
	if (w->nprocs == w->cap)
		goto out; /* the maps are full: the sampler refuses it */
	pl = &w->procs[w->nprocs++];
	*pl = (struct proc_link){ .pid = pid };
	if (w->nlinked < WALL_PROC_LINKS) {
		linfo.task.pid = pid;
		opts.link_info = &linfo;
		opts.link_info_len = sizeof(linfo);
		pl->link = bpf_program__attach_iter(w->skel->progs.wall_sample, &opts);
		if (pl->link)
			w->nlinked++;
		else
			pr_debug("pid %d: no per-process task iterator (%s): runs visit every "
				 "task\n", pid, strerror(errno));
	}
out:
	pthread_mutex_unlock(&w->lock);
}

int wall_add_process(struct wall_sampler *w, const struct py_proc *p)
{
	struct ph_gil_info g;
	__u32 pid = p->pid;
	int err = py_gil_info(p, &g);

	link_process(w, p->pid);
	if (err) {
		/* sampled all the same; no [gil] and no GIL holder for it */
		w->gil_unknown++;
		pr_warn("pid %d: GIL location unknown for CPython %d.%d: its GIL waits show as "
			"[syscall:futex]\n", p->pid, p->major, p->minor);
		return 0;
	}
	if (bpf_map_update_elem(bpf_map__fd(w->skel->maps.gil_info), &pid, &g, BPF_ANY)) {
		err = -errno;
		pr_err("pid %d: can't register its GIL: %s\n", p->pid, strerror(errno));
		return err == -E2BIG ? -ENOSPC : err;
	}
	return 0;
}

void wall_remove_process(struct wall_sampler *w, pid_t pid)
{
	__u32 key = pid;

	bpf_map_delete_elem(bpf_map__fd(w->skel->maps.gil_info), &key);
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < w->nprocs; i++)
		if (w->procs[i].pid == pid) {
			if (w->procs[i].link) {
				bpf_link__destroy(w->procs[i].link);
				w->nlinked--;
			}
			w->procs[i] = w->procs[--w->nprocs];
			break;
		}
	pthread_mutex_unlock(&w->lock);
}

static uint64_t next_rand(struct wall_sampler *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545F4914F6CDD1Dull;
}

/* one pass of an iterator */
static int run_link(struct bpf_link *link)
{
	char buf[64];
	int fd = bpf_iter_create(bpf_link__fd(link)), n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

/* the number of threads on the host (the 4th field of /proc/loadavg: "running/total"), or -1 */
static int count_host_tasks(void)
{
	char buf[128];
	int running, total = -1;
	FILE *f = fopen("/proc/loadavg", "re");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f) ||
	    sscanf(buf, "%*s %*s %*s %d/%d", &running, &total) != 2)
		total = -1;
	fclose(f);
	return total;
}

/* one run: every thread of every tracked process is visited once */
static int run_once(struct wall_sampler *w)
{
	uint64_t now = mono_ns();
	int err = 0;

	if (now - w->tasks_read_ns > 1000000000ull) {
		w->host_tasks = count_host_tasks();
		w->tasks_read_ns = now;
	}
	pthread_mutex_lock(&w->lock);
	if (w->nprocs && w->nlinked == w->nprocs &&
	    (long)w->nprocs * WALL_TASKS_PER_PROC <= w->host_tasks) {
		for (int i = 0; i < w->nprocs; i++) {
			int e = run_link(w->procs[i].link);

			if (e < 0 && !err)
				err = e;
		}
	} else if (w->nprocs) {
		err = run_link(w->link);
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

static void *wall_thread(void *arg)
{
	struct wall_sampler *w = arg;
	struct sched_param sp = { .sched_priority = 1 };
	uint64_t next = mono_ns();
	int err;

	/* Sample at the timer's instants, not when the scheduler gets round to this thread: on a
	 * busy host a normal thread runs when a CPU frees up, often because a thread being sampled
	 * just blocked, and the samples would over-count blocked states. As the lowest real-time
	 * priority it runs as its timer fires (for the ~0.1 ms of a run, 99 times a second). */
	err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (err)
		pr_warn("wall-clock sampler: can't use SCHED_FIFO (%s): on a busy host samples lean "
			"towards blocked states\n", strerror(err));
	w->realtime = !err;

	while (!atomic_load(&w->stop)) {
		/* exponential intervals, mean 1/freq */
		double u = ((next_rand(w) >> 11) + 1) * (1.0 / 9007199254740993.0); /* (0, 1] */
		uint64_t t0, period = (uint64_t)(1e9 / w->freq);
		struct timespec ts;

		next += (uint64_t)(-log(u) * 1e9 / w->freq);
		t0 = mono_ns();
		if (next > t0) {
			ts.tv_sec = next / 1000000000ull;
			ts.tv_nsec = next % 1000000000ull;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		} else if (t0 - next > period) {
			/* behind by more than a period: skip ahead rather than burst */
			atomic_fetch_add(&w->late, 1);
			next = t0;
		}
		if (atomic_load(&w->stop))
			break;
		t0 = mono_ns();
		if (run_once(w) < 0)
			atomic_fetch_add(&w->errors, 1);
		atomic_fetch_add(&w->run_ns, mono_ns() - t0);
		atomic_fetch_add(&w->runs, 1);
	}
	return NULL;
}

int wall_start(struct wall_sampler *w, unsigned int freq_hz)
{
	int err;

	w->freq = freq_hz ? freq_hz : 99;
	w->rng = mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)w;
	if (!w->rng)
		w->rng = 1;
	w->link = bpf_program__attach_iter(w->skel->progs.wall_sample, NULL);
	if (!w->link) {
		err = -errno;
		pr_err("can't attach the task iterator: %s\n", strerror(errno));
		return err;
	}
	err = pthread_create(&w->thread, NULL, wall_thread, w);
	if (err) {
		pr_err("can't start the wall-clock sampling thread: %s\n", strerror(err));
		bpf_link__destroy(w->link);
		w->link = NULL;
		return -err;
	}
	w->running = true;
	return 0;
}

void wall_get_stats(struct wall_sampler *w, struct wall_stats *st)
{
	st->runs = atomic_load(&w->runs);
	st->run_ns = atomic_load(&w->run_ns);
	st->late = atomic_load(&w->late);
	st->errors = atomic_load(&w->errors);
	st->gil_unknown = w->gil_unknown;
}

void wall_free(struct wall_sampler *w)
{
	if (!w)
		return;
	if (w->running) {
		atomic_store(&w->stop, true);
		pthread_join(w->thread, NULL);
	}
	bpf_link__destroy(w->link);
	for (int i = 0; i < w->nprocs; i++)
		bpf_link__destroy(w->procs[i].link);
	wall_bpf__destroy(w->skel);
	pthread_mutex_destroy(&w->lock);
	free(w->procs);
	free(w);
}
