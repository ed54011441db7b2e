// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "host/elf.h"
#include "lib/log.h"
#include "lib/ringbuf.h"
#include "cpython/offsets.h"
#include "cpython/tstate_locate.h"
#include "procwatch.h"
#include "sampler.skel.h"
#include "collect/sampler.h"
#include "collect/syscall_names.h"
#include "collect/wall_sampler.h"
#include "cpython/argvals.h"

#define CODE_TYPE_CACHE 32
/* Unaliased sampling (see bpf/sampler.bpf.c): the CPU-clock event runs at oversample x the rate
 * (at most MAX_TICK_HZ per CPU, oversample at most MAX_OVERSAMPLE) and ticks are kept with
 * probability 1/oversample; every JITTER_MIN_MS..JITTER_MAX_MS (at random) each event gets a new
 * period, its tick rate drawn uniformly within +-JITTER_PCT% of oversample x rate (the mean
 * rate is unchanged), which also restarts it at a new phase. */
#define PH_SYSCALL_FRAMES 512 /* x86_64 syscall numbers named in pseudo-frames */
#define MAX_OVERSAMPLE 8
#define MAX_TICK_HZ 8000
#define JITTER_PCT 30
#define JITTER_MIN_MS 100
#define JITTER_MAX_MS 300 /* distinct interpreter binaries / libpythons; replaced round-robin */

struct code_type_cache {
	bool valid;
	uint64_t dev, ino, vaddr; /* vaddr: link-time PyCode_Type, 0 when absent */
};

/* argument sampling: each registered process's type objects and offsets, chained by pid */
#define ARGV_BUCKETS 1024
struct argv_proc {
	struct argv_proc *next;
	pid_t pid;
	bool ok; /* all the types were found */
	struct argv_types t;
	struct py_offsets off;
};

struct sampler {
	struct sampler_bpf *skel;
	struct ring_buffer *rb;
	struct symbolizer *sym;
	struct bpf_link **links;
	int *pfds;
	int nlinks;
	bool own_tracked;
	unsigned int freq;
	unsigned int oversample; /* event ticks per kept sample (1: no thinning) */
	bool fixed_period;	 /* no jitter (benchmarks: the aliasing sampler of old) */
	bool no_ops;		 /* no opcode attribution (benchmarks) */
	bool time_ops;		 /* time each attribution (benchmarks) */
	uint64_t next_jitter_ns; /* when to draw new periods; 0: never (fixed period) */
	uint64_t rng;
	sampler_cb cb;
	void *ctx;
	struct sampler_stats st;
	struct code_type_cache code_type[CODE_TYPE_CACHE];
	unsigned int code_type_next;
	struct wall_sampler *wall; /* wall and gil modes */
	char *syscall_frames[PH_SYSCALL_FRAMES]; /* "[syscall:NAME]" by number, made on first use */
	struct prof_frame frames[PH_MAX_FRAMES + 1]; /* + a wall sample's pseudo-frame */
	char op[48];	/* the leaf's instruction label (sampler_leaf) */
	bool has_op;
	uint64_t sample_ns; /* the sample being delivered: its bpf_ktime_get_ns() */
	int op_depth;
	bool no_args, time_args;
	int args_state; /* sampler_leaf_args() */
	unsigned args_n;
	uint64_t args_hash;
	struct argv_proc *argv[ARGV_BUCKETS];
};

static const char *const stat_names[SMP_STAT_MAX] = {
	[SMP_SAMPLES] = "samples",
	[SMP_TRUNCATED] = "truncated",
	[SMP_SKIPPED_FRAMES] = "skipped_frames",
	[SMP_EMPTY] = "empty",
	[SMP_DROP_RINGBUF] = "drop_ringbuf",
	[SMP_ERR_NO_INFO] = "err_no_info",
	[SMP_ERR_TSS_KEY] = "err_tss_key",
	[SMP_ERR_NO_TSTATE] = "err_no_tstate",
	[SMP_ERR_TSTATE_MISMATCH] = "err_tstate_mismatch",
	[SMP_ERR_READ] = "err_read",
	[SMP_ERR_BAD_CODE] = "err_bad_code",
	[SMP_THINNED] = "thinned",
	[SMP_WALL_TICKS] = "wall_ticks",
	[SMP_WALL_THREADS] = "wall_threads",
	[SMP_WALL_NOT_HOLDER] = "gil_not_holder",
	[SMP_WALL_DISPLACED] = "wall_displaced",
};

