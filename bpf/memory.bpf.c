// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Resident memory growth per Python stack (include/memory.h says what is sent).
 *
 * The kernel's own RSS counters (a percpu_counter per kind since Linux 6.2: the global value
 * moves when a CPU's local share reaches the batch, 32 pages or more, or at once for large
 * changes) are read at the start of each page fault and at the return of the syscalls that map
 * or release memory. For a tracked process the change of each global value since its last
 * reading goes to its totals (each reading takes the difference from the last value seen,
 * atomically), so the totals per kind add up to the kernel's own. Anonymous (and shmem) growth
 * goes to the current thread's accumulator; when it passes a random threshold (uniform in
 * [period/2, 3*period/2)), the Python stack is walked (bpf/pystack.bpf.h) and sent with the
 * accumulated bytes and the address of the fault (or the range the syscall mapped).
 * One program runs per page fault on the host (page_fault_user or page_fault_kernel), and it
 * drops the fault before any map lookup unless the counters moved (once per 32-page batch).
 * sys_exit of munmap, madvise(DONTNEED/REMOVE), brk, mremap and mmap(MAP_FIXED) sends the ranges
 * they released or moved; mmap, brk and mremap growth of targ_large bytes or more is sent with
 * its stack. Maps shared with bpf/sampler.bpf.c (same fds): tracked_pids, proc_info. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "procwatch.h"
#include "sampler.h"
#include "memory.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "tracked.bpf.h"

#define PAGE_SHIFT 12
#define NR_MMAP 9
#define NR_MUNMAP 11
#define NR_BRK 12
#define NR_MREMAP 25
#define NR_MADVISE 28
#define MADV_DONTNEED 4
#define MADV_REMOVE 9
#define MADV_DONTNEED_LOCKED 24
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define USER_TOP (1ull << 47) /* a fault at or above is not on a user address */

const volatile __u64 targ_period = PH_MEM_PERIOD_DEFAULT;
const volatile __u64 targ_large = PH_MEM_LARGE_DEFAULT;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct py_proc_info);
} proc_info SEC(".maps");

/* tgid -> totals and last counter values; sized by userspace (max processes). LRU: a process's
 * entry is deleted when it exits, but its teardown may make a new one (exit_mmap); those go
 * first when the map is full. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct ph_mem_proc);
} mem_procs SEC(".maps");

/* per thread: growth not yet sampled, and the threshold of the next sample (freed with it) */
struct thread_acc {
	__s64 acc;
	__s64 threshold;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_acc);
} mem_acc SEC(".maps");

/* per CPU: the address space whose fault was last looked at on this CPU, and its counters'
 * global values then. Most faults (31 in 32 for a process faulting anonymous pages) find them
 * unchanged and return here, before any map lookup. A change skipped this way (the value came
 * back to the cached one) is not lost: the next reading takes the difference from the
 * process's last value. */
struct rss_cache {
	__u64 mm;
	__s64 count[PH_MM_COUNTERS];
	/* set while this CPU builds an event (mem_buf) or walks a stack (the walker's scratch):
	 * a fault inside it (a read of the target's memory) is left alone. Programs here run
	 * with interrupts or preemption off, so one flag per CPU suffices. */
	__u64 busy;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rss_cache);
} rss_cache SEC(".maps");

/* the record being built (too big for the BPF stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ph_mem_event);
} mem_buf SEC(".maps");

/* events to userspace; size set by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} mem_events SEC(".maps");

/* enum ph_mem_stat */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MEM_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} mem_stats SEC(".maps");

/* the stack walker's own counters (enum ph_sampler_stat) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SMP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} walk_stats SEC(".maps");

static __always_inline void count_n(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&walk_stats, &what);

	if (v)
		*v += n;
}

static __always_inline void mem_add(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&mem_stats, &what);

	if (v)
		*v += n;
}

static __always_inline void mem_count(__u32 what)
{
	mem_add(what, 1);
}

/* the walked thread is the current one */
static __always_inline long py_read(void *ctx, void *dst, __u32 size, __u64 addr)
{
	return bpf_probe_read_user(dst, size, (const void *)addr);
}

#include "pystack.bpf.h"

static __always_inline bool is_tracked(__u32 pid)
{
	struct tracked *tr = bpf_map_lookup_elem(&tracked_pids, &pid);

	return tr && tr->state == TRACKED_PYTHON;
}

