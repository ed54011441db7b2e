// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CPython garbage-collector pauses per (process, generation), from the python:gc__start/done
 * USDT probes where the build has them, otherwise from a uprobe + uretprobe on the collection
 * function found in the symbol table; module import times from python:import__find__load__*.
 * Every program is attached once per binary for all processes (pid -1) and filters on
 * tracked_pids, so untracked processes pay one hash lookup per collection. A binary's USDT
 * sites (gc and import) run gc_usdt_site, which fetches the arguments itself from a per-site
 * spec (gc_usdt_specs): one uprobe_multi link for all of them where the kernel has those,
 * otherwise a perf-event link each (gc_usdt_site_perf). libbpf's USDT links are not used:
 * their destroy is not thread-safe, and 200 binaries' took minutes at shutdown. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gc.h"
#include "hist.h"
#include "procwatch.h"
#include "usdt_arg.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* shared with procwatch (userspace reuses its fd before load) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tracked);
} tracked_pids SEC(".maps");

/* collections in progress on one thread, innermost last */
struct gc_inflight {
	__u64 ts[GC_NEST];
	__s32 gen[GC_NEST]; /* -1: not known yet (3.13 automatic collection) */
	__u32 depth;
	__u32 pad;
};

/* thread id -> collections in progress. LRU: a thread killed inside a collection never
 * returns, and its entry must not pin a slot forever. Sized by userspace (threads). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct gc_inflight);
} gc_inflight SEC(".maps");

/* process -> GC statistics; sized by userspace (tracked processes) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct gc_stats);
} gc_stats SEC(".maps");

struct imp_inflight {
	__u64 ts[IMP_NEST];
	__u32 depth;
	__u32 pad;
};

/* thread id -> imports in progress (nested: importing a imports b); LRU as gc_inflight */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct imp_inflight);
} imp_inflight SEC(".maps");

/* import records (struct gc_import_event); sized by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} gc_events SEC(".maps");

/* USDT site -> what it is and where its arguments are (index bin * GC_USDT_SITES + site):
 * GC_MAX_BINS binary slots of GC_USDT_SITES sites */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GC_MAX_BINS * GC_USDT_SITES);
	__type(key, __u32);
	__type(value, struct gc_usdt_spec);
} gc_usdt_specs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GC_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gc_drops SEC(".maps");

/* x & mask, in a form the compiler cannot drop when it already knows x <= mask (the verifier
 * may not know it) */
#define BOUNDED(x, mask) ({ __u32 _v = (x); asm volatile("%0 &= " #mask : "+r"(_v)); _v; })
_Static_assert(GC_NEST == 4 && IMP_NEST == 16, "BOUNDED() masks below");

static __always_inline void count_drop(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&gc_drops, &reason);

	if (v)
		(*v)++;
}

static __always_inline bool tracked(__u32 pid)
{
	return bpf_map_lookup_elem(&tracked_pids, &pid) != NULL;
}

static __always_inline void gc_begin(__s32 gen)
{
	static const struct gc_inflight zero;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct gc_inflight *in;
	__u32 d;

	if (!tracked(pid_tgid >> 32))
		return;
	in = bpf_map_lookup_elem(&gc_inflight, &tid);
	if (!in) {
		bpf_map_update_elem(&gc_inflight, &tid, &zero, BPF_ANY);
		in = bpf_map_lookup_elem(&gc_inflight, &tid);
		if (!in)
			return;
	}
	d = in->depth;
	if (d >= GC_NEST) {
		count_drop(GC_DROP_NEST);
		in->depth = d + 1; /* keep the pairing: the matching end pops this level */
		return;
	}
	in->gen[BOUNDED(d, 3)] = gen;
	in->ts[BOUNDED(d, 3)] = bpf_ktime_get_ns();
	in->depth = d + 1;
}

static __always_inline struct gc_stats *stats_of(__u32 pid)
{
	static const struct gc_stats zero;
	struct gc_stats *s = bpf_map_lookup_elem(&gc_stats, &pid);

	if (s)
		return s;
	bpf_map_update_elem(&gc_stats, &pid, &zero, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&gc_stats, &pid);
	if (!s)
		count_drop(GC_DROP_STATS_FULL);
	return s;
}

