/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The CPython stack walker shared by the BPF programs that walk a thread's Python frames: the
 * CPU sampler (bpf/sampler.bpf.c, perf_event, the interrupted thread) and the wall-clock
 * sampler (bpf/wall.bpf.c, a sleepable task iterator, any thread of a tracked process).
 *
 * The includer defines, before including this file,
 *     static __always_inline long py_read(void *ctx, void *dst, __u32 size, __u64 addr);
 * which reads the walked thread's user memory (bpf_probe_read_user for the current thread,
 * bpf_copy_from_user_task for another; ctx is what it passes to py_walk() and py_tstate()), and
 *     static __always_inline void count_n(__u32 stat, __u64 n);
 * which adds n to its per-CPU counter of enum ph_sampler_stat.
 * Every version-specific step is here, once: a new CPython version is added to both samplers
 * by changing this file (and the offsets). */
#ifndef PYHOUND_PYSTACK_BPF_H
#define PYHOUND_PYSTACK_BPF_H

#include "sampler.h"

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

static __always_inline int py_read_u64(void *ctx, __u64 *dst, __u64 addr)
{
	return py_read(ctx, dst, sizeof(*dst), addr);
}

static long py_walk_step(__u32 i, void *ctx)
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

		if (py_read(ctx, &owner, 1, frame + w->off.frame_owner)) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		if (owner >= w->off.frame_owner_skip)
			goto skip;
	}
	if (py_read_u64(ctx, &code, frame + w->off.frame_code)) {
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
		if (py_read_u64(ctx, &type, code + w->off.ob_type)) {
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

		if (py_read_u64(ctx, &ip, frame + w->off.frame_lasti)) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		instr = (__s32)(__s64)(ip - code - w->off.code_adaptive);
	} else {
		if (py_read(ctx, &instr, 4, frame + w->off.frame_lasti)) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		if (w->off.lasti_kind == PY_LASTI_UNITS && instr > 0)
			instr *= 2;
	}
	if (py_read(ctx, &first, 4, code + w->off.code_firstlineno) ||
	    py_read_u64(ctx, &name, code + w->off.code_name)) {
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
	if (py_read_u64(ctx, &next, frame + w->off.frame_back)) {
		w->err = SMP_ERR_READ;
		return 1;
	}
	w->frame = next;
	return next ? 0 : 1;
}

/* The PyThreadState of the thread whose FS base is fsbase: pthread_getspecific(autoTSSkey)
 * through glibc's thread-specific data (3.8-3.14), or the thread-local _Py_tss_gilstate
 * (3.15+); checked against tstate->thread_id. 0 and *tstate, or an enum ph_sampler_stat error. */
static __always_inline __u32 py_tstate(void *ctx, const struct py_proc_info *info, __u64 fsbase,
				       __u64 *tstate)
{
	__u64 thread_id = 0;
	__s32 key = -1;

	*tstate = 0;
	if (info->tstate_src == PH_TSTATE_TLS) {
		if (py_read_u64(ctx, tstate, fsbase + info->tls_offset) || !*tstate)
			return SMP_ERR_NO_TSTATE;
	} else {
		if (py_read(ctx, &key, sizeof(key), info->runtime_addr + info->off.runtime_tsskey) ||
		    key < 0 || (__u32)key >= info->tsd_max_keys)
			return SMP_ERR_TSS_KEY;
		if (py_read_u64(ctx, tstate,
				fsbase + info->tsd_base + (__u64)key * info->tsd_stride) ||
		    !*tstate)
			return SMP_ERR_NO_TSTATE;
	}
	if (py_read_u64(ctx, &thread_id, *tstate + info->off.tstate_thread_id) ||
	    thread_id != fsbase)
		return SMP_ERR_TSTATE_MISMATCH;
	return 0;
}

/* Walk the frames of tstate into the per-CPU scratch sample (frames leaf first). Returns the
 * walk state with w->n frames, or NULL and *err (enum ph_sampler_stat: an error, or SMP_EMPTY
 * for a thread with no Python frame). Skipped shim frames are counted (count_n). */
static __always_inline struct walk_state *py_walk(void *ctx, const struct py_proc_info *info,
						  __u64 tstate, __u32 *err)
{
	__u32 zero = 0;
	struct walk_state *w;
	__u64 frame = 0;

	if (py_read_u64(ctx, &frame, tstate + info->off.tstate_frame)) {
		*err = SMP_ERR_READ;
		return NULL;
	}
	if (info->off.walk_kind == PY_WALK_CFRAME && frame &&
	    py_read_u64(ctx, &frame, frame + info->off.cframe_current_frame)) {
		*err = SMP_ERR_READ;
		return NULL;
	}
	if (!frame) {
		*err = SMP_EMPTY;
		return NULL;
	}
	w = bpf_map_lookup_elem(&scratch, &zero);
	if (!w) {
		*err = SMP_ERR_READ;
		return NULL;
	}
	w->off = info->off;
	w->code_type = info->code_type_addr;
	w->frame = frame;
	w->n = 0;
	w->err = 0;
	w->skipped = 0;
	w->truncated = 0;
	bpf_loop(PH_MAX_FRAMES + PH_WALK_EXTRA, py_walk_step, ctx, 0);
	if (w->err) {
		*err = w->err;
		return NULL;
	}
	if (w->skipped)
		count_n(SMP_SKIPPED_FRAMES, w->skipped);
	/* frames left when the walk stopped (frame limit or loop bound): truncated */
	if (w->frame)
		w->truncated = 1;
	if (!w->n) {
		*err = SMP_EMPTY;
		return NULL;
	}
	if (w->n > PH_MAX_FRAMES)
		w->n = PH_MAX_FRAMES;
	w->s.nframes = w->n;
	w->s.flags = 0;
	if (w->truncated)
		w->s.flags |= PH_SAMPLE_TRUNCATED;
	return w;
}

#endif
