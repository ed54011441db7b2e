// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CPU sampling of CPython stacks. One perf_event program per CPU (CPU-clock software event):
 * for a tracked process, find the interrupted thread's PyThreadState (thread_tstate()), walk
 * its frames (innermost first) and send code object, fingerprint and instruction offset per
 * frame; names and lines are resolved in userspace (user/symbolize.c). */
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

/* The walk in progress on this CPU: the sample being built (too big for the BPF stack) and
 * the walker's state. Kept in a map value rather than on the stack so that the verifier does
 * not track the loop counters precisely across bpf_loop iterations (fewer states). */
struct walk_state {
	struct ph_sample s;
	struct py_offsets off;
	__u64 code_type;
	__u64 frame; /* next frame to look at; 0 at the end of the chain */
	__u32 n;     /* frames recorded */
	__u32 err;   /* enum ph_sampler_stat, 0: none */
	__u32 skipped;
	__u32 truncated;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_state);
} scratch SEC(".maps");

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

static __always_inline void count(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &what);

	if (v)
		(*v)++;
}

static __always_inline int read_u64(__u64 *dst, __u64 addr)
{
	return bpf_probe_read_user(dst, sizeof(*dst), (const void *)addr);
}

static long walk_step(__u32 i, void *data)
{
	__u32 zero = 0, n;
	struct walk_state *w = bpf_map_lookup_elem(&scratch, &zero);
	__u64 frame, code = 0, name = 0, next = 0, type = 0;
	struct ph_frame *f;
	__s32 instr = -1;
	__u32 first = 0;

	if (!w)
		return 1;
	frame = w->frame;
	if (!frame)
		return 1;
	/* C-stack entry shims (3.12+): not Python code */
	if (w->off.frame_owner_skip != PY_OFF_NONE) {
		__u8 owner = 0;

		if (bpf_probe_read_user(&owner, 1, (const void *)(frame + w->off.frame_owner))) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		if (owner >= w->off.frame_owner_skip)
			goto skip;
	}
	if (read_u64(&code, frame + w->off.frame_code)) {
		w->err = SMP_ERR_READ;
		return 1;
	}
	/* 3.14+: f_executable is a _PyStackRef; its low bits are tags */
	code &= ~(__u64)w->off.frame_code_tag;
	if (!code) {
		w->err = SMP_ERR_READ;
		return 1;
	}
	if (w->code_type) {
		if (read_u64(&type, code + w->off.ob_type)) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		if (type != w->code_type) {
			/* 3.13: f_executable may be None (or another callable) on shims */
			if (w->off.walk_kind == PY_WALK_CURFRAME)
				goto skip;
			w->err = SMP_ERR_BAD_CODE;
			return 1;
		}
	}
	n = w->n;
	if (n >= PH_MAX_FRAMES) {
		/* one more real frame than we keep: the stack is truncated */
		w->truncated = 1;
		return 1;
	}
	if (w->off.lasti_kind == PY_LASTI_PTR) {
		__u64 ip = 0;

		if (read_u64(&ip, frame + w->off.frame_lasti)) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		instr = (__s32)(__s64)(ip - code - w->off.code_adaptive);
	} else {
		if (bpf_probe_read_user(&instr, 4, (const void *)(frame + w->off.frame_lasti))) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		if (w->off.lasti_kind == PY_LASTI_UNITS && instr > 0)
			instr *= 2;
	}
	if (bpf_probe_read_user(&first, 4, (const void *)(code + w->off.code_firstlineno)) ||
	    read_u64(&name, code + w->off.code_name)) {
		w->err = SMP_ERR_READ;
		return 1;
	}
	f = &w->s.frames[n];
	f->code = code;
	f->name = name;
	f->instr = instr;
	f->first_line = first;
	w->n = n + 1;
	goto next;
skip:
	w->skipped++;
next:
	if (read_u64(&next, frame + w->off.frame_back)) {
		w->err = SMP_ERR_READ;
		return 1;
	}
	w->frame = next;
	return next ? 0 : 1;
}

/* The thread's PyThreadState, or 0 (counted): pthread_getspecific(autoTSSkey) through glibc's
 * thread-specific data (3.8-3.14), or the thread-local _Py_tss_gilstate (3.15+). */
