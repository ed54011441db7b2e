// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CPU sampling of CPython stacks. One perf_event program per CPU (CPU-clock software event):
 * for a tracked process, find the interrupted thread's PyThreadState (py_tstate()), walk its
 * frames (innermost first; both in bpf/pystack.bpf.h) and send code object, fingerprint and
 * instruction offset per frame; names and lines are resolved in userspace (user/symbolize.c). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "procwatch.h"
#include "sampler.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "tracked.bpf.h"

/* PID -> offsets and addresses of its interpreter; sized by userspace (max processes) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct py_proc_info);
} proc_info SEC(".maps");

/* Unaliased sampling: the perf event runs targ_oversample times faster than the requested rate
 * and each tick is kept with probability 1/targ_oversample (kept when a random 32-bit number is
 * below targ_keep_below), so that the kept samples form a Poisson-like process at the requested
 * rate and no program with a fixed period can lock onto them. 0xffffffff: keep every tick. */
const volatile __u32 targ_keep_below = 0xffffffff;

/* Argument sampling: copy the leaf frame's first argument slots (struct ph_args) after the
 * frames. Off (0) in benchmarks that measure without it. */
const volatile __u32 targ_args = 1;

/* x86_64 kernel stack size (THREAD_SIZE: 16 KiB, 32 KiB with KASAN); set before load if needed */
const volatile __u32 targ_thread_size = 16384;

/* A thread interrupted in kernel mode: is it in a syscall, or in the kernel for an interrupt,
 * fault or preemption? Its user registers (pt_regs at the top of its kernel stack, 0 or 16 bytes
 * below the end with FRED) say: orig_ax holds the syscall number, or a negative value. When
 * they cannot be found, kernel mode counts as a syscall. */
static __always_inline bool in_syscall(struct task_struct *task)
{
	__u64 top = (__u64)BPF_CORE_READ(task, stack) + targ_thread_size;
	struct pt_regs r;

	for (int pad = 0; pad <= 16; pad += 16) {
		if (bpf_probe_read_kernel(&r, sizeof(r), (void *)(top - pad - sizeof(r))))
			continue;
		if ((r.cs & 0xffff) == 0x33 && (r.ss & 0xffff) == 0x2b) /* __USER_CS, __USER_DS */
			return (long)r.orig_ax >= 0;
	}
	return true;
}

/* samples to userspace; size set by userspace (default 8 MiB) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} samples SEC(".maps");

/* enum ph_sampler_stat counters */
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

/* the interrupted thread is the current one */
static __always_inline long py_read(void *ctx, void *dst, __u32 size, __u64 addr)
{
	return bpf_probe_read_user(dst, size, (const void *)addr);
}

#include "pystack.bpf.h"

/* The leaf frame's argument slots and co_argcount into the record, right after its n frames
 * (n <= PH_MAX_FRAMES - 2: the 40 bytes fit in the sample buffer). 0, or -1 (none sent). */
static __always_inline int leaf_args(struct walk_state *w, __u32 n)
{
	struct ph_args *a;
	__u32 argc = 0;

	if (!w->leaf || w->off.frame_localsplus == PY_OFF_NONE || n > PH_MAX_FRAMES - 2)
		return -1;
	a = (struct ph_args *)&w->s.frames[n];
	if (bpf_probe_read_user(&argc, sizeof(argc),
				(const void *)(w->s.frames[0].code + w->off.code_argcount)))
		return -1;
	if (bpf_probe_read_user(a->slot, sizeof(a->slot),
				(const void *)(w->leaf + w->off.frame_localsplus)))
		return -1;
	a->argcount = argc;
	a->pad = 0;
	return 0;
}

SEC("perf_event")
int sample_cpu(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id, size, err = 0;
	struct task_struct *task;
	struct py_proc_info *info;
	struct walk_state *w;
	struct ph_sample *s;
	__u64 fsbase, tstate = 0;
	struct tracked *tr;

	if (!pid)
		return 0;
	/* thinning first: a discarded tick costs this test and one per-CPU counter */
	if (targ_keep_below != 0xffffffff && bpf_get_prandom_u32() > targ_keep_below) {
		count(SMP_THINNED);
		return 0;
	}
	tr = bpf_map_lookup_elem(&tracked_pids, &pid);
	/* pending processes (exec'd, not yet classified) are not sampled */
	if (!tr || tr->state != TRACKED_PYTHON)
		return 0;
	info = bpf_map_lookup_elem(&proc_info, &pid);
	if (!info) {
		count(SMP_ERR_NO_INFO);
		return 0;
	}

	/* the interrupted thread's PyThreadState: pthread_getspecific(autoTSSkey) */
	task = (struct task_struct *)bpf_get_current_task();
	fsbase = BPF_CORE_READ(task, thread.fsbase);
	err = py_tstate(NULL, info, fsbase, &tstate);
	if (err) {
		count(err);
		return 0;
	}
	w = py_walk(NULL, info, tstate, &err);
	if (!w) {
		count(err);
		return 0;
	}
	s = &w->s;
	s->pid = pid;
	s->tid = tid;
	if (s->flags & PH_SAMPLE_TRUNCATED)
		count(SMP_TRUNCATED);
	/* interrupted in the kernel (x86_64 kernel addresses are in the upper half) */
	if ((__s64)PT_REGS_IP(&ctx->regs) < 0 && in_syscall(task))
		s->flags |= PH_SAMPLE_IN_SYSCALL;
	s->ts_ns = bpf_ktime_get_ns();
	size = s->nframes;
	if (size > PH_MAX_FRAMES)
		size = PH_MAX_FRAMES;
	if (targ_args && !(s->flags & PH_SAMPLE_IN_SYSCALL) && !leaf_args(w, size)) {
		s->flags |= PH_SAMPLE_ARGS;
		size = PH_SAMPLE_HDR_SIZE + size * sizeof(struct ph_frame) + sizeof(struct ph_args);
	} else {
		size = PH_SAMPLE_HDR_SIZE + size * sizeof(struct ph_frame);
	}
	if (bpf_ringbuf_output(&samples, s, size, 0)) {
		count(SMP_DROP_RINGBUF);
		return 0;
	}
	count(SMP_SAMPLES);
	return 0;
}