const char *sampler_stat_name(unsigned int stat)
{
	return stat < SMP_STAT_MAX && stat_names[stat] ? stat_names[stat] : "?";
}

/* The leaf pseudo-frame of a wall sample of a thread off the CPU, or NULL (on a CPU). */
static const char *wall_leaf(struct sampler *s, uint32_t flags)
{
	unsigned int nr = PH_WALL_SYSCALL_NR(flags);
	char name[48], buf[32];

	switch (PH_WALL_STATE(flags)) {
	case PH_WALL_RUNNABLE: return "[runnable]";
	case PH_WALL_GIL: return "[gil]";
	case PH_WALL_BLOCKED: return "[blocked]";
	case PH_WALL_SYSCALL:
		if (nr >= PH_SYSCALL_FRAMES)
			return "[syscall:?]";
		if (!s->syscall_frames[nr]) {
			snprintf(name, sizeof(name), "[syscall:%s]", syscall_name(nr, buf, sizeof(buf)));
			s->syscall_frames[nr] = strdup(name);
			if (!s->syscall_frames[nr])
				return "[syscall:?]";
		}
		return s->syscall_frames[nr];
	default: return NULL;
	}
}

static struct argv_proc *argv_find(const struct sampler *s, pid_t pid)
{
	struct argv_proc *a = s->argv[(uint32_t)pid % ARGV_BUCKETS];

	while (a && a->pid != pid)
		a = a->next;
	return a;
}

static void argv_forget(struct sampler *s, pid_t pid)
{
	struct argv_proc **pp = &s->argv[(uint32_t)pid % ARGV_BUCKETS];

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	if (*pp) {
		struct argv_proc *a = *pp;

		*pp = a->next;
		free(a);
	}
}

/* The sample's leaf arguments: decoded and hashed now (the objects are read from the process,
 * after the sample: see cpython/argvals.h) */
static void leaf_args(struct sampler *s, pid_t pid, const struct ph_args *a)
{
	const struct argv_proc *ap = argv_find(s, pid);
	struct timespec t0, t1;

	s->st.args_sampled++;
	s->args_state = 0;
	if (!ap || !ap->ok) {
		s->st.args_no_types++;
		return;
	}
	if (s->time_args)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!argvals_hash(&ap->off, &ap->t, a, argvals_read_pid, (void *)(intptr_t)pid,
			  &s->args_hash, &s->args_n)) {
		s->args_state = 1;
		s->st.args_decoded++;
	}
	if (s->time_args) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s->st.args_timed++;
		s->st.args_ns += (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	}
}

int sampler_leaf_args(const struct sampler *s, uint64_t *hash, unsigned *nargs)
{
	if (s->args_state == 1) {
		*hash = s->args_hash;
		*nargs = s->args_n;
	}
	return s->args_state;
}