/* direct loads of the current task's mm (BTF), no helper calls */
static __always_inline __s64 rss_count(struct mm_struct *mm, int member)
{
	switch (member) {
	case PH_MM_FILE: return mm->rss_stat[PH_MM_FILE].count;
	case PH_MM_ANON: return mm->rss_stat[PH_MM_ANON].count;
	case PH_MM_SHMEM: return mm->rss_stat[PH_MM_SHMEM].count;
	default: return 0;
	}
}

/* The process's entry, created with the counters' current values (nothing counted before). */
static __always_inline struct ph_mem_proc *mem_proc(__u32 pid, struct mm_struct *mm, bool *fresh)
{
	struct ph_mem_proc *mp = bpf_map_lookup_elem(&mem_procs, &pid), init = {};

	*fresh = false;
	if (mp)
		return mp;
	init.last[PH_MM_FILE] = rss_count(mm, PH_MM_FILE);
	init.last[PH_MM_ANON] = rss_count(mm, PH_MM_ANON);
	init.last[PH_MM_SHMEM] = rss_count(mm, PH_MM_SHMEM);
	init.last_brk = mm->brk;
	if (bpf_map_update_elem(&mem_procs, &pid, &init, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&mem_procs, &pid)) {
		mem_count(MEM_PROCS_FULL);
		return NULL;
	}
	*fresh = true;
	return bpf_map_lookup_elem(&mem_procs, &pid);
}

static __always_inline struct ph_mem_event *event_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mem_buf, &zero);
}

/* Walk the current thread's Python stack into e->s (nframes 0 when it has none). */
static __always_inline void walk_current(struct ph_mem_event *e, __u32 pid, __u32 tid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct py_proc_info *info = bpf_map_lookup_elem(&proc_info, &pid);
	struct walk_state *w = NULL;
	__u64 tstate = 0;
	__u32 err = 0, n;

	e->s.pid = pid;
	e->s.tid = tid;
	e->s.nframes = 0;
	e->s.flags = 0;
	e->s.ts_ns = bpf_ktime_get_ns();
	if (info && !py_tstate(NULL, info, task->thread.fsbase, &tstate))
		w = py_walk(NULL, info, tstate, &err);
	mem_add(MEM_WALK_NS, bpf_ktime_get_ns() - e->s.ts_ns);
	if (!w) {
		mem_count(MEM_NO_STACK);
		return;
	}
	n = w->s.nframes;
	if (n > PH_MAX_FRAMES)
		n = PH_MAX_FRAMES;
	/* only the frames walked (the record is sent up to them) */
	if (n)
		bpf_probe_read_kernel(e->s.frames, n * sizeof(struct ph_frame), w->s.frames);
	e->s.nframes = n;
	e->s.flags = w->s.flags;
	if (e->s.flags & PH_SAMPLE_TRUNCATED)
		count_n(SMP_TRUNCATED, 1);
}

static __always_inline void send(struct ph_mem_event *e, __u32 stat)
{
	__u32 n = e->s.nframes;

	if (n > PH_MAX_FRAMES)
		n = PH_MAX_FRAMES;
	/* no wake-up (an interrupt and a wake-up per event, inside the page fault): userspace
	 * drains the buffer at each poll instead (mem_poll) */
	if (bpf_ringbuf_output(&mem_events, e, PH_MEM_EVENT_HDR + n * sizeof(struct ph_frame),
			       BPF_RB_NO_WAKEUP))
		mem_count(MEM_DROP_RINGBUF);
	else
		mem_count(stat);
}

/* A range event without a stack (release, move). */
static __always_inline void send_range(__u32 kind, __u32 aux, __u32 pid, __u32 tid, __u64 addr,
				       __u64 len, __u64 addr2)
{
	struct ph_mem_event *e = event_buf();

	if (!e || !len)
		return;
	e->kind = kind;
	e->aux = aux;
	e->addr = addr;
	e->addr2 = addr2;
	e->len = len;
	e->s.pid = pid;
	e->s.tid = tid;
	e->s.nframes = 0;
	e->s.flags = 0;
	e->s.ts_ns = bpf_ktime_get_ns();
	send(e, kind == PH_MEM_MOVE ? MEM_MOVES : MEM_RELEASES);
}