static __always_inline __u64 thread_tstate(const struct py_proc_info *info, __u64 fsbase)
{
	__u64 tstate = 0;
	__s32 key = -1;

	if (info->tstate_src == PH_TSTATE_TLS) {
		if (read_u64(&tstate, fsbase + info->tls_offset) || !tstate) {
			count(SMP_ERR_NO_TSTATE);
			return 0;
		}
		return tstate;
	}
	if (bpf_probe_read_user(&key, sizeof(key),
				(const void *)(info->runtime_addr + info->off.runtime_tsskey)) ||
	    key < 0 || (__u32)key >= info->tsd_max_keys) {
		count(SMP_ERR_TSS_KEY);
		return 0;
	}
	if (read_u64(&tstate, fsbase + info->tsd_base + (__u64)key * info->tsd_stride) || !tstate) {
		count(SMP_ERR_NO_TSTATE);
		return 0;
	}
	return tstate;
}

SEC("perf_event")
int sample_cpu(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id, zero = 0, size;
	struct task_struct *task;
	struct py_proc_info *info;
	struct walk_state *w;
	struct ph_sample *s;
	__u64 fsbase, tstate, thread_id = 0, frame = 0;
	struct tracked *tr;

	if (!pid)
		return 0;
	tr = bpf_map_lookup_elem(&tracked_pids, &pid);
	/* pending processes (exec'd, not yet classified) are not sampled */
	if (!tr || tr->state != TRACKED_PYTHON)
		return 0;
	info = bpf_map_lookup_elem(&proc_info, &pid);
	if (!info) {
		count(SMP_ERR_NO_INFO);
		return 0;
	}

	task = (struct task_struct *)bpf_get_current_task();
	fsbase = BPF_CORE_READ(task, thread.fsbase);
	tstate = thread_tstate(info, fsbase);
	if (!tstate)
		return 0;
	if (read_u64(&thread_id, tstate + info->off.tstate_thread_id) || thread_id != fsbase) {
		count(SMP_ERR_TSTATE_MISMATCH);
		return 0;
	}

	/* the innermost frame */
	if (read_u64(&frame, tstate + info->off.tstate_frame)) {
		count(SMP_ERR_READ);
		return 0;
	}
	if (info->off.walk_kind == PY_WALK_CFRAME && frame &&
	    read_u64(&frame, frame + info->off.cframe_current_frame)) {
		count(SMP_ERR_READ);
		return 0;
	}
	if (!frame) {
		count(SMP_EMPTY);
		return 0;
	}

	w = bpf_map_lookup_elem(&scratch, &zero);
	if (!w)
		return 0;
	w->off = info->off;
	w->code_type = info->code_type_addr;
	w->frame = frame;
	w->n = 0;
	w->err = 0;
	w->skipped = 0;
	w->truncated = 0;
	bpf_loop(PH_MAX_FRAMES + PH_WALK_EXTRA, walk_step, NULL, 0);
	if (w->err) {
		count(w->err);
		return 0;
	}
	if (w->skipped) {
		__u32 k = SMP_SKIPPED_FRAMES;
		__u64 *v = bpf_map_lookup_elem(&stats, &k);

		if (v)
			*v += w->skipped;
	}
	/* frames left when the walk stopped (frame limit or loop bound): truncated */
	if (w->frame)
		w->truncated = 1;
	if (!w->n) {
		count(SMP_EMPTY);
		return 0;
	}

	s = &w->s;
	s->pid = pid;
	s->tid = tid;
	s->flags = 0;
	if (w->truncated) {
		s->flags |= PH_SAMPLE_TRUNCATED;
		count(SMP_TRUNCATED);
	}
	/* interrupted in the kernel (x86_64 kernel addresses are in the upper half) */
	if ((__s64)PT_REGS_IP(&ctx->regs) < 0 && in_syscall(task))
		s->flags |= PH_SAMPLE_IN_SYSCALL;
	s->ts_ns = bpf_ktime_get_ns();
	size = w->n;
	if (size > PH_MAX_FRAMES)
		size = PH_MAX_FRAMES;
	s->nframes = size;
	size = PH_SAMPLE_HDR_SIZE + size * sizeof(struct ph_frame);
	if (bpf_ringbuf_output(&samples, s, size, 0)) {
		count(SMP_DROP_RINGBUF);
		return 0;
	}
	count(SMP_SAMPLES);
	return 0;
}
