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
#include "sampler.h"

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

/* thread -> calls in progress; freed with the thread */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct calls_shadow);
} calls_shadow SEC(".maps");

/* set by userspace: only call starts are probed (no returns, no shadow stacks) */
const volatile bool counts_only = false;

/* bumped by userspace when a window opens: shadow stacks of an older one are emptied */
__u32 window_gen;

/* generator / coroutine frames started and not yet returned -> their start (3.11+): timed
 * from the first start to the final return across suspensions; LRU, so that ones never
 * finished (closed, raised, abandoned) make room */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CALLS_MAX_GENS);
	__type(key, struct calls_gen_key);
	__type(value, struct calls_frame);
} calls_gens SEC(".maps");

/* (process, code object) -> counts and latency; sized by userspace (--max-stats) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct calls_key);
	__type(value, struct calls_stats);
} calls_stats SEC(".maps");

/* names copied when a code object is first called, until userspace takes them; sized by
 * userspace */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct calls_key);
	__type(value, struct calls_name);
} calls_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CC_MAX);
	__type(key, __u32);
	__type(value, __u64);
} calls_counters SEC(".maps");

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

/* the registered process of the current task, or NULL. Registered means confirmed CPython and
 * alive: userspace removes a process from calls_procs when it exits. */
static __always_inline struct calls_proc *this_proc(__u32 pid, __u32 hit)
{
	struct calls_proc *p = bpf_map_lookup_elem(&calls_procs, &pid);

	if (p) {
		count(hit);
		__sync_fetch_and_add(&p->hits, 1);
	}
	return p;
}

/* the 8 bytes at off in a buffer the probe read from lo: 0 when outside it */
static __always_inline __u64 field64(const __u8 *buf, __u32 off, __u32 lo)
{
	__u32 rel = off - lo;

	if (off < lo || rel > CALLS_READ_MAX - 8)
		return 0;
	return *(const __u64 *)(buf + rel);
}

static __always_inline __s32 field32(const __u8 *buf, __u32 off, __u32 lo)
{
	__u32 rel = off - lo;

	if (off < lo || rel > CALLS_READ_MAX - 4)
		return 0;
	return *(const __s32 *)(buf + rel);
}

static __always_inline __u8 field8(const __u8 *buf, __u32 off, __u32 lo)
{
	__u32 rel = off - lo;

	if (off < lo || rel > CALLS_READ_MAX - 1)
		return 0;
	return buf[rel];
}

static __always_inline __u32 read_span(__u8 *buf, __u64 addr, __u16 len)
{
	__u32 n = len & (CALLS_READ_MAX - 1);

	if (!n || bpf_probe_read_user(buf, n, (const void *)addr))
		return 0;
	return n;
}

/* This thread's innermost frame, through its PyThreadState (autoTSSkey's pthread key, or the
 * thread-local _Py_tss_gilstate of 3.15+), or 0. Three reads of user memory: the TLS slot, the
 * thread state's span, the cframe (3.11/3.12). */
static __always_inline __u64 current_frame(struct calls_proc *p, struct calls_shadow *sc)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 fsbase = task->thread.fsbase, tstate = 0, frame;
	__s32 key = p->tss_key;

	if (p->tstate_src == PH_TSTATE_TLS) {
		if (read_u64(&tstate, fsbase + p->tls_offset))
			tstate = 0;
	} else if ((key < 0 && bpf_probe_read_user(&key, sizeof(key),
						   (const void *)(p->runtime_addr +
								  p->runtime_tsskey))) ||
		   key < 0 || (__u32)key >= p->tsd_max_keys ||
		   read_u64(&tstate, fsbase + p->tsd_base + (__u64)key * p->tsd_stride)) {
		tstate = 0;
	}
	if (!tstate || !read_span(sc->tstate, tstate + p->tstate_read_lo, p->tstate_read_len) ||
	    field64(sc->tstate, p->tstate_thread_id, p->tstate_read_lo) != fsbase) {
		count(CC_ERR_TSTATE);
		return 0;
	}
	frame = field64(sc->tstate, p->tstate_frame, p->tstate_read_lo);
	if (p->cframe_current_frame != PY_OFF_NONE && frame &&
	    read_u64(&frame, frame + p->cframe_current_frame)) {
		count(CC_ERR_READ);
		return 0;
	}
	return frame;
}

