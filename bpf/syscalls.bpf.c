// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Syscall latency per (process, syscall) and bytes per call of the read/write family per
 * (process, syscall, fd kind), for tracked processes only; everyone else pays one hash lookup. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "fdkind.h"
#include "hist.h"
#include "procwatch.h"
#include "syscalls.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "tracked.bpf.h"

struct inflight {
	__u64 ts;
	__u32 nr;
	__u32 kind; /* fd kind for the read/write family, FD_KIND_MAX otherwise */
};

/* the syscall a thread of a tracked process is in: task-local storage, bounded by the tasks
 * themselves and freed with them; cheaper than a hash update and delete per syscall, and a
 * thread with none (every untracked one) is skipped at sys_exit without a hash lookup */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* (process, syscall) -> latency stats; sized by userspace (--max-stats) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sc_key);
	__type(value, struct sc_stats);
} sc_stats SEC(".maps");

/* (process, syscall, fd kind) -> bytes-per-call stats; sized by userspace (--max-stats) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct io_key);
	__type(value, struct io_stats);
} io_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sc_drops SEC(".maps");

static __always_inline void count_drop(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&sc_drops, &reason);

	if (v)
		(*v)++;
}

/* x86_64 numbers of the read/write family whose return value is a byte count */
static __always_inline bool is_rw(long nr)
{
	switch (nr) {
	case 0:	  /* read */
	case 1:	  /* write */
	case 17:  /* pread64 */
	case 18:  /* pwrite64 */
	case 19:  /* readv */
	case 20:  /* writev */
	case 44:  /* sendto (send) */
	case 45:  /* recvfrom (recv) */
	case 46:  /* sendmsg */
	case 47:  /* recvmsg */
	case 295: /* preadv */
	case 296: /* pwritev */
	case 327: /* preadv2 */
	case 328: /* pwritev2 */
		return true;
	}
	return false;
}

/* A PTR_TO_BTF_ID from a plain pointer value (6.2+; the verifier turns the call into a move).
 * Weak: on older kernels it does not exist and only sc_enter_compat, which does not call it,
 * is loaded. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* What fd refers to in the current task. The fields up to the fd array are direct (BTF) loads,
 * which the JIT turns into plain fault-tolerant loads; before, each was a
 * bpf_probe_read_kernel() call, and helper calls are what costs here. The array holds pointers,
 * which BTF loads cannot index: with cast (6.2+) its slot is read as the first member of a
 * kernel struct that starts with a struct file * (struct kiocb; CO-RE checks the offset) and
 * the rest are direct loads too; without, four probe reads remain. */
static __always_inline __u32 fd_kind_of(struct task_struct *task, long fd, bool cast)
{
	struct files_struct *files = task->files;
	struct fdtable *fdt;
	struct file *file;
	struct inode *inode;
	unsigned int mode, rdev;

	if (!files || fd < 0)
		return FD_KIND_OTHER;
	fdt = files->fdt;
	if (!fdt || (unsigned long)fd >= fdt->max_fds)
		return FD_KIND_OTHER;
	if (cast) {
		struct kiocb *slot = bpf_rdonly_cast(&fdt->fd[fd],
						     bpf_core_type_id_kernel(struct kiocb));

		file = slot->ki_filp;
		if (!file)
			return FD_KIND_OTHER;
		inode = file->f_inode;
		if (!inode)
			return FD_KIND_OTHER;
		mode = inode->i_mode;
		rdev = inode->i_rdev;
	} else {
		if (bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]) || !file)
			return FD_KIND_OTHER;
		inode = BPF_CORE_READ(file, f_inode);
		if (!inode)
			return FD_KIND_OTHER;
		mode = BPF_CORE_READ(inode, i_mode);
		rdev = BPF_CORE_READ(inode, i_rdev);
	}
	return ph_fd_kind(mode, rdev);
}

static __always_inline struct sc_stats *sc_entry(struct sc_key *k)
{
	static const struct sc_stats zero;
	struct sc_stats *s = bpf_map_lookup_elem(&sc_stats, k);

	if (s)
		return s;
	bpf_map_update_elem(&sc_stats, k, &zero, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&sc_stats, k);
	if (!s)
		count_drop(SC_DROP_STATS_FULL);
	return s;
}

