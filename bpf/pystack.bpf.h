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

/* Each frame and each code object is copied in one read of the bytes that hold the fields the
 * walker needs (a span inside the structure, so no byte past the object is read): two reads
 * per frame instead of six or seven. A span larger than this (offsets from a debug table we do
 * not expect) falls back to a read per field. */
#define PY_SPAN 256

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
	__u32 f_lo, f_len; /* the frame's span: offsets [f_lo, f_lo + f_len); f_len 0: per field */
	__u32 c_lo, c_len; /* the code object's span */
	__u8 fbuf[PY_SPAN + 8]; /* + 8: a field at the span's end is read as 8 bytes */
	__u8 cbuf[PY_SPAN + 8];
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

/* A field of size 1, 4 or 8 at offset off of the object at base: from buf, the object's bytes
 * [lo, lo + len) copied before, or (len 0) read on its own. 0 or -1. */
static __always_inline int py_field(void *ctx, const __u8 *buf, __u32 lo, __u32 len, __u64 base,
				    __u32 off, void *dst, __u32 size)
{
	__u32 o = off - lo;

	if (!len)
		return py_read(ctx, dst, size, base + off) ? -1 : 0;
	if (o >= PY_SPAN)
		return -1;
	if (size == 8)
		*(__u64 *)dst = *(const __u64 *)(buf + o);
	else if (size == 4)
		*(__u32 *)dst = *(const __u32 *)(buf + o);
	else
		*(__u8 *)dst = buf[o];
	return 0;
}

/* One object's span into buf: 0, or -1 (then the caller reads field by field) */
static __always_inline int py_span(void *ctx, __u8 *buf, __u32 lo, __u32 len, __u64 base)
{
	if (!len)
		return -1;
	if (len > PY_SPAN)
		len = PY_SPAN;
	return py_read(ctx, buf, len, base + lo) ? -1 : 0;
}

static long py_walk_step(__u32 i, void *ctx)
{
	__u32 zero = 0, n, flen, clen;
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
	flen = py_span(ctx, w->fbuf, w->f_lo, w->f_len, frame) ? 0 : w->f_len;
	/* C-stack entry shims (3.12+): not Python code */
	if (w->off.frame_owner_skip != PY_OFF_NONE) {
		__u8 owner = 0;

		if (py_field(ctx, w->fbuf, w->f_lo, flen, frame, w->off.frame_owner, &owner, 1)) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		if (owner >= w->off.frame_owner_skip)
			goto skip;
	}
	if (py_field(ctx, w->fbuf, w->f_lo, flen, frame, w->off.frame_code, &code, 8)) {
		w->err = SMP_ERR_READ;
		return 1;
	}
	/* 3.14+: f_executable is a _PyStackRef; its low bits are tags */
	code &= ~(__u64)w->off.frame_code_tag;
	if (!code) {
		w->err = SMP_ERR_READ;
		return 1;
	}
	/* a code object's span; when it cannot be read whole (3.13: f_executable may be a small
	 * object that is not code, near the end of a mapping), its fields one by one */
	clen = py_span(ctx, w->cbuf, w->c_lo, w->c_len, code) ? 0 : w->c_len;
	if (w->code_type) {
		if (py_field(ctx, w->cbuf, w->c_lo, clen, code, w->off.ob_type, &type, 8)) {
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

		if (py_field(ctx, w->fbuf, w->f_lo, flen, frame, w->off.frame_lasti, &ip, 8)) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		instr = (__s32)(__s64)(ip - code - w->off.code_adaptive);
	} else {
		if (py_field(ctx, w->fbuf, w->f_lo, flen, frame, w->off.frame_lasti, &instr, 4)) {
			w->err = SMP_ERR_READ;
			return 1;
		}
		if (w->off.lasti_kind == PY_LASTI_UNITS && instr > 0)
			instr *= 2;
	}
	if (py_field(ctx, w->cbuf, w->c_lo, clen, code, w->off.code_firstlineno, &first, 4) ||
	    py_field(ctx, w->cbuf, w->c_lo, clen, code, w->off.code_name, &name, 8)) {
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
	if (py_field(ctx, w->fbuf, w->f_lo, flen, frame, w->off.frame_back, &next, 8)) {
		w->err = SMP_ERR_READ;
		return 1;
	}
	w->frame = next;
	return next ? 0 : 1;
}

/* The smallest span [lo, hi) holding a field of size sz at off */
static __always_inline void py_span_add(__u32 *lo, __u32 *hi, __u32 off, __u32 sz)
{
	if (off < *lo)
		*lo = off;
	if (off + sz > *hi)
		*hi = off + sz;
}

/* The spans of the frame and code-object fields the walk reads (f_len/c_len 0: too wide) */
static __always_inline void py_spans(struct walk_state *w)
{
	__u32 lo = 0xffffffff, hi = 0;

	py_span_add(&lo, &hi, w->off.frame_back, 8);
	py_span_add(&lo, &hi, w->off.frame_code, 8);
	py_span_add(&lo, &hi, w->off.frame_lasti, w->off.lasti_kind == PY_LASTI_PTR ? 8 : 4);
	if (w->off.frame_owner_skip != PY_OFF_NONE)
		py_span_add(&lo, &hi, w->off.frame_owner, 1);
	w->f_lo = lo;
	w->f_len = hi - lo <= PY_SPAN ? hi - lo : 0;
	lo = 0xffffffff;
	hi = 0;
	py_span_add(&lo, &hi, w->off.code_firstlineno, 4);
	py_span_add(&lo, &hi, w->off.code_name, 8);
	if (w->code_type)
		py_span_add(&lo, &hi, w->off.ob_type, 8);
	w->c_lo = lo;
	w->c_len = hi - lo <= PY_SPAN ? hi - lo : 0;
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
	py_spans(w);
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
