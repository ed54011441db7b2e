// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Exact Python call counts and per-call latency per (process, code object), from uprobes on the
 * eval loop's opcode handlers (or the entry block of _PyEval_EvalFrameDefault before 3.11) and
 * USDT function__return. The probes are attached per binary for every process (pid -1): the
 * tracked_pids lookup below is all an untracked process pays beyond the uprobe itself. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "calls.h"
#include "hist.h"
#include "procwatch.h"
#include "py_offsets.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* shared with procwatch (userspace reuses its fd before load) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tracked);
} tracked_pids SEC(".maps");

/* PID -> how to find its frames; sized by userspace (--max-procs) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct calls_proc);
} calls_procs SEC(".maps");

/* thread id -> calls in progress. LRU: a thread that exits mid-call must not pin a slot. Sized
 * by userspace (threads). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct calls_shadow);
} calls_shadow SEC(".maps");

/* (process, code object) -> counts and latency; sized by userspace (--max-stats) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct calls_key);
	__type(value, struct calls_stats);
} calls_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CC_MAX);
	__type(key, __u32);
	__type(value, __u64);
} calls_counters SEC(".maps");

static const struct calls_shadow zero_shadow;
static const struct calls_stats zero_stats;

static __always_inline void count(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&calls_counters, &what);

	if (v)
		(*v)++;
}

static __always_inline void add(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&calls_counters, &what);

	if (v)
		*v += n;
}

static __always_inline int read_u64(__u64 *dst, __u64 addr)
{
	return bpf_probe_read_user(dst, sizeof(*dst), (const void *)addr);
}

/* the registered process of the current task, or NULL (not tracked / not registered) */
static __always_inline struct calls_proc *this_proc(__u32 pid, __u32 hit)
{
	struct tracked *tr = bpf_map_lookup_elem(&tracked_pids, &pid);
	struct calls_proc *p;

	if (!tr || tr->state != TRACKED_PYTHON)
		return NULL;
	count(hit);
	p = bpf_map_lookup_elem(&calls_procs, &pid);
	if (!p)
		count(CC_ERR_NO_PROC);
	return p;
}

/* this thread's innermost frame, through its PyThreadState (autoTSSkey), or 0 */
static __always_inline __u64 current_frame(struct calls_proc *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 fsbase = BPF_CORE_READ(task, thread.fsbase), tstate = 0, tid = 0, frame = 0;
	__s32 key = p->tss_key;

	if ((key < 0 && bpf_probe_read_user(&key, sizeof(key),
					    (const void *)(p->runtime_addr + p->runtime_tsskey))) ||
	    key < 0 || (__u32)key >= p->tsd_max_keys ||
	    read_u64(&tstate, fsbase + p->tsd_base + (__u64)key * p->tsd_stride) || !tstate ||
	    read_u64(&tid, tstate + p->tstate_thread_id) || tid != fsbase) {
		count(CC_ERR_TSTATE);
		return 0;
	}
	if (read_u64(&frame, tstate + p->tstate_frame) ||
	    (p->cframe_current_frame != PY_OFF_NONE && frame &&
	     read_u64(&frame, frame + p->cframe_current_frame))) {
		count(CC_ERR_READ);
		return 0;
	}
	return frame;
}

static __always_inline struct calls_stats *stats_of(__u32 pid, __u64 code)
{
	struct calls_key k = { .pid = pid, .code = code };
	struct calls_stats *s = bpf_map_lookup_elem(&calls_stats, &k);

	if (s)
		return s;
	bpf_map_update_elem(&calls_stats, &k, &zero_stats, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&calls_stats, &k);
	if (!s)
		count(CC_DROP_STATS_FULL);
	return s;
}

static __always_inline struct calls_shadow *shadow_of(__u32 tid, bool create)
{
	struct calls_shadow *sh = bpf_map_lookup_elem(&calls_shadow, &tid);

	if (sh || !create)
		return sh;
	bpf_map_update_elem(&calls_shadow, &tid, &zero_shadow, BPF_NOEXIST);
	sh = bpf_map_lookup_elem(&calls_shadow, &tid);
	if (!sh)
		count(CC_DROP_SHADOW);
	return sh;
}

/* A call starts: count it and push (frame, ts). A live frame is never at the address of a new
 * one, so an entry with the same frame address is a call left by exception: drop it and what
 * is above it. */
