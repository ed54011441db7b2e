// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/log.h"
#include "lib/ringbuf.h"
#include "memory.skel.h"
#include "collect/memory.h"

#define PAGE_BYTES 4096ull

struct mem_collector {
	struct memory_bpf *skel;
	struct ring_buffer *rb;
	struct symbolizer *sym;
	mem_cb cb;
	void *ctx;
	struct mem_stats st;
	struct prof_frame frames[PH_MAX_FRAMES];
};

static const char *const stat_names[MEM_STAT_MAX] = {
	[MEM_READS] = "counter_reads",
	[MEM_FLUSHES] = "counter_growths",
	[MEM_SAMPLES] = "growth_samples",
	[MEM_NO_STACK] = "no_python_stack",
	[MEM_NO_ADDR] = "no_fault_address",
	[MEM_MAPS] = "large_mappings",
	[MEM_RELEASES] = "releases",
	[MEM_MOVES] = "moves",
	[MEM_DROP_RINGBUF] = "drop_ringbuf",
	[MEM_PROCS_FULL] = "procs_full",
	[MEM_WALK_NS] = "walk_ns",
};

const char *mem_stat_name(unsigned int stat)
{
	return stat < MEM_STAT_MAX && stat_names[stat] ? stat_names[stat] : "?";
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct mem_collector *m = ctx;
	const struct ph_mem_event *e = data;
	struct mem_event ev = {};
	uint32_t n, out = 0;

	if (size < PH_MEM_EVENT_HDR || e->s.nframes > PH_MAX_FRAMES ||
	    size < PH_MEM_EVENT_HDR + e->s.nframes * sizeof(struct ph_frame)) {
		m->st.bad_records++;
		return 0;
	}
	n = e->s.nframes;
	for (uint32_t i = n; i-- > 0;) {
		const struct ph_frame *f = &e->s.frames[i];
		int err = symbolizer_frame(m->sym, e->s.pid, f->code, f->name, f->first_line,
					   f->instr, &m->frames[out]);

		if (err == 1)
			continue;
		if (err < 0)
			m->st.unknown_frames++;
		out++;
	}
	ev.kind = e->kind;
	ev.aux = e->aux;
	ev.pid = e->s.pid;
	ev.tid = e->s.tid;
	ev.addr = e->addr;
	ev.addr2 = e->addr2;
	ev.len = e->len;
	ev.frames = m->frames;
	ev.nframes = out;
	ev.truncated = e->s.flags & PH_SAMPLE_TRUNCATED;
	m->st.received++;
	if (m->cb)
		m->cb(m->ctx, &ev);
	return 0;
}

int mem_open(const struct mem_opts *opts, int tracked_fd, int proc_info_fd,
	     struct symbolizer *sym, struct mem_collector **out)
{
	unsigned int max_procs = opts->max_procs ? opts->max_procs : 4096;
	unsigned int rb_bytes = ringbuf_bytes(opts->ringbuf_kb ? opts->ringbuf_kb : 4096);
	struct mem_collector *m;
	int err;

	if (max_procs > PH_MAX_PROCS)
		max_procs = PH_MAX_PROCS;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->sym = sym;
	m->cb = opts->cb;
	m->ctx = opts->ctx;
	m->skel = memory_bpf__open();
	if (!m->skel) {
		err = -errno;
		pr_err("can't open the memory BPF object: %s", strerror(errno));
		goto err_free;
	}
	m->skel->rodata->targ_period = opts->period ? opts->period : PH_MEM_PERIOD_DEFAULT;
	m->skel->rodata->targ_large = opts->large ? opts->large : PH_MEM_LARGE_DEFAULT;
	bpf_map__set_max_entries(m->skel->maps.mem_procs, max_procs);
	bpf_map__set_max_entries(m->skel->maps.mem_events, rb_bytes);
	if ((err = bpf_map__reuse_fd(m->skel->maps.tracked_pids, tracked_fd)) ||
	    (err = bpf_map__reuse_fd(m->skel->maps.proc_info, proc_info_fd))) {
		pr_err("can't share the sampler's maps with the memory collector: %s",
		       strerror(-err));
		goto err_skel;
	}
	err = memory_bpf__load(m->skel);
	if (err) {
		pr_err("can't load the memory collector (per-CPU RSS counters, Linux 6.2+): %s",
		       strerror(-err));
		goto err_skel;
	}
	m->rb = ring_buffer__new(bpf_map__fd(m->skel->maps.mem_events), handle_event, m, NULL);
	if (!m->rb) {
		err = -errno;
		pr_err("can't create the memory ring buffer: %s", strerror(errno));
		goto err_skel;
	}
	*out = m;
	return 0;
err_skel:
	memory_bpf__destroy(m->skel);
err_free:
	free(m);
	return err;
}

int mem_attach(struct mem_collector *m)
{
	int err = memory_bpf__attach(m->skel);

	if (err)
		pr_err("can't attach the memory collector (page_fault_user/kernel tracepoints, "
		       "sys_exit): %s", strerror(-err));
	return err;
}

int mem_poll(struct mem_collector *m, int timeout_ms)
{
	int n;

	/* events come without wake-ups (BPF_RB_NO_WAKEUP): wait, then read what is there */
	if (timeout_ms > 0)
		usleep(timeout_ms * 1000);
	n = ring_buffer__consume(m->rb);
	return n == -EINTR ? 0 : n;
}

int mem_totals(struct mem_collector *m, pid_t pid, struct mem_totals *t)
{
	struct ph_mem_proc mp;
	__u32 key = pid;

	memset(t, 0, sizeof(*t));
	if (bpf_map_lookup_elem(bpf_map__fd(m->skel->maps.mem_procs), &key, &mp))
		return -ENOENT;
	for (int i = 0; i < PH_MM_COUNTERS; i++) {
		t->grown[i] = mp.grown[i] * PAGE_BYTES;
		t->released[i] = mp.released[i] * PAGE_BYTES;
	}
	return 0;
}

void mem_forget(struct mem_collector *m, pid_t pid)
{
	__u32 key = pid;

	bpf_map_delete_elem(bpf_map__fd(m->skel->maps.mem_procs), &key);
}

static void sum_percpu(int fd, unsigned int n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu < 0)
		return;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 k = 0; k < n; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
}

int mem_get_stats(struct mem_collector *m, struct mem_stats *st)
{
	struct bpf_program *prog;
	unsigned int n = 0;

	sum_percpu(bpf_map__fd(m->skel->maps.mem_stats), MEM_STAT_MAX, m->st.bpf);
	sum_percpu(bpf_map__fd(m->skel->maps.walk_stats), SMP_STAT_MAX, m->st.walk);
	bpf_object__for_each_program(prog, m->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (n >= MEM_MAX_PROGS)
			break;
		m->st.prog[n].name = bpf_program__name(prog);
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) {
			m->st.prog[n].runs = info.run_cnt;
			m->st.prog[n].ns = info.run_time_ns;
		}
		n++;
	}
	m->st.nprogs = n;
	*st = m->st;
	return 0;
}

struct bpf_object *mem_bpf_object(const struct mem_collector *m)
{
	return m->skel->obj;
}

void mem_free(struct mem_collector *m)
{
	if (!m)
		return;
	ring_buffer__free(m->rb);
	memory_bpf__destroy(m->skel);
	free(m);
}