static __always_inline void account(__u32 pid, __u32 nr, __u64 ns, long ret)
{
	struct sc_key k = { .pid = pid, .nr = nr };
	struct sc_stats *s = sc_entry(&k);
	__u64 old;

	if (!s)
		return;
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, ns);
	if (ret < 0)
		__sync_fetch_and_add(&s->errors, 1);
	__sync_fetch_and_add(&s->lat[ph_log2_slot(ns, SC_LAT_SLOTS)], 1);
	old = s->max_ns;
	if (ns > old) /* a lost race only under-reports max by one concurrent call */
		s->max_ns = ns;
}

static __always_inline void account_io(__u32 pid, __u32 nr, __u32 kind, long ret)
{
	static const struct io_stats zero = { .min_bytes = ~0ULL };
	struct io_key k = { .pid = pid, .nr = nr, .kind = kind };
	struct io_stats *s = bpf_map_lookup_elem(&io_stats, &k);

	if (!s) {
		bpf_map_update_elem(&io_stats, &k, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&io_stats, &k);
		if (!s) {
			count_drop(SC_DROP_IO_FULL);
			return;
		}
	}
	if (ret < 0) {
		__sync_fetch_and_add(&s->errors, 1);
		return;
	}
	__sync_fetch_and_add(&s->calls, 1);
	__sync_fetch_and_add(&s->bytes, ret);
	__sync_fetch_and_add(&s->size[ph_log2_slot(ret, IO_SIZE_SLOTS)], 1);
	if ((__u64)ret < s->min_bytes)
		s->min_bytes = ret;
	if ((__u64)ret > s->max_bytes)
		s->max_bytes = ret;
}

/* Every syscall of every process on the host runs sys_enter and sys_exit, so the path for an
 * untracked process is as short as it can be: one helper call and one hash lookup at sys_enter,
 * one helper call and one load at sys_exit. Helper calls are what costs (measured; with the
 * retpoline and return-thunk mitigations every call and return is dear), so each program asks
 * for the current task once and reads its tgid and the rest through direct BTF loads. */
static __always_inline int enter(struct pt_regs *regs, long id, bool cast)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 pid = task->tgid;
	struct inflight *in;

	if (!bpf_map_lookup_elem(&tracked_pids, &pid))
		return 0;
	if (id == 60 || id == 231) { /* exit, exit_group: no sys_exit follows */
		account(pid, id, 0, 0);
		return 0;
	}
	in = bpf_task_storage_get(&inflight, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!in) {
		count_drop(SC_DROP_NO_STORAGE);
		return 0;
	}
	in->nr = id;
	in->kind = is_rw(id) ? fd_kind_of(task, (int)regs->di, cast) : FD_KIND_MAX;
	in->ts = bpf_ktime_get_ns();
	return 0;
}

/* userspace loads one of these two: sc_enter where the kernel has bpf_rdonly_cast (6.2+) */
SEC("tp_btf/sys_enter")
int BPF_PROG(sc_enter, struct pt_regs *regs, long id)
{
	return enter(regs, id, true);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sc_enter_compat, struct pt_regs *regs, long id)
{
	return enter(regs, id, false);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sc_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct inflight *in;
	__u32 pid;
	__u64 ts;

	/* a thread with no task storage at all (every untracked one, unless some other BPF tool
	 * keeps task storage on it) has none of ours: skip the lookup helper */
	if (!task->bpf_storage)
		return 0;
	in = bpf_task_storage_get(&inflight, task, 0, 0);
	if (!in || !in->ts) /* untracked, or attached while this syscall ran */
		return 0;
	ts = in->ts;
	in->ts = 0;
	pid = task->tgid;
	/* still tracked (a pending process may have been found not to be CPython) */
	if (!bpf_map_lookup_elem(&tracked_pids, &pid))
		return 0;
	account(pid, in->nr, bpf_ktime_get_ns() - ts, ret);
	if (in->kind < FD_KIND_MAX)
		account_io(pid, in->nr, in->kind, ret);
	return 0;
}