static __always_inline void push(__u32 pid, __u32 tid, __u64 frame, __u64 code)
{
	struct calls_stats *s = stats_of(pid, code);
	struct calls_shadow *sh;
	__u32 d, i, n, unwound = 0;

	count(CC_CALLS);
	if (s)
		__sync_fetch_and_add(&s->calls, 1);
	sh = shadow_of(tid, true);
	if (!sh)
		return;
	d = sh->depth;
	n = d < CALLS_STACK_DEPTH ? d : CALLS_STACK_DEPTH;
	for (i = 0; i < CALLS_STACK_DEPTH; i++) {
		struct calls_frame *e;

		if (i >= n)
			break;
		e = &sh->ent[(d - 1 - i) & (CALLS_STACK_DEPTH - 1)];
		if (e->frame == frame) {
			unwound = i + 1;
			break;
		}
	}
	if (unwound) {
		d -= unwound;
		count(CC_UNWOUND);
	}
	if (d >= CALLS_STACK_DEPTH)
		count(CC_OVERFLOW);
	sh->ent[d & (CALLS_STACK_DEPTH - 1)].frame = frame;
	sh->ent[d & (CALLS_STACK_DEPTH - 1)].code = code;
	sh->ent[d & (CALLS_STACK_DEPTH - 1)].ts = bpf_ktime_get_ns();
	sh->depth = d + 1;
}

/* A frame returns: pop down to its entry (deeper ones left by exception) and time it. */
static __always_inline void pop(__u32 pid, __u32 tid, __u64 frame)
{
	__u64 now = bpf_ktime_get_ns(), code = 0, ts = 0, ns, old;
	struct calls_shadow *sh = shadow_of(tid, false);
	struct calls_stats *s;
	__u32 d, i, n, found = 0;

	if (!sh) {
		count(CC_UNMATCHED);
		return;
	}
	d = sh->depth;
	n = d < CALLS_STACK_DEPTH ? d : CALLS_STACK_DEPTH;
	for (i = 0; i < CALLS_STACK_DEPTH; i++) {
		struct calls_frame *e;

		if (i >= n)
			break;
		e = &sh->ent[(d - 1 - i) & (CALLS_STACK_DEPTH - 1)];
		if (e->frame == frame) {
			code = e->code;
			ts = e->ts;
			found = i + 1;
			break;
		}
	}
	if (!found) {
		count(CC_UNMATCHED);
		return;
	}
	sh->depth = d - found;
	if (found > 1)
		count(CC_UNWOUND);
	s = stats_of(pid, code);
	if (!s)
		return;
	ns = now - ts;
	if (found > 1)
		__sync_fetch_and_add(&s->unwound, found - 1);
	__sync_fetch_and_add(&s->timed, 1);
	__sync_fetch_and_add(&s->total_ns, ns);
	__sync_fetch_and_add(&s->lat[ph_log2_slot(ns, CALLS_LAT_SLOTS)], 1);
	old = s->max_ns;
	if (ns > old)
		s->max_ns = ns;
}

/* 3.8-3.10: the entry block of _PyEval_EvalFrameDefault(tstate?, frame, throwflag): a frame
 * whose f_lasti is still -1 starts; others are generators resuming. */
static __always_inline int do_eval_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), frame, code = 0;
	__u32 pid = id >> 32;
	struct calls_proc *p = this_proc(pid, CC_HIT_ENTRY);
	__u64 a1, a2;
	__s32 lasti = 0;

	if (!p)
		return 0;
	a1 = PT_REGS_PARM1(ctx);
	a2 = PT_REGS_PARM2(ctx);
	barrier_var(a1); /* both loads at constant ctx offsets, as the verifier wants */
	barrier_var(a2);
	frame = p->entry_arg == 1 ? a1 : a2;
	if (!frame || bpf_probe_read_user(&lasti, sizeof(lasti),
					  (const void *)(frame + p->frame_lasti)) ||
	    read_u64(&code, frame + p->frame_code) || !code) {
		count(CC_ERR_READ);
		return 0;
	}
	if (lasti != -1) {
		count(CC_GEN_RESUME);
		return 0;
	}
	push(pid, (__u32)id, frame, code);
	return 0;
}

static __always_inline bool is_resume(struct calls_proc *p, __u8 op)
{
	return op == p->resume_ops[0] || op == p->resume_ops[1] || op == p->resume_ops[2];
}