/* Replace the shortest of the kept pauses when this one is longer. Two CPUs of one process
 * collecting at once (free-threaded builds only) may race here and lose one entry. */
static __always_inline void keep_top(struct gc_stats *s, __u64 ts, __u64 ns, __u32 gen,
				     __u64 collected)
{
	__u32 i, min_i = 0;
	__u64 min = ~0ULL;

	for (i = 0; i < GC_TOP_N; i++) {
		if (s->top[i].dur_ns < min) {
			min = s->top[i].dur_ns;
			min_i = i;
		}
	}
	if (ns <= min)
		return;
	min_i &= GC_TOP_N - 1;
	s->top[min_i].ts_ns = ts;
	s->top[min_i].dur_ns = ns;
	s->top[min_i].gen = gen;
	s->top[min_i].collected = collected;
}

static __always_inline void gc_end(__s64 collected)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), now, ts, ns;
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid, d, g;
	struct gc_inflight *in;
	struct gc_stats *s;
	__s32 gen;

	if (!tracked(pid))
		return;
	in = bpf_map_lookup_elem(&gc_inflight, &tid);
	if (!in || !in->depth) {
		count_drop(GC_DROP_NO_ENTRY);
		return;
	}
	d = --in->depth;
	if (d >= GC_NEST)
		return; /* an overflowed level, already counted */
	now = bpf_ktime_get_ns();
	ts = in->ts[BOUNDED(d, 3)];
	gen = in->gen[BOUNDED(d, 3)];
	s = stats_of(pid);
	if (!s)
		return;
	if (gen == GC_GEN_UNREAD)
		return; /* counted in GC_DROP_USDT_ARG */
	g = (__u32)gen;
	if (g >= GC_GENS) {
		/* -1: a 3.13 call that collected nothing: no generation over its threshold, or
		 * a collection already running */
		__sync_fetch_and_add(&s->no_collection, 1);
		return;
	}
	g &= 3; /* for the verifier: g < GC_GENS here */
	ns = now - ts;
	if (collected < 0)
		collected = 0;
	__sync_fetch_and_add(&s->count[g], 1);
	__sync_fetch_and_add(&s->total_ns[g], ns);
	__sync_fetch_and_add(&s->collected[g], collected);
	__sync_fetch_and_add(&s->lat[g][ph_log2_slot(ns, GC_LAT_SLOTS)], 1);
	if (ns > s->max_ns[g])
		s->max_ns[g] = ns;
	if (!s->first_ts_ns)
		s->first_ts_ns = ts;
	s->last_ts_ns = now;
	keep_top(s, ts, ns, g, collected);
}

/* ---- uprobe source: the collection function from the symbol table ---- */

SEC("uprobe")
int BPF_KPROBE(gc_enter, unsigned long a1, unsigned long a2, unsigned long a3)
{
	__u64 mode = bpf_get_attach_cookie(ctx);
	__s32 gen;

	switch (mode) {
	case GC_MODE_CLONE:
		gen = (a1 <= 2 && a2) ? (__s32)a1 : 2;
		break;
	case GC_MODE_313: /* unknown until gc_fix_gen, except at shutdown */
		gen = (__s32)a3 == GC_REASON_SHUTDOWN_313 ? (__s32)a2 : -1;
		break;
	default: /* GC_MODE_ARG2 */
		gen = (__s32)a2;
		break;
	}
	gc_begin(gen);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(gc_return, long ret)
{
	gc_end(ret);
	return 0;
}

/* 3.13: invoke_gc_callback(interp, phase, generation, ...) runs at the start (and end) of every
 * real collection but those at shutdown; it tells the innermost collection its generation. A
 * call of gc_collect_main that never reaches it collected nothing (see GC_MODE_313). */
SEC("uprobe")
int BPF_KPROBE(gc_fix_gen, unsigned long a1, unsigned long a2, unsigned long a3)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, d;
	struct gc_inflight *in;

	if (!tracked(pid_tgid >> 32))
		return 0;
	in = bpf_map_lookup_elem(&gc_inflight, &tid);
	if (!in || !in->depth || in->depth > GC_NEST)
		return 0;
	d = BOUNDED(in->depth - 1, 3);
	if (in->gen[d] < 0 && (__s32)a3 >= 0 && (__s32)a3 < GC_GENS)
		in->gen[d] = (__s32)a3;
	return 0;
}