/* the frame's code object: 3.14+ keep it in a tagged _PyStackRef */
static __always_inline __u64 frame_code(struct calls_proc *p, struct calls_shadow *sc)
{
	return field64(sc->frame, p->frame_code, p->frame_read_lo) & ~(__u64)p->frame_code_tag;
}

/* A code object's fingerprint (its name object and first line), from one read of the span of
 * the code object that holds them; the span stays in the thread's shadow for naming. 0, or -1. */
static __always_inline int code_fp(struct calls_proc *p, struct calls_shadow *sc, __u64 code,
				   __u32 *fp)
{
	__u64 name, hash = 0;
	__u32 first;

	if (!read_span(sc->code, code + p->code_read_lo, p->code_read_len)) {
		count(CC_ERR_READ);
		return -1;
	}
	name = field64(sc->code, p->code_name, p->code_read_lo);
	first = field32(sc->code, p->code_firstlineno, p->code_read_lo);
	/* and the name's hash: a freed code object's address and its name string's are both
	 * reused by the next exec() of a function of another name */
	if (read_u64(&hash, name + p->unicode_hash)) {
		count(CC_ERR_READ);
		return -1;
	}
	*fp = CALLS_FP(name, hash, first);
	return 0;
}

/* Copy a compact string's characters (kind 1, 2, 4): its first cap bytes, or its last when
 * tail. Returns the bytes copied (0: not a compact string / unreadable). */
static __always_inline __u32 copy_str(struct calls_proc *p, __u64 str, __u8 *out, __u32 cap,
				      bool tail, __u8 *kind, __u8 *cut)
{
	__u64 len = 0, data, n;
	__u8 state = 0;

	if (!str || read_u64(&len, str + p->unicode_length) ||
	    bpf_probe_read_user(&state, 1, (const void *)(str + p->unicode_state)))
		return 0;
	*kind = (state >> 2) & 7;
	if (!(state & 0x20) || (*kind != 1 && *kind != 2 && *kind != 4) || len > (1 << 20))
		return 0;
	data = str + ((state & 0x40) ? p->unicode_ascii_data : p->unicode_compact_data);
	n = len * *kind;
	*cut = n > cap;
	if (n > cap) {
		if (tail)
			data += n - cap; /* cap is a multiple of 4: still a character boundary */
		n = cap;
	}
	if (!n || n > cap || bpf_probe_read_user(out, n, (const void *)data))
		return 0;
	return n;
}

/* Name a code object called for the first time: copy its name and file while it surely
 * exists (a function made by exec() may be freed right after its call). */
static __always_inline void capture_name(struct calls_proc *p, struct calls_shadow *sc,
					 struct calls_key *k)
{
	struct calls_name *nm = &sc->name;
	__u64 name = field64(sc->code, p->code_qualname, p->code_read_lo);
	__u64 file = field64(sc->code, p->code_filename, p->code_read_lo);

	nm->name_ptr = field64(sc->code, p->code_name, p->code_read_lo);
	nm->first_line = field32(sc->code, p->code_firstlineno, p->code_read_lo);
	nm->name_kind = nm->file_kind = nm->name_cut = nm->file_cut = 0;
	nm->name_bytes = copy_str(p, name, nm->name, CALLS_NAME_BYTES, false, &nm->name_kind,
				  &nm->name_cut);
	nm->file_bytes = copy_str(p, file, nm->file, CALLS_FILE_BYTES, true, &nm->file_kind,
				  &nm->file_cut);
	if (bpf_map_update_elem(&calls_names, k, nm, BPF_NOEXIST))
		count(CC_DROP_NAMES);
	else
		count(CC_NAMED);
}

static __always_inline struct calls_stats *stats_of(__u32 pid, __u64 code, __u32 fp,
						    struct calls_proc *p, struct calls_shadow *sc)
{
	struct calls_key k = { .pid = pid, .fp = fp, .code = code };
	struct calls_stats *s = bpf_map_lookup_elem(&calls_stats, &k);