static int handle_sample(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;
	const struct ph_sample *smp = data;
	uint32_t n, out = 0;

	if (size < PH_SAMPLE_HDR_SIZE || smp->nframes > PH_MAX_FRAMES ||
	    size < PH_SAMPLE_HDR_SIZE + smp->nframes * sizeof(struct ph_frame)) {
		s->st.bad_records++;
		return 0;
	}
	n = smp->nframes;
	s->has_op = false;
	s->args_state = -1;
	s->sample_ns = smp->ts_ns;
	/* BPF records the leaf first; the callback wants the root first */
	for (uint32_t i = n; i-- > 0;) {
		const struct ph_frame *f = &smp->frames[i];
		int err = symbolizer_frame(s->sym, smp->pid, f->code, f->name, f->first_line,
					   f->instr, &s->frames[out]);

		if (err == 1)
			continue; /* interpreter-internal shim */
		if (err < 0)
			s->st.unknown_frames++;
		/* the leaf: which instruction it sat on */
		if (i == 0 && !err && !s->no_ops) {
			struct timespec t0, t1;

			if (s->time_ops)
				clock_gettime(CLOCK_MONOTONIC, &t0);
			s->has_op = !symbolizer_op(s->sym, s->op, sizeof(s->op), &s->op_depth);
			if (s->time_ops) {
				clock_gettime(CLOCK_MONOTONIC, &t1);
				s->st.op_timed++;
				s->st.op_ns += (t1.tv_sec - t0.tv_sec) * 1000000000LL +
					       (t1.tv_nsec - t0.tv_nsec);
			}
		}
		if (i == 0 && !err && (smp->flags & PH_SAMPLE_ARGS) &&
		    size >= PH_SAMPLE_HDR_SIZE + n * sizeof(struct ph_frame) + sizeof(struct ph_args))
			leaf_args(s, smp->pid, (const struct ph_args *)&smp->frames[n]);
		out++;
	}
	if (smp->flags & PH_SAMPLE_WALL) {
		const char *leaf = wall_leaf(s, smp->flags);

		if (leaf) {
			s->has_op = false; /* the leaf is not Python code running */
			s->frames[out] = (struct prof_frame){ .name = leaf, .file = "" };
			out++;
		}
	}
	s->st.received++;
	if (s->cb)
		s->cb(s->ctx, smp->pid, smp->tid, s->frames, out,
		      smp->flags & PH_SAMPLE_TRUNCATED, smp->flags & PH_SAMPLE_IN_SYSCALL);
	return 0;
}

int sampler_open(const struct sampler_opts *opts, int tracked_fd, struct sampler **out)
{
	unsigned int max_procs = opts->max_procs ? opts->max_procs : 4096;
	unsigned int rb_bytes = ringbuf_bytes(opts->ringbuf_kb ? opts->ringbuf_kb : 8192);
	struct sampler *s;
	int err;

	if (max_procs > PH_MAX_PROCS)
		max_procs = PH_MAX_PROCS;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->freq = opts->freq_hz ? opts->freq_hz : 99;
	s->oversample = opts->oversample;
	s->fixed_period = opts->fixed_period;
	s->no_ops = opts->no_ops;
	s->time_ops = opts->time_ops;
	s->no_args = opts->no_args;
	s->time_args = opts->time_args;
	s->args_state = -1;
	if (!s->oversample) {
		s->oversample = MAX_TICK_HZ / s->freq;
		if (s->oversample > MAX_OVERSAMPLE)
			s->oversample = MAX_OVERSAMPLE;
		if (!s->oversample)
			s->oversample = 1;
	}
	s->cb = opts->cb;
	s->ctx = opts->ctx;
	s->sym = symbolizer_new();
	if (!s->sym) {
		err = -ENOMEM;
		goto err_free;
	}
	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err = -errno;
		pr_err("can't open the sampler BPF object: %s\n", strerror(errno));
		goto err_free;
	}
	s->skel->rodata->targ_args = !s->no_args && opts->mode == PH_MODE_CPU;
	if (s->oversample > 1)
		s->skel->rodata->targ_keep_below = (__u32)((1ull << 32) / s->oversample - 1);
	bpf_map__set_max_entries(s->skel->maps.proc_info, max_procs);
	bpf_map__set_max_entries(s->skel->maps.samples, rb_bytes);
	if (tracked_fd >= 0) {
		err = bpf_map__reuse_fd(s->skel->maps.tracked_pids, tracked_fd);
		if (err) {
			pr_err("can't reuse the tracked_pids map: %s\n", strerror(-err));
			goto err_skel;
		}
	} else {
		bpf_map__set_max_entries(s->skel->maps.tracked_pids, max_procs);
		s->own_tracked = true;
	}
	err = sampler_bpf__load(s->skel);
	if (err) {
		pr_err("can't load the sampler BPF program: %s\n", strerror(-err));
		goto err_skel;
	}
	if (opts->mode != PH_MODE_CPU) {
		struct wall_maps m = {
			.tracked_fd = bpf_map__fd(s->skel->maps.tracked_pids),
			.proc_info_fd = bpf_map__fd(s->skel->maps.proc_info),
			.samples_fd = bpf_map__fd(s->skel->maps.samples),
			.stats_fd = bpf_map__fd(s->skel->maps.stats),
		};

		err = wall_open(opts->mode, max_procs, &m, &s->wall);
		if (err)
			goto err_skel;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.samples), handle_sample, s, NULL);
	if (!s->rb) {
		err = -errno;
		pr_err("can't create the sample ring buffer: %s\n", strerror(errno));
		goto err_skel;
	}
	*out = s;
	return 0;