/* ---- imports (USDT only) ---- */

static __always_inline void import_begin(void)
{
	static const struct imp_inflight zero;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, d;
	struct imp_inflight *in;

	if (!tracked(pid_tgid >> 32))
		return;
	in = bpf_map_lookup_elem(&imp_inflight, &tid);
	if (!in) {
		bpf_map_update_elem(&imp_inflight, &tid, &zero, BPF_ANY);
		in = bpf_map_lookup_elem(&imp_inflight, &tid);
		if (!in)
			return;
	}
	d = in->depth;
	in->depth = d + 1;
	if (d >= IMP_NEST) {
		count_drop(GC_DROP_IMP_NEST);
		return;
	}
	in->ts[BOUNDED(d, 15)] = bpf_ktime_get_ns();
}

static __always_inline void import_end(const void *name, int found)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), now;
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid, d;
	struct imp_inflight *in;
	struct gc_import_event *e;

	if (!tracked(pid))
		return;
	in = bpf_map_lookup_elem(&imp_inflight, &tid);
	if (!in || !in->depth) {
		count_drop(GC_DROP_IMP_NO_ENTRY);
		return;
	}
	d = --in->depth;
	if (d >= IMP_NEST)
		return;
	now = bpf_ktime_get_ns();
	e = bpf_ringbuf_reserve(&gc_events, sizeof(*e), 0);
	if (!e) {
		count_drop(GC_DROP_EVENTS);
		return;
	}
	e->type = GC_EV_IMPORT;
	e->pid = pid;
	e->ts_ns = in->ts[BOUNDED(d, 15)];
	e->dur_ns = now - e->ts_ns;
	e->depth = d;
	e->found = found;
	if (bpf_probe_read_user_str(e->name, sizeof(e->name), name) < 0)
		e->name[0] = '\0';
	bpf_ringbuf_submit(e, 0);
}

/* ---- USDT sites (builds configured --with-dtrace: Debian's), gc and imports ---- */

/* The cookie says which site: its spec gives the probe and where its arguments are (the note's
 * argument string, parsed by userspace). */
static __always_inline int usdt_site(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 idx = (__u32)cookie;
	struct gc_usdt_spec *sp;
	__s64 a0 = 0, a1 = 0;

	if (!tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	sp = bpf_map_lookup_elem(&gc_usdt_specs, &idx);
	if (!sp || sp->gen != (__u32)(cookie >> 32)) {
		count_drop(GC_DROP_USDT_ARG);
		return 0;
	}
	if (sp->kind == GC_USDT_IMPORT_START) {
		import_begin(); /* the name is read at the end */
		return 0;
	}
	if (usdt_arg_fetch(ctx, &sp->args[0], &a0) ||
	    (sp->kind == GC_USDT_IMPORT_DONE && usdt_arg_fetch(ctx, &sp->args[1], &a1))) {
		count_drop(GC_DROP_USDT_ARG);
		/* keep the pairing: a start still opens its level (its collection then counted
		 * nowhere), an end still closes one (objects collected unknown: 0) */
		a0 = sp->kind == GC_USDT_GC_START ? GC_GEN_UNREAD : 0;
	}
	switch (sp->kind) {
	case GC_USDT_GC_START: gc_begin((__s32)a0); break;
	case GC_USDT_GC_DONE: gc_end(a0); break;
	case GC_USDT_IMPORT_DONE: import_end((const void *)a0, (int)a1); break;
	}
	return 0;
}

/* every USDT site of a binary through one uprobe_multi link (Linux 6.6+) */
SEC("uprobe")
int gc_usdt_site(struct pt_regs *ctx)
{
	return usdt_site(ctx);
}

/* one perf-event uprobe link per site (kernels without uprobe_multi) */
SEC("uprobe")
int gc_usdt_site_perf(struct pt_regs *ctx)
{
	return usdt_site(ctx);
}