	if (s)
		return s;
	if (bpf_map_update_elem(&calls_stats, &k, &zero_stats, BPF_NOEXIST) == 0 && p && sc)
		capture_name(p, sc, &k);
	s = bpf_map_lookup_elem(&calls_stats, &k);
	if (!s) {
		count(CC_DROP_STATS_FULL);
		return NULL;
	}
	if (p && sc && !s->name_ptr) {
		s->name_ptr = field64(sc->code, p->code_name, p->code_read_lo);
		s->first_line = field32(sc->code, p->code_firstlineno, p->code_read_lo);
	}
	return s;
}

static __always_inline struct calls_shadow *shadow_of(bool create)
{
	struct calls_shadow *sh;
	__u32 gen = window_gen;

	sh = bpf_task_storage_get(&calls_shadow, bpf_get_current_task_btf(), 0,
				  create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!sh) {
		if (create)
			count(CC_DROP_SHADOW);
		return NULL;
	}
	if (sh->gen != gen) { /* calls begun before this window are not paired */
		sh->gen = gen;
		sh->depth = 0;
	}
	return sh;
}

/* A call starts: count it and push (frame, ts). A live frame is never at the address of a new
 * one, so an entry with the same frame address is a call left by exception: drop it and what
 * is above it. */
static __always_inline void push(struct calls_proc *p, struct calls_shadow *sh, __u32 pid,
				 __u64 frame, __u64 code)
{
	struct calls_stats *s;
	__u32 d, i, n, unwound = 0, fp;

	if (code_fp(p, sh, code, &fp))
		return;
	s = stats_of(pid, code, fp, p, sh);
	count(CC_CALLS);
	if (s)
		__sync_fetch_and_add(&s->calls, 1);
	if (counts_only)
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
	sh->ent[d & (CALLS_STACK_DEPTH - 1)].fp = fp;
	sh->ent[d & (CALLS_STACK_DEPTH - 1)].ts = bpf_ktime_get_ns();
	sh->depth = d + 1;
}

/* A generator / coroutine starts (3.11+, its first RESUME): count it, and note its start by
 * its frame, which stays in the generator object across suspensions (a freed generator's
 * frame address reused by a new one is overwritten here). */
static __always_inline void gen_start(struct calls_proc *p, struct calls_shadow *sh, __u32 pid,
				      __u64 frame, __u64 code)
{
	struct calls_gen_key k = { .pid = pid, .frame = frame };
	struct calls_frame v = { .frame = frame, .code = code };
	struct calls_stats *s;
	__u32 fp;

	if (code_fp(p, sh, code, &fp))
		return;
	s = stats_of(pid, code, fp, p, sh);
	count(CC_CALLS);
	if (s)
		__sync_fetch_and_add(&s->calls, 1);
	if (counts_only)
		return;
	v.fp = fp;
	v.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&calls_gens, &k, &v, BPF_ANY);
}

static __always_inline void timed(struct calls_stats *s, __u64 ns)
{
	__u64 old;

	__sync_fetch_and_add(&s->timed, 1);
	__sync_fetch_and_add(&s->total_ns, ns);
	__sync_fetch_and_add(&s->lat[ph_log2_slot(ns, CALLS_LAT_SLOTS)], 1);
	old = s->max_ns;
	if (ns > old)
		s->max_ns = ns;
}

/* A frame not on the shadow stack returns: a generator's or coroutine's final return? */
static __always_inline bool gen_return(__u32 pid, __u64 frame, __u64 now)
{
	struct calls_gen_key k = { .pid = pid, .frame = frame };
	struct calls_frame *g = bpf_map_lookup_elem(&calls_gens, &k);
	struct calls_stats *s;
	__u64 code, ts;
	__u32 fp;

	if (!g)
		return false;
	code = g->code;
	ts = g->ts;
	fp = g->fp;
	bpf_map_delete_elem(&calls_gens, &k);
	count(CC_GEN_TIMED);
	s = stats_of(pid, code, fp, NULL, NULL);
	if (s)
		timed(s, now - ts);
	return true;
}