static __always_inline void send_map(__u32 map_kind, __u32 pid, __u32 tid, __u64 addr, __u64 len)
{
	struct ph_mem_event *e = event_buf();

	if (!e)
		return;
	e->kind = PH_MEM_MAP;
	e->aux = map_kind;
	e->addr = addr;
	e->addr2 = 0;
	e->len = len;
	walk_current(e, pid, tid);
	send(e, MEM_MAPS);
}

static __always_inline __s64 next_threshold(void)
{
	__u64 p = targ_period;

	return (__s64)(p / 2 + bpf_get_prandom_u32() % (p ? p : 1));
}

/* One counter of the process: the change of its global value since the process's last reading
 * goes to its totals (atomically: readings race between CPUs). Returns the growth (pages). */
static __always_inline __s64 read_counter(struct ph_mem_proc *mp, struct mm_struct *mm, int k)
{
	__s64 count = rss_count(mm, k), old, delta;

	if (count == mp->last[k & 3])
		return 0;
	old = __sync_lock_test_and_set(&mp->last[k & 3], count);
	delta = count - old;
	if (delta > 0) {
		__sync_fetch_and_add(&mp->grown[k & 3], delta);
		return delta;
	}
	if (delta < 0)
		__sync_fetch_and_add(&mp->released[k & 3], -delta);
	return 0;
}

/* A tracked process's counters moved: take the changes since its last reading; anonymous (and
 * shmem) growth goes to the current thread's accumulator and, past its threshold, is sent with
 * the thread's stack and addr (the fault's address, or the range a syscall mapped; 0: none). */
static __always_inline void account(struct task_struct *task, struct mm_struct *mm, __u32 pid,
				    __u64 addr)
{
	struct ph_mem_proc *mp;
	struct thread_acc *ta;
	struct ph_mem_event *e;
	__s64 grown;
	bool fresh;

	mem_count(MEM_READS);
	mp = mem_proc(pid, mm, &fresh);
	if (!mp || fresh)
		return;
	grown = read_counter(mp, mm, PH_MM_ANON) + read_counter(mp, mm, PH_MM_SHMEM);
	read_counter(mp, mm, PH_MM_FILE);
	if (grown <= 0)
		return;
	mem_count(MEM_FLUSHES);
	ta = bpf_task_storage_get(&mem_acc, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ta)
		return;
	if (!ta->threshold)
		ta->threshold = next_threshold();
	ta->acc += grown << PAGE_SHIFT;
	if (ta->acc < ta->threshold)
		return;
	e = event_buf();
	if (!e)
		return;
	e->kind = PH_MEM_GROWTH;
	e->aux = PH_MM_ANON;
	e->len = ta->acc;
	e->addr = addr;
	e->addr2 = 0;
	if (!addr)
		mem_count(MEM_NO_ADDR);
	ta->acc = 0;
	ta->threshold = next_threshold();
	walk_current(e, pid, (__u32)bpf_get_current_pid_tgid());
	send(e, MEM_SAMPLES);
}

/* The one program per page fault, at its start: what the process's counters did since they
 * were last read here (growth made resident by the faults before this one) is taken now, and a
 * sample gets this fault's address (a page being made resident in the same place). Every fault
 * on the host comes here: the first test needs no map lookup and no helper but the task, and
 * drops the fault unless the address space's counters moved since this CPU last looked (the
 * global value moves once per 32-page batch); only then is the process looked up. */