err_skel:
	wall_free(s->wall);
	sampler_bpf__destroy(s->skel);
err_free:
	symbolizer_free(s->sym);
	free(s);
	return err;
}

int sampler_tracked_fd(const struct sampler *s)
{
	return bpf_map__fd(s->skel->maps.tracked_pids);
}

/* Absolute address of PyCode_Type in the process, or 0 (the walker then skips the check).
 * The symbol's link-time address is cached per ELF object (device, inode). */
static uint64_t code_type_addr(struct sampler *s, const struct py_proc *p)
{
	struct code_type_cache *c;
	struct elf_file *ef;
	struct elf_sym sym;

	for (int i = 0; i < CODE_TYPE_CACHE; i++) {
		c = &s->code_type[i];
		if (c->valid && c->dev == p->obj_dev && c->ino == p->obj_inode)
			return c->vaddr ? p->load_bias + c->vaddr : 0;
	}
	ef = elf_open(p->obj_open_path);
	if (!ef)
		return 0;
	c = &s->code_type[s->code_type_next++ % CODE_TYPE_CACHE];
	c->valid = true;
	c->dev = p->obj_dev;
	c->ino = p->obj_inode;
	c->vaddr = elf_find_symbol(ef, "PyCode_Type", &sym) ? 0 : sym.value;
	elf_close(ef);
	return c->vaddr ? p->load_bias + c->vaddr : 0;
}

int sampler_add_process(struct sampler *s, const struct py_proc *p)
{
	struct py_proc_info info = {};
	__u32 pid = p->pid;
	char why[256] = "";
	int err;

	if (!p->supported)
		return -ENOTSUP;
	err = py_offsets_resolve(p, &info.off);
	if (err)
		return err;
	err = py_tstate_locate(p, &info, why, sizeof(why));
	if (err) {
		pr_err("pid %d: can't find its thread states: %s; its stacks are not walked\n",
		       p->pid, why);
		return err;
	}
	info.runtime_addr = p->runtime_addr;
	info.code_type_addr = code_type_addr(s, p);
	if (!info.code_type_addr)
		pr_warn("pid %d: PyCode_Type not found in %s; frames are not type-checked\n",
			p->pid, p->obj_path);

	err = symbolizer_add_process(s->sym, p->pid, &info.off);
	if (err)
		return err;
	argv_forget(s, p->pid); /* a reused pid */
	if (!s->no_args) {
		struct argv_proc *a = calloc(1, sizeof(*a));

		if (a) {
			a->pid = p->pid;
			a->off = info.off;
			a->ok = !argvals_types(p->obj_open_path, p->load_bias, &a->t);
			if (!a->ok)
				pr_debug("pid %d: argument sampling: type objects not found in %s\n",
					 p->pid, p->obj_path);
			a->next = s->argv[(uint32_t)p->pid % ARGV_BUCKETS];
			s->argv[(uint32_t)p->pid % ARGV_BUCKETS] = a;
		}
	}
	if (s->wall) {
		err = wall_add_process(s->wall, p);
		if (err) {
			symbolizer_remove_process(s->sym, p->pid);
			argv_forget(s, p->pid);
			return err;
		}
	}
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.proc_info), &pid, &info, BPF_ANY)) {
		err = -errno;
		pr_err("pid %d: can't register with the sampler: %s\n", p->pid, strerror(errno));
		symbolizer_remove_process(s->sym, p->pid);
		argv_forget(s, p->pid);
		return err == -E2BIG ? -ENOSPC : err;
	}
	if (s->own_tracked) {
		struct tracked t = { .state = TRACKED_PYTHON };

		if (bpf_map_update_elem(sampler_tracked_fd(s), &pid, &t, BPF_ANY)) {
			err = -errno;
			pr_err("pid %d: can't track: %s\n", p->pid, strerror(errno));
			sampler_remove_process(s, p->pid);
			return err == -E2BIG ? -ENOSPC : err;
		}
	}
	pr_debug("sampler: pid %d CPython %d.%d runtime 0x%llx PyCode_Type 0x%llx\n", p->pid,
		 p->major, p->minor, (unsigned long long)info.runtime_addr,
		 (unsigned long long)info.code_type_addr);
	return 0;
}