/* A frame returns: pop down to its entry (deeper ones left by exception) and time it. */
static __always_inline void pop(struct calls_shadow *sh, __u32 pid, __u64 frame)
{
	__u64 now = bpf_ktime_get_ns(), code = 0, ts = 0, ns;
	struct calls_stats *s;
	__u32 d, i, n, found = 0, fp = 0;

	d = sh->depth;
	n = d < CALLS_STACK_DEPTH ? d : CALLS_STACK_DEPTH;
	for (i = 0; i < CALLS_STACK_DEPTH; i++) {
		struct calls_frame *e;

		if (i >= n)
			break;
		e = &sh->ent[(d - 1 - i) & (CALLS_STACK_DEPTH - 1)];
		if (e->frame == frame) {
			code = e->code;
			fp = e->fp;
			ts = e->ts;
			found = i + 1;
			break;
		}
	}
	if (!found) {
		if (!gen_return(pid, frame, now))
			count(CC_UNMATCHED);
		return;
	}
	sh->depth = d - found;
	if (found > 1)
		count(CC_UNWOUND);
	s = stats_of(pid, code, fp, NULL, NULL);
	if (!s)
		return;
	ns = now - ts;
	if (found > 1)
		__sync_fetch_and_add(&s->unwound, found - 1);
	timed(s, ns);
}

/* 3.8-3.10: the entry block of _PyEval_EvalFrameDefault(tstate?, frame, throwflag): a frame
 * whose f_lasti is still -1 starts; others are generators resuming. */
static __always_inline int do_eval_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), frame, code = 0;
	__u32 pid = id >> 32;
	struct calls_proc *p = this_proc(pid, CC_HIT_ENTRY);
	struct calls_shadow *sc;
	__u64 a1, a2;
	__s32 lasti;

	if (!p || !(sc = shadow_of(true)))
		return 0;
	a1 = PT_REGS_PARM1(ctx);
	a2 = PT_REGS_PARM2(ctx);
	barrier_var(a1); /* both loads at constant ctx offsets, as the verifier wants */
	barrier_var(a2);
	frame = p->entry_arg == 1 ? a1 : a2;
	if (!frame || !read_span(sc->frame, frame + p->frame_read_lo, p->frame_read_len) ||
	    !(code = frame_code(p, sc))) {
		count(CC_ERR_READ);
		return 0;
	}
	lasti = field32(sc->frame, p->frame_lasti, p->frame_read_lo);
	if (lasti != -1) {
		count(CC_GEN_RESUME);
		return 0;
	}
	push(p, sc, pid, frame, code);
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
	struct calls_shadow *sc;
	__u8 insn[4] = {};

	if (!p || !(sc = shadow_of(true)))
		return 0;
	frame = current_frame(p, sc);
	if (!frame)
		return 0;
	if (!read_span(sc->frame, frame + p->frame_read_lo, p->frame_read_len) ||
	    !(code = frame_code(p, sc)) ||
	    !(ip = field64(sc->frame, p->frame_lasti, p->frame_read_lo))) {
		count(CC_ERR_READ);
		return 0;
	}
	/* only a generator's frame (owner 1) resumes: any other frame's RESUME is its start,
	 * and the instruction need not be read to tell */
	if (field8(sc->frame, p->frame_owner, p->frame_read_lo) != 1) {
		push(p, sc, pid, frame, code);
		return 0;
	}
	if (bpf_probe_read_user(insn, sizeof(insn), (const void *)ip)) {
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
	gen_start(p, sc, pid, frame, code);
	return 0;
}

/* A return site: the frame returning is the thread's innermost (RETURN_VALUE / RETURN_CONST),
 * or, with frame_in_arg2, the second argument of the call the site is (3.13 RETURN_VALUE's
 * _PyEval_FrameClearAndPop(tstate, frame): tstate already points at the caller). */
static __always_inline int do_return(struct pt_regs *ctx, bool frame_in_arg2)
{
	__u64 id = bpf_get_current_pid_tgid(), frame;
	__u32 pid = id >> 32;
	struct calls_proc *p = this_proc(pid, CC_HIT_RETURN);
	struct calls_shadow *sc;

	if (!p)
		return 0;
	sc = shadow_of(false);
	if (!sc) { /* no call of this thread seen */
		count(CC_UNMATCHED);
		return 0;
	}
	frame = frame_in_arg2 ? PT_REGS_PARM2(ctx) : current_frame(p, sc);
	if (frame)
		pop(sc, pid, frame);
	return 0;
}