static __always_inline void on_fault(unsigned long address)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mm_struct *mm = task->mm;
	struct rss_cache *rc;
	__s64 file, anon, shmem;
	__u32 zero = 0, pid;

	if (!mm)
		return;
	rc = bpf_map_lookup_elem(&rss_cache, &zero);
	if (!rc || rc->busy)
		return;
	file = rss_count(mm, PH_MM_FILE);
	anon = rss_count(mm, PH_MM_ANON);
	shmem = rss_count(mm, PH_MM_SHMEM);
	if (rc->mm == (__u64)mm && rc->count[PH_MM_ANON] == anon &&
	    rc->count[PH_MM_FILE] == file && rc->count[PH_MM_SHMEM] == shmem)
		return;
	rc->mm = (__u64)mm;
	rc->count[PH_MM_FILE] = file;
	rc->count[PH_MM_ANON] = anon;
	rc->count[PH_MM_SHMEM] = shmem;
	pid = task->tgid;
	if (!is_tracked(pid))
		return;
	rc->busy = 1;
	account(task, mm, pid, address < USER_TOP ? address : 0);
	rc->busy = 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(mem_fault_user, unsigned long address, struct pt_regs *regs, unsigned long code)
{
	on_fault(address);
	return 0;
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(mem_fault_kernel, unsigned long address, struct pt_regs *regs, unsigned long code)
{
	on_fault(address);
	return 0;
}

static __always_inline __u64 page_up(__u64 len)
{
	return (len + 4095) & ~4095ull;
}

/* At the return of a syscall that maps or releases memory, for tracked processes: the ranges
 * released or moved, large mappings with their stack, then the counters (a release's fall, a
 * populated mapping's growth, sampled at the range it mapped). */
SEC("tp_btf/sys_exit")
int BPF_PROG(mem_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;
	__u64 a0, a1, a2, a3, len, grow_addr = 0;
	struct task_struct *task;
	struct ph_mem_proc *mp;
	struct rss_cache *rc;
	__u32 pid, tid, zero = 0;
	bool fresh;

	if (nr != NR_MMAP && nr != NR_MUNMAP && nr != NR_BRK && nr != NR_MREMAP &&
	    nr != NR_MADVISE)
		return 0;
	if (ret < 0 && ret > -4096)
		return 0; /* failed: nothing changed */
	pid = bpf_get_current_pid_tgid() >> 32;
	if (!is_tracked(pid))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	task = bpf_get_current_task_btf();
	rc = bpf_map_lookup_elem(&rss_cache, &zero);
	if (!task->mm || !rc || rc->busy)
		return 0;
	rc->busy = 1;
	a0 = regs->di;
	a1 = regs->si;
	a2 = regs->dx;
	a3 = regs->r10;
	switch (nr) {
	case NR_MUNMAP:
		send_range(PH_MEM_RELEASE, nr, pid, tid, a0, page_up(a1), 0);
		break;
	case NR_MADVISE:
		if (a2 == MADV_DONTNEED || a2 == MADV_REMOVE || a2 == MADV_DONTNEED_LOCKED)
			send_range(PH_MEM_RELEASE, nr, pid, tid, a0, page_up(a1), 0);
		else
			grow_addr = a0; /* MADV_POPULATE_(READ|WRITE), WILLNEED */
		break;
	case NR_MMAP:
		len = page_up(a1);
		grow_addr = (__u64)ret;
		if ((a3 & MAP_FIXED) && !(a3 & MAP_FIXED_NOREPLACE))
			send_range(PH_MEM_RELEASE, nr, pid, tid, (__u64)ret, len, 0);
		if (len >= targ_large && a2 /* not PROT_NONE: a reservation */)
			send_map((a3 & MAP_ANONYMOUS) ? PH_MAP_ANON : PH_MAP_FILE, pid, tid,
				 (__u64)ret, len);
		break;
	case NR_MREMAP:
		grow_addr = (__u64)ret;
		/* a shrink frees the tail in place, then the rest may move */
		if (a2 < a1)
			send_range(PH_MEM_RELEASE, nr, pid, tid, a0 + page_up(a2),
				   page_up(a1) - page_up(a2), 0);
		if ((__u64)ret != a0)
			send_range(PH_MEM_MOVE, nr, pid, tid, a0, page_up(a1 < a2 ? a1 : a2),
				   (__u64)ret);
		if (a2 > a1 && a2 - a1 >= targ_large)
			send_map(PH_MAP_MREMAP, pid, tid, (__u64)ret + page_up(a1),
				 page_up(a2) - page_up(a1));
		break;
	case NR_BRK:
		mp = mem_proc(pid, task->mm, &fresh);
		if (!mp || fresh)
			break;
		a1 = __sync_lock_test_and_set(&mp->last_brk, (__u64)ret);
		if (!a1 || (__u64)ret == a1)
			break;
		if ((__u64)ret < a1) {
			send_range(PH_MEM_RELEASE, nr, pid, tid, (__u64)ret, a1 - (__u64)ret, 0);
		} else {
			grow_addr = a1;
			if ((__u64)ret - a1 >= targ_large)
				send_map(PH_MAP_BRK, pid, tid, a1, (__u64)ret - a1);
		}
		break;
	}
	account(task, task->mm, pid, grow_addr);
	rc->busy = 0;
	return 0;
}
