// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/log.h"
#include "collect/profiler.h"
#include "collect/memory.h"
#include "stack/memheld.h"

#define TID_CACHE 4096 /* thread names remembered; the cache is cleared when full */
#define MAX_STACKS (1u << 18) /* distinct stacks kept per profile */
#define OP_FRAMES_MAX (PH_MAX_FRAMES + 1) /* frames of a named sample (sampler.c) */

struct tid_name {
	pid_t tid;
	char name[48];
};

struct profiler {
	struct tracker *t;
	struct sampler *s;
	struct profile *prof;
	unsigned int freq;
	int mode;
	uint64_t start_ns;
	profiler_sink sink;
	void *sink_ctx;
	struct tid_name *tids;
	size_t ntids;
	uint64_t added, refused, full;
	struct mem_collector *mem; /* resident growth per stack (memory mode, or enabled) */
	struct memheld *held;	   /* NULL when a memory sink takes the growth instead */
	profiler_mem_sink mem_sink;
	void *mem_sink_ctx;
	struct prof_frame *with_op; /* profiler_set_opcode_frames(): a sample's frames plus its
				     * [op:NAME] leaf pseudo-frame; NULL: off */
};

static const char *thread_name(struct profiler *p, pid_t pid, pid_t tid)
{
	char fname[64], comm[32] = "";
	struct tid_name *tn;
	size_t i;
	ssize_t n;
	int fd;

	for (i = 0; i < p->ntids; i++)
		if (p->tids[i].tid == tid)
			return p->tids[i].name;
	if (p->ntids == TID_CACHE)
		p->ntids = 0;
	tn = &p->tids[p->ntids++];
	tn->tid = tid;
	snprintf(fname, sizeof(fname), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	fd = open(fname, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
	}
	if (tid == pid)
		snprintf(tn->name, sizeof(tn->name), "main thread %d", (int)tid);
	else if (*comm)
		snprintf(tn->name, sizeof(tn->name), "thread %d (%s)", (int)tid, comm);
	else
		snprintf(tn->name, sizeof(tn->name), "thread %d", (int)tid);
	return tn->name;
}

static void on_sample(void *ctx, pid_t pid, pid_t tid, const struct prof_frame *frames,
		      uint32_t n, bool truncated, bool in_syscall)
{
	struct profiler *p = ctx;
	const struct tracked_proc *tp = tracker_find(p->t, pid);
	char process[64];
	const char *thread = thread_name(p, pid, tid);

	const char *op = NULL;
	int depth = 0;
	bool py_leaf = n && !in_syscall && frames[n - 1].file && frames[n - 1].file[0];

	snprintf(process, sizeof(process), "%s (%d)", tp ? tp->info.comm : "?", (int)pid);
	if (py_leaf)
		sampler_leaf(p->s, &op, &depth);
	if (py_leaf && p->with_op && n <= OP_FRAMES_MAX) {
		/* record --opcodes: the instruction the leaf sat on, as a leaf pseudo-frame */
		char name[64];

		memcpy(p->with_op, frames, n * sizeof(*frames));
		snprintf(name, sizeof(name), "[op:%s]", op ? op : "?");
		p->with_op[n] = (struct prof_frame){ .name = name, .file = "" };
		if (profile_add(p->prof, pid, tid, process, thread, p->with_op, n + 1, truncated,
				in_syscall, 1))
			p->full++;
	} else if (profile_add(p->prof, pid, tid, process, thread, frames, n, truncated,
			       in_syscall, 1)) {
		p->full++;
	}
	if (py_leaf)
		prof_lineops_add(p->prof, pid, &frames[n - 1], op, depth, 1);
	if (p->sink)
		p->sink(p->sink_ctx, pid, tid, process, thread, frames, n, truncated, in_syscall);
}

static const char *const map_kinds[] = {
	[PH_MAP_ANON] = "[mmap]",
	[PH_MAP_FILE] = "[mmap file]",
	[PH_MAP_BRK] = "[brk]",
	[PH_MAP_MREMAP] = "[mremap]",
};

static void on_mem(void *ctx, const struct mem_event *ev)
{
	static const struct prof_frame none = { .name = "[no Python frame]", .file = "" };
	struct profiler *p = ctx;
	const struct tracked_proc *tp;
	const struct prof_frame *frames = ev->frames;
	uint32_t n = ev->nframes;
	const char *thread;
	char process[64];

	if (p->mem_sink) {
		if (ev->kind == PH_MEM_GROWTH)
			p->mem_sink(p->mem_sink_ctx, ev->pid, n ? frames : &none, n ? n : 1,
				    ev->len);
		return;
	}
	switch (ev->kind) {
	case PH_MEM_RELEASE: memheld_release(p->held, ev->pid, ev->addr, ev->len); return;
	case PH_MEM_MOVE: memheld_move(p->held, ev->pid, ev->addr, ev->len, ev->addr2); return;
	case PH_MEM_GROWTH:
	case PH_MEM_MAP: break;
	default: return;
	}
	tp = tracker_find(p->t, ev->pid);
	thread = thread_name(p, ev->pid, ev->tid);
	snprintf(process, sizeof(process), "%s (%d)", tp ? tp->info.comm : "?", (int)ev->pid);
	if (!n) {
		frames = &none;
		n = 1;
	}
	if (ev->kind == PH_MEM_GROWTH)
		memheld_growth(p->held, ev->pid, ev->tid, process, thread, frames, n,
			       ev->truncated, ev->addr, ev->len);
	else
		memheld_mapping(p->held, ev->pid, ev->tid, process, thread, frames, n,
				ev->truncated, ev->aux < 4 ? map_kinds[ev->aux] : "[map]", ev->len);
}

int profiler_enable_memory(struct profiler *p)
{
	struct mem_opts mo = { .cb = on_mem, .ctx = p };
	const char *period = getenv("PYHOUND_MEMORY_PERIOD_KB");
	int err;

	if (p->mem)
		return 0;
	/* benchmark knob (bench/memory.sh): mean KiB of growth per sample */
	if (period && *period) {
		long v = strtol(period, NULL, 10);

		if (v >= 4 && v <= (1l << 20)) {
			mo.period = (uint64_t)v << 10;
			pr_info("memory: benchmark setting: one sample per %ld KiB", v);
		}
	}
	p->held = memheld_new();
	if (!p->held)
		return -ENOMEM;
	err = mem_open(&mo, tracker_map_fd(p->t), sampler_proc_info_fd(p->s),
		       sampler_symbolizer(p->s), &p->mem);
	if (err) {
		memheld_free(p->held);
		p->held = NULL;
	}
	return err;
}

void profiler_set_mem_sink(struct profiler *p, profiler_mem_sink fn, void *ctx)
{
	p->mem_sink = fn;
	p->mem_sink_ctx = ctx;
	/* the samples go to the sink: nothing is held */
	memheld_free(p->held);
	p->held = NULL;
}

struct memheld *profiler_memheld(const struct profiler *p)
{
	return p->held;
}

struct mem_collector *profiler_mem(const struct profiler *p)
{
	return p->mem;
}

static void on_add(const struct tracked_proc *tp, void *ctx)
{
	struct profiler *p = ctx;
	int err = sampler_add_process(p->s, &tp->info);

	if (!err) {
		p->added++;
		return;
	}
	p->refused++;
	if (!tp->info.supported)
		pr_info("PID %d: CPython %d.%d stacks not walked: %s", (int)tp->info.pid,
			tp->info.major, tp->info.minor, tp->info.unsupported);
	else
		pr_warn("PID %d: cannot sample its stacks: %s", (int)tp->info.pid, strerror(-err));
}

static void on_gone(const struct tracked_proc *tp, void *ctx)
{
	struct profiler *p = ctx;

	/* name what is already in the ring buffer while the process's memory may still be read */
	sampler_poll(p->s, 0);
	if (p->mem) {
		mem_poll(p->mem, 0);
		mem_forget(p->mem, tp->info.pid);
	}
	sampler_remove_process(p->s, tp->info.pid);
}

/* Benchmark knobs (bench/sampler.sh): PYHOUND_SAMPLER_OVERSAMPLE=N (event ticks per kept
 * sample, 1: none) and PYHOUND_SAMPLER_FIXED=1 (no random period changes: the sampler of old);
 * (bench/opcodes.sh) PYHOUND_SAMPLER_NO_OPS=1 (no opcode attribution: no bytecode read or
 * decoded, "?" for every instruction) and PYHOUND_SAMPLER_TIME_OPS=1 (time each attribution;
 * record -v prints the mean). */
static void sampling_env(struct sampler_opts *so)
{
	const char *o = getenv("PYHOUND_SAMPLER_OVERSAMPLE"), *f = getenv("PYHOUND_SAMPLER_FIXED");
	const char *no = getenv("PYHOUND_SAMPLER_NO_OPS"), *to = getenv("PYHOUND_SAMPLER_TIME_OPS");

	so->no_ops = no && !strcmp(no, "1");
	so->time_ops = to && !strcmp(to, "1");
	if (so->no_ops)
		pr_info("sampler: benchmark setting: no opcode attribution");

	if (o && *o) {
		long v = strtol(o, NULL, 10);

		if (v >= 1 && v <= 64)
			so->oversample = v;
	}
	so->fixed_period = f && !strcmp(f, "1");
	if ((o && *o) || so->fixed_period)
		pr_info("sampler: benchmark settings oversample=%u fixed_period=%d", so->oversample,
			so->fixed_period);
}

int profiler_open(struct tracker *t, unsigned int freq_hz, int mode, struct profiler **out)
{
	struct profiler *p = calloc(1, sizeof(*p));
	/* memory mode: the sampler registers processes and names stacks, its events stay off */
	struct sampler_opts so = { .freq_hz = freq_hz, .cb = on_sample,
				   .mode = mode == PH_MODE_MEMORY ? PH_MODE_CPU : mode };
	struct tracker_hooks h = { .on_add = on_add, .on_exit = on_gone, .on_reject = NULL };
	int err;

	if (!p)
		return -ENOMEM;
	p->t = t;
	p->freq = freq_hz ? freq_hz : 99;
	p->mode = mode;
	sampling_env(&so);
	p->tids = calloc(TID_CACHE, sizeof(*p->tids));
	p->prof = profile_new(0, p->freq);
	if (!p->tids || !p->prof) {
		err = -ENOMEM;
		goto err_free;
	}
	profile_set_max_stacks(p->prof, MAX_STACKS);
	p->prof->mode = mode;
	so.ctx = p;
	so.freq_hz = p->freq;
	err = sampler_open(&so, tracker_map_fd(t), &p->s);
	if (err) {
		pr_err("cannot load the stack sampler: %s (run with -vv for libbpf's log)",
		       strerror(-err));
		goto err_free;
	}
	if (mode == PH_MODE_MEMORY) {
		err = profiler_enable_memory(p);
		if (err) {
			pr_err("cannot load the memory collector: %s (run with -vv for libbpf's log)",
			       strerror(-err));
			sampler_free(p->s);
			goto err_free;
		}
	}
	h.ctx = p;
	tracker_add_hooks(t, &h);
	p->start_ns = now_ns();
	*out = p;
	return 0;

err_free:
	profile_free(p->prof);
	free(p->tids);
	free(p);
	return err;
}

int profiler_attach(struct profiler *p)
{
	int err = p->mode == PH_MODE_MEMORY ? 0 : sampler_attach(p->s);

	if (err)
		pr_err("cannot attach the CPU-clock perf events: %s", strerror(-err));
	if (!err && p->mem)
		err = mem_attach(p->mem);
	p->start_ns = now_ns();
	return err;
}

int profiler_poll(struct profiler *p, int timeout_ms)
{
	int n;

	if (p->mode == PH_MODE_MEMORY)
		return mem_poll(p->mem, timeout_ms);
	n = sampler_poll(p->s, timeout_ms);
	if (n >= 0 && p->mem) {
		int m = mem_poll(p->mem, 0);

		if (m < 0)
			n = m;
	}
	return n == -EINTR ? 0 : n;
}

void profiler_set_sink(struct profiler *p, profiler_sink fn, void *ctx)
{
	p->sink = fn;
	p->sink_ctx = ctx;
}

struct profile *profiler_profile(struct profiler *p)
{
	if (p->mode == PH_MODE_MEMORY) {
		/* held bytes per stack, as of now */
		struct profile *n = memheld_profile(p->held, 0, 0);

		if (n) {
			n->mode = PH_MODE_MEMORY;
			profile_free(p->prof);
			p->prof = n;
		}
	}
	p->prof->duration_s = (now_ns() - p->start_ns) / 1e9;
	return p->prof;
}

struct profile *profiler_restart(struct profiler *p)
{
	struct profile *old = profiler_profile(p), *n = profile_new(0, p->freq);

	if (!n)
		return NULL;
	profile_set_max_stacks(n, MAX_STACKS);
	n->mode = p->mode;
	p->prof = n;
	p->start_ns = now_ns();
	return old;
}

void profiler_get_stats(struct profiler *p, struct profiler_stats *st)
{
	memset(st, 0, sizeof(*st));
	sampler_stats(p->s, &st->s);
	st->procs_added = p->added;
	st->procs_refused = p->refused;
	st->profile_full = p->full;
}

int profiler_mode(const struct profiler *p)
{
	return p->mode;
}

unsigned int profiler_frequency(const struct profiler *p)
{
	return p->freq;
}

int profiler_set_opcode_frames(struct profiler *p, bool on)
{
	if (!on) {
		free(p->with_op);
		p->with_op = NULL;
		return 0;
	}
	if (!p->with_op)
		p->with_op = calloc(OP_FRAMES_MAX + 1, sizeof(*p->with_op));
	return p->with_op ? 0 : -ENOMEM;
}

void profiler_free(struct profiler *p)
{
	if (!p)
		return;
	mem_free(p->mem);
	memheld_free(p->held);
	sampler_free(p->s);
	profile_free(p->prof);
	free(p->with_op);
	free(p->tids);
	free(p);
}

struct sampler *profiler_sampler(const struct profiler *p)
{
	return p->s;
}