/* USDT python:function__return (3.11, 3.15): fires for every return (3.11: by exception too)
 * and for every yield; counts per code object of the thread's innermost frame. */
static __always_inline int do_usdt_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), frame, code = 0;
	__u32 pid = id >> 32;
	struct calls_proc *p = this_proc(pid, CC_HIT_USDT);
	struct calls_shadow *sc;
	struct calls_stats *s;
	__s8 state = 0;
	__u32 fp;

	if (!p || !(sc = shadow_of(true)))
		return 0;
	frame = current_frame(p, sc);
	if (!frame)
		return 0;
	if (!read_span(sc->frame, frame + p->frame_read_lo, p->frame_read_len) ||
	    !(code = frame_code(p, sc))) {
		count(CC_ERR_READ);
		return 0;
	}
	/* a generator frame (owner 1) whose generator is suspended is yielding, not returning
	 * (3.11: the hook fires after the state is set to FRAME_SUSPENDED, -1) */
	if (p->frame_owner != PY_OFF_NONE && p->gen_state_delta &&
	    field8(sc->frame, p->frame_owner, p->frame_read_lo) == 1 &&
	    !bpf_probe_read_user(&state, 1, (const void *)(frame + p->gen_state_delta)) &&
	    state == -1) {
		count(CC_YIELD);
		return 0;
	}
	/* 3.15: fired in YIELD_VALUE, the frame already past it; else RETURN_VALUE or an
	 * exception leaving the frame (both end the call) */
	if (p->usdt_yield_ops[0] != CALLS_OP_NONE &&
	    field8(sc->frame, p->frame_owner, p->frame_read_lo) == 1) {
		__u64 ip = field64(sc->frame, p->frame_lasti, p->frame_read_lo);
		__u8 prev = 0;

		if (!ip || bpf_probe_read_user(&prev, 1, (const void *)(ip - 2))) {
			count(CC_ERR_READ);
			return 0;
		}
		if (prev == p->usdt_yield_ops[0] || prev == p->usdt_yield_ops[1]) {
			count(CC_YIELD);
			return 0;
		}
	}
	if (code_fp(p, sc, code, &fp))
		return 0;
	count(CC_CALLS);
	s = stats_of(pid, code, fp, p, sc);
	if (s)
		__sync_fetch_and_add(&s->calls, 1);
	return 0;
}

/* Calibration: attached to pyhound_calls_calib_target in pyhound itself (an emulated branch),
 * so one hit costs what a probe costs an untracked process; userspace times many hits. */
SEC("uprobe")
int calls_calib(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (bpf_map_lookup_elem(&tracked_pids, &pid))
		return 0;
	count(CC_CALIB);
	return 0;
}

/* Every 16th probe hit on a CPU is timed: the probes' own cost, for the budget. */
static __always_inline __u64 timing_start(void)
{
	__u32 k = CC_HIT_SEQ;
	__u64 *v = bpf_map_lookup_elem(&calls_counters, &k);

	if (!v || ((*v)++ & 15))
		return 0;
	count(CC_TIMED);
	return bpf_ktime_get_ns();
}

static __always_inline void timing_end(__u64 t0)
{
	if (t0)
		add(CC_BPF_NS, bpf_ktime_get_ns() - t0);
}

/* One program for every probe site; the attach cookie says which kind of site it is. */
SEC("uprobe")
int calls_site(struct pt_regs *ctx)
{
	__u64 kind = bpf_get_attach_cookie(ctx), t0 = timing_start();

	switch (kind) {
	case CALLS_SITE_EVAL_ENTRY: do_eval_entry(ctx); break;
	case CALLS_SITE_RESUME: do_resume(ctx); break;
	case CALLS_SITE_RETURN: do_return(ctx, false); break;
	case CALLS_SITE_RETURN_ARG2: do_return(ctx, true); break;
	case CALLS_SITE_USDT_RETURN: do_usdt_return(ctx); break;
	}
	timing_end(t0);
	return 0;
}

/* USDT python:function__return through libbpf's USDT support, for kernels without
 * uprobe_multi (the cookie is libbpf's there) */
SEC("usdt")
int calls_usdt_return(struct pt_regs *ctx)
{
	__u64 t0 = timing_start();

	do_usdt_return(ctx);
	timing_end(t0);
	return 0;
}
