// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Wall-clock sampling of CPython stacks. A sleepable task iterator, run by userspace at the
 * sampling rate (user/collect/wall.c), visits every thread on the host; for each thread of a
 * tracked process it walks the Python stack with bpf_copy_from_user_task (the thread need not
 * be running) and says what the thread is doing: on a CPU, runnable, blocked on the GIL (a
 * futex inside the interpreter's struct _gil_runtime_state: its mutex or condition variables),
 * or blocked in a syscall (its number from the saved user registers, orig_ax). In gil mode only
 * the thread holding the GIL (locked, and last_holder is its PyThreadState) is kept.
 * Maps shared with bpf/sampler.bpf.c (same fds): tracked_pids, proc_info, samples, stats. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "procwatch.h"
#include "sampler.h"
#include "wall.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "tracked.bpf.h"

#define X86_NR_FUTEX 202

/* enum ph_wall_mode: PH_MODE_WALL or PH_MODE_GIL */
const volatile __u32 targ_mode = PH_MODE_WALL;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct py_proc_info);
} proc_info SEC(".maps");

/* PID -> where its GIL is; sized by userspace (max processes) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct ph_gil_info);
} gil_info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SMP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count_n(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &what);

	if (v)
		*v += n;
}

static __always_inline void count(__u32 what)
{
	count_n(what, 1);
}

struct read_ctx {
	struct task_struct *task;
};

/* another thread's memory: ctx is a struct read_ctx */
static __always_inline long py_read(void *ctx, void *dst, __u32 size, __u64 addr)
{
	struct read_ctx *rc = ctx;

	return bpf_copy_from_user_task(dst, size, (const void *)addr, rc->task, 0);
}

#include "pystack.bpf.h"

/* task->__state (5.14+) or task->state */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)t, state);
}

/* Address and size of the process's GIL, 0 when unknown (interpreter not initialised). */
static __always_inline __u64 gil_addr(struct read_ctx *rc, const struct ph_gil_info *g)
{
	__u64 interp = 0, gil = 0;

	if (g->gil_addr)
		return g->gil_addr;
	if (!g->interp_addr || py_read(rc, &interp, 8, g->interp_addr) || !interp ||
	    py_read(rc, &gil, 8, interp + g->interp_gil))
		return 0;
	return gil;
}

/* Does tstate hold the GIL (locked and last_holder == tstate)? */
static __always_inline bool holds_gil(struct read_ctx *rc, const struct ph_gil_info *g,
				      __u64 gil, __u64 tstate)
{
	__u64 holder = 0;
	__s32 locked = 0;

	if (!gil || py_read(rc, &locked, 4, gil + g->gil_locked) ||
	    py_read(rc, &holder, 8, gil + g->gil_holder))
		return false;
	return locked && holder == tstate;
}

/* Was task running until this sampling thread took its CPU? Then it is sampled as running (as
 * it would be without pyhound), not as waiting for a CPU. Exact: the scheduler stamps the
 * preempted task's sched_info.last_queued and the incoming task's last_arrival with the same
 * runqueue clock reading, on the same CPU. Needs CONFIG_SCHED_INFO (false without it). */
static __always_inline bool displaced(struct task_struct *task)
{
	struct task_struct *me = (struct task_struct *)bpf_get_current_task();
	__u64 queued, arrived;

	if (!bpf_core_field_exists(task->sched_info.last_queued))
		return false;
	if (BPF_CORE_READ(task, thread_info.cpu) != bpf_get_smp_processor_id())
		return false;
	queued = BPF_CORE_READ(task, sched_info.last_queued);
	arrived = BPF_CORE_READ(me, sched_info.last_arrival);
	return queued && queued == arrived;
}

SEC("iter.s/task")
int wall_sample(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct read_ctx rc;
	const struct py_proc_info *info;
	const struct ph_gil_info *g;
	struct walk_state *w;
	struct ph_sample *s;
	struct tracked *tr;
	__u32 pid, tid, size, err = 0, state, nr = 0, wstate;
	__u64 fsbase, tstate = 0, gil = 0;
	bool held;

	if (!task) {
		/* called once more at the end of each run */
		count(SMP_WALL_TICKS);
		return 0;
	}
	pid = task->tgid;
	tid = task->pid;
	tr = bpf_map_lookup_elem(&tracked_pids, &pid);
	if (!tr || tr->state != TRACKED_PYTHON)
		return 0;
	info = bpf_map_lookup_elem(&proc_info, &pid);
	if (!info) {
		count(SMP_ERR_NO_INFO);
		return 0;
	}
	/* a thread on its way out, or a kernel thread */
	if (!task->mm || (task->flags & 0x00000004 /* PF_EXITING */))
		return 0;
	count(SMP_WALL_THREADS);
	rc.task = task;
	fsbase = task->thread.fsbase;
	err = py_tstate(&rc, info, fsbase, &tstate);
	if (err) {
		count(err);
		return 0;
	}
	g = bpf_map_lookup_elem(&gil_info, &pid);
	if (g)
		gil = gil_addr(&rc, g);
	held = g && holds_gil(&rc, g, gil, tstate);
	if (targ_mode == PH_MODE_GIL && !held) {
		count(SMP_WALL_NOT_HOLDER);
		return 0;
	}

	/* what the thread is doing */
	state = task_state(task);
	if (task->on_cpu) {
		wstate = PH_WALL_ONCPU;
	} else if (state == 0 /* TASK_RUNNING */) {
		wstate = PH_WALL_RUNNABLE;
		if (displaced(task)) {
			wstate = PH_WALL_ONCPU;
			count(SMP_WALL_DISPLACED);
		}
	} else {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
		long orig_ax = regs ? BPF_CORE_READ(regs, orig_ax) : -1;

		if (orig_ax < 0) {
			wstate = PH_WALL_BLOCKED;
		} else {
			nr = orig_ax;
			wstate = PH_WALL_SYSCALL;
			if (nr == X86_NR_FUTEX && g && gil) {
				__u64 uaddr = BPF_CORE_READ(regs, di);

				if (uaddr >= gil && uaddr < gil + g->gil_size)
					wstate = PH_WALL_GIL;
			}
		}
	}

	w = py_walk(&rc, info, tstate, &err);
	if (!w) {
		count(err);
		return 0;
	}
	s = &w->s;
	s->pid = pid;
	s->tid = tid;
	if (s->flags & PH_SAMPLE_TRUNCATED)
		count(SMP_TRUNCATED);
	s->flags |= PH_SAMPLE_WALL | PH_WALL_FLAGS(wstate, nr);
	if (held)
		s->flags |= PH_SAMPLE_GIL_HELD;
	s->ts_ns = bpf_ktime_get_ns();
	size = s->nframes;
	if (size > PH_MAX_FRAMES)
		size = PH_MAX_FRAMES;
	size = PH_SAMPLE_HDR_SIZE + size * sizeof(struct ph_frame);
	/* no wakeup per sample: the consumer would run (and displace the threads being sampled)
	 * in the middle of a run; it reads the ring buffer on its own timer */
	if (bpf_ringbuf_output(&samples, s, size, BPF_RB_NO_WAKEUP)) {
		count(SMP_DROP_RINGBUF);
		return 0;
	}
	count(SMP_SAMPLES);
	return 0;
}