int sampler_remove_process(struct sampler *s, pid_t pid)
{
	__u32 key = pid;
	int err = 0;

	if (bpf_map_delete_elem(bpf_map__fd(s->skel->maps.proc_info), &key) && errno != ENOENT)
		err = -errno;
	if (s->own_tracked)
		bpf_map_delete_elem(sampler_tracked_fd(s), &key);
	if (s->wall)
		wall_remove_process(s->wall, pid);
	/* samples already queued for pid are named as "<unknown>" from here on */
	symbolizer_remove_process(s->sym, pid);
	argv_forget(s, pid);
	return err;
}

/* Parse a CPU list such as "0-3,5" into a bool array. 0 or -errno. */
static int parse_cpu_list(const char *path, bool **mask, int *n)
{
	char buf[4096], *p = buf;
	int max = -1;
	bool *m;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	m = calloc(8192, sizeof(*m));
	if (!m)
		return -ENOMEM;
	while (*p && *p != '\n') {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p || a < 0 || a >= 8192)
			goto bad;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a || b >= 8192)
				goto bad;
			p = end;
		}
		for (long c = a; c <= b; c++)
			m[c] = true;
		if (b > max)
			max = b;
		if (*p == ',')
			p++;
	}
	*mask = m;
	*n = max + 1;
	return 0;
bad:
	free(m);
	return -EINVAL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* xorshift64*: good enough to pick periods; seeded from the clock and the PID */
static uint64_t next_rand(struct sampler *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1Dull;
}

/* Period in ns of one event tick: 1 / (oversample x rate), jittered unless fixed. */
static uint64_t tick_period_ns(struct sampler *s)
{
	double hz = (double)s->freq * s->oversample;

	if (s->next_jitter_ns) {
		double u = (next_rand(s) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */

		hz *= 1.0 + (2.0 * u - 1.0) * JITTER_PCT / 100.0;
	}
	return (uint64_t)(1e9 / hz);
}

static void schedule_jitter(struct sampler *s, uint64_t now)
{
	s->next_jitter_ns = now + (JITTER_MIN_MS + next_rand(s) % (JITTER_MAX_MS - JITTER_MIN_MS +
								   1)) * 1000000ull;
}

/* New random period (and phase) for every event; failures are counted, sampling goes on. */
static void jitter_periods(struct sampler *s, uint64_t now)
{
	for (int i = 0; i < s->nlinks; i++) {
		__u64 period = tick_period_ns(s);

		if (ioctl(s->pfds[i], PERF_EVENT_IOC_PERIOD, &period))
			s->st.jitter_errors++;
		else
			s->st.jitters++;
	}
	schedule_jitter(s, now);
}

int sampler_attach(struct sampler *s)
{
	bool *online = NULL;
	int ncpus, err, i;

	if (s->wall) {
		err = wall_start(s->wall, s->freq);
		if (!err)
			pr_debug("sampler: wall-clock task iterator at %u Hz (Poisson)\n", s->freq);
		return err;
	}
	err = parse_cpu_list("/sys/devices/system/cpu/online", &online, &ncpus);
	if (err) {
		pr_err("can't read the online CPUs: %s\n", strerror(-err));
		return err;
	}
	if (!s->fixed_period) {
		s->rng = mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)s;
		if (!s->rng)
			s->rng = 1;
		schedule_jitter(s, mono_ns());
	}
	s->links = calloc(ncpus, sizeof(*s->links));
	s->pfds = malloc(ncpus * sizeof(*s->pfds));
	if (!s->links || !s->pfds) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ncpus; i++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.size = sizeof(attr),
			.sample_period = tick_period_ns(s),
		};
		struct bpf_link *l;
		int fd;

		if (!online[i])
			continue;
		fd = syscall(__NR_perf_event_open, &attr, -1, i, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			pr_err("can't open a CPU-clock perf event on CPU %d: %s\n", i,
			       strerror(errno));
			goto out;
		}
		l = bpf_program__attach_perf_event(s->skel->progs.sample_cpu, fd);
		if (!l) {
			err = -errno;
			close(fd);
			pr_err("can't attach the sampler on CPU %d: %s\n", i, strerror(errno));
			goto out;
		}
		s->links[s->nlinks] = l;
		s->pfds[s->nlinks++] = fd;
	}
	pr_debug("sampler: attached on %d CPUs at %u Hz (event at %u Hz, %s period)\n", s->nlinks,
		 s->freq, s->freq * s->oversample, s->fixed_period ? "fixed" : "jittered");
	err = 0;