/* 3.11+: RESUME handlers. oparg 0: the function starts; 1-3: resumed after yield/await. */
static __always_inline int do_resume(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), frame, code = 0, ip = 0;
	__u32 pid = id >> 32;
	struct calls_proc *p = this_proc(pid, CC_HIT_RESUME);
	__u8 insn[4] = {};

	if (!p)
		return 0;
	frame = current_frame(p);
	if (!frame)
		return 0;
	if (read_u64(&code, frame + p->frame_code) || !code ||
	    read_u64(&ip, frame + p->frame_lasti) || !ip ||
	    bpf_probe_read_user(insn, sizeof(insn), (const void *)ip)) {
		count(CC_ERR_READ);
		return 0;
	}
	if (!is_resume(p, insn[0])) {
		/* 3.11/3.12 store prev_instr as the handler goes: it may still be the unit
		 * before this instruction */
		if (!is_resume(p, insn[2])) {
			count(CC_NOT_RESUME);
			return 0;
		}
		count(CC_IP_LAG);
		insn[1] = insn[3];
	}
	if (insn[1] != 0) {
		count(CC_GEN_RESUME);
		return 0;
	}
	push(pid, (__u32)id, frame, code);
	return 0;
}

/* RETURN_VALUE / RETURN_CONST: the innermost frame returns */
static __always_inline int do_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), frame;
	__u32 pid = id >> 32;
	struct calls_proc *p = this_proc(pid, CC_HIT_RETURN);

	if (!p)
		return 0;
	frame = current_frame(p);
	if (frame)
		pop(pid, (__u32)id, frame);
	return 0;
}

/* A return handler whose emulated branch is the call that pops the frame (3.13 RETURN_VALUE:
 * _PyEval_FrameClearAndPop(tstate, frame)): tstate already points at the caller, the returning
 * frame is the call's second argument. */
static __always_inline int do_return_arg2(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), frame;
	__u32 pid = id >> 32;
	struct calls_proc *p = this_proc(pid, CC_HIT_RETURN);

	if (!p)
		return 0;
	frame = PT_REGS_PARM2(ctx);
	if (frame)
		pop(pid, (__u32)id, frame);
	return 0;
}

/* USDT python:function__return (Debian 3.11): fires for every return, by exception too, and
 * for every yield; counts per code object of the thread's innermost frame. */
static __always_inline int do_usdt_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), frame, code = 0;
	__u32 pid = id >> 32;
	struct calls_proc *p = this_proc(pid, CC_HIT_USDT);
	struct calls_stats *s;
	__u8 owner = 0;
	__s8 state = 0;

	if (!p)
		return 0;
	frame = current_frame(p);
	if (!frame)
		return 0;
	if (read_u64(&code, frame + p->frame_code) || !code) {
		count(CC_ERR_READ);
		return 0;
	}
	/* a generator frame (owner 1) whose generator is suspended is yielding, not returning */
	if (p->frame_owner != PY_OFF_NONE && p->gen_state_delta &&
	    !bpf_probe_read_user(&owner, 1, (const void *)(frame + p->frame_owner)) && owner == 1 &&
	    !bpf_probe_read_user(&state, 1, (const void *)(frame + p->gen_state_delta)) &&
	    state == -1) {
		count(CC_YIELD);
		return 0;
	}
	count(CC_CALLS);
	s = stats_of(pid, code);
	if (s)
		__sync_fetch_and_add(&s->calls, 1);
	return 0;
}

/* Calibration: attached to pyhound's own pyhound_calls_calib_target (an emulated branch), so
 * one hit costs what a probe costs an untracked process; userspace times many hits. */
SEC("uprobe")
int calls_calib(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (bpf_map_lookup_elem(&tracked_pids, &pid))
		return 0;
	count(CC_CALIB);
	return 0;
}

SEC("uprobe")
int calls_eval_entry(struct pt_regs *ctx)
{
	__u64 t0 = bpf_ktime_get_ns();

	do_eval_entry(ctx);
	add(CC_BPF_NS, bpf_ktime_get_ns() - t0);
	return 0;
}

SEC("uprobe")
int calls_resume(struct pt_regs *ctx)
{
	__u64 t0 = bpf_ktime_get_ns();

	do_resume(ctx);
	add(CC_BPF_NS, bpf_ktime_get_ns() - t0);
	return 0;
}

SEC("uprobe")
int calls_return(struct pt_regs *ctx)
{
	__u64 t0 = bpf_ktime_get_ns();

	do_return(ctx);
	add(CC_BPF_NS, bpf_ktime_get_ns() - t0);
	return 0;
}

SEC("uprobe")
int calls_return_arg2(struct pt_regs *ctx)
{
	__u64 t0 = bpf_ktime_get_ns();

	do_return_arg2(ctx);
	add(CC_BPF_NS, bpf_ktime_get_ns() - t0);
	return 0;
}

SEC("usdt")
int calls_usdt_return(struct pt_regs *ctx)
{
	__u64 t0 = bpf_ktime_get_ns();

	do_usdt_return(ctx);
	add(CC_BPF_NS, bpf_ktime_get_ns() - t0);
	return 0;
}