out:
	free(online);
	return err;
}

int sampler_poll(struct sampler *s, int timeout_ms)
{
	int n;

	if (s->wall) {
		/* wall samples come without wakeups: wait, then read what is there */
		if (timeout_ms > 0)
			usleep(timeout_ms * 1000);
		return ring_buffer__consume(s->rb);
	}
	n = ring_buffer__poll(s->rb, timeout_ms);

	if (!s->fixed_period && s->nlinks && !s->wall) {
		uint64_t now = mono_ns();

		if (now >= s->next_jitter_ns)
			jitter_periods(s, now);
	}
	return n;
}

int sampler_stats(struct sampler *s, struct sampler_stats *st)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(s->skel->maps.stats);
	__u64 *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < SMP_STAT_MAX; k++) {
		s->st.bpf[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			s->st.bpf[k] += vals[c];
	}
	free(vals);
	symbolizer_get_stats(s->sym, &s->st.sym);
	if (s->wall) {
		struct wall_stats ws;

		wall_get_stats(s->wall, &ws);
		s->st.wall_runs = ws.runs;
		s->st.wall_run_ns = ws.run_ns;
		s->st.wall_late = ws.late;
		s->st.wall_errors = ws.errors;
		s->st.gil_unknown = ws.gil_unknown;
	}
	*st = s->st;
	return 0;
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	wall_free(s->wall);
	for (int i = 0; i < ARGV_BUCKETS; i++)
		while (s->argv[i])
			argv_forget(s, s->argv[i]->pid);
	for (int i = 0; i < PH_SYSCALL_FRAMES; i++)
		free(s->syscall_frames[i]);
	for (int i = 0; i < s->nlinks; i++) {
		bpf_link__destroy(s->links[i]);
		close(s->pfds[i]);
	}
	free(s->links);
	free(s->pfds);
	ring_buffer__free(s->rb);
	sampler_bpf__destroy(s->skel);
	symbolizer_free(s->sym);
	free(s);
}

struct symbolizer *sampler_symbolizer(const struct sampler *s)
{
	return s->sym;
}

int sampler_proc_info_fd(const struct sampler *s)
{
	return bpf_map__fd(s->skel->maps.proc_info);
}

struct bpf_object *sampler_bpf_object(const struct sampler *s)
{
	return s->skel->obj;
}

uint64_t sampler_sample_ns(const struct sampler *s)
{
	return s->sample_ns;
}

void sampler_leaf(const struct sampler *s, const char **op, int *loop_depth)
{
	*op = s->has_op ? s->op : NULL;
	*loop_depth = s->has_op ? s->op_depth : 0;
}
