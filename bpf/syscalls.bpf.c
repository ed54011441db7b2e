// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Syscall latency per (process, syscall) and bytes per call of the read/write family per
 * (process, syscall, fd kind), for tracked processes only; everyone else pays one hash lookup. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "fdkind.h"
#include "hist.h"
#include "procwatch.h"
#include "syscalls.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "tracked.bpf.h"

/* a request sent on a socket, awaiting its reply (the next read on that socket) */
struct pending_req {
	__u64 ts;    /* the request's first send began; 0: slot free */
	__s32 fd;
	__u32 bytes; /* sent so far (saturates) */
};

struct inflight {
	__u64 ts;
	__u32 nr;
	__u32 kind;  /* fd kind for the read/write family, FD_KIND_MAX otherwise */
	__s64 fd;    /* first argument */
	__u64 asked; /* count/len argument of the read/write family; ~0: none */
	/* kept between syscalls: this thread's requests awaiting replies, by socket */
	struct pending_req req[SC_ROUND_TRIP_SLOTS];
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

/* (process, fd) of sockets the process accept()ed: their send-then-read turns are a server
 * waiting for the next request, not round trips of its own; set at accept, cleared at close;
 * LRU so a socket closed unseen (dup2, close_range) ages out */
struct accepted_key {
	__u32 pid;
	__s32 fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SC_MAX_ACCEPTED);
	__type(key, struct accepted_key);
	__type(value, __u8);
} accepted SEC(".maps");

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

/* the family's calls whose third argument is the size asked for */
static __always_inline bool has_size_arg(long nr)
{
	return nr == 0 || nr == 1 || nr == 17 || nr == 18 || nr == 44 || nr == 45;
}

static __always_inline bool is_write(long nr)
{
	return nr == 1 || nr == 18 || nr == 20 || nr == 44 || nr == 46 || nr == 296 || nr == 328;
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

static __always_inline struct io_stats *account_io(__u32 pid, __u32 nr, __u32 kind, long ret,
						   __u64 asked)
{
	static const struct io_stats zero = { .min_bytes = ~0ULL };
	struct io_key k = { .pid = pid, .nr = nr, .kind = kind };
	struct io_stats *s = bpf_map_lookup_elem(&io_stats, &k);

	if (!s) {
		bpf_map_update_elem(&io_stats, &k, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&io_stats, &k);
		if (!s) {
			count_drop(SC_DROP_IO_FULL);
			return NULL;
		}
	}
	if (ret < 0) {
		__sync_fetch_and_add(&s->errors, 1);
		return s;
	}
	__sync_fetch_and_add(&s->calls, 1);
	__sync_fetch_and_add(&s->bytes, ret);
	__sync_fetch_and_add(&s->size[ph_log2_slot(ret, IO_SIZE_SLOTS)], 1);
	if ((__u64)ret < s->min_bytes)
		s->min_bytes = ret;
	if ((__u64)ret > s->max_bytes)
		s->max_bytes = ret;
	if (asked != ~0ULL) {
		__sync_fetch_and_add(&s->asked_calls, 1);
		__sync_fetch_and_add(&s->asked_bytes, asked);
		__sync_fetch_and_add(&s->asked[ph_log2_slot(asked, IO_SIZE_SLOTS)], 1);
	}
	return s;
}

/* lowest ephemeral (client) port: net.ipv4.ip_local_port_range, set by userspace */
const volatile __u32 targ_ephemeral_lo = 32768;

/* Whether fd is the server side of a connection, from the socket itself (for connections
 * accepted before pyhound watched): TCP/UDP with a local port below the ephemeral range and a
 * remote port in it, or a Unix socket with a name (accepted ones carry the listener's; a
 * client's and a socketpair's have none). Only read when a round trip completes. */
static __always_inline bool server_side(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt;
	struct file *file;
	struct socket *sock;
	struct sock *sk;
	__u16 family, lport, rport;

	if (!files || fd < 0)
		return false;
	fdt = BPF_CORE_READ(files, fdt);
	if (!fdt || (unsigned long)fd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	if (bpf_probe_read_kernel(&file, sizeof(file), &BPF_CORE_READ(fdt, fd)[fd]) || !file)
		return false;
	sock = BPF_CORE_READ(file, private_data);
	sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
	if (!sk)
		return false;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == 1) /* AF_UNIX */
		return BPF_CORE_READ((struct unix_sock *)sk, addr) != NULL;
	if (family != 2 && family != 10) /* AF_INET, AF_INET6 */
		return false;
	lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return lport < targ_ephemeral_lo && rport >= targ_ephemeral_lo;
}

/* A send on a socket starts (or continues) a request on it; the next read on it that returns
 * data is its reply: one round trip, unless the process accept()ed the socket or it is a
 * connection's server side (a server's send-then-read is waiting for the next request). Round trips of one thread never overlap. start: when this call began (a request's
 * first send), now: when it returned. */
static __always_inline void round_trip(struct inflight *in, __u32 pid, long ret, __u64 start,
				       __u64 now, struct io_stats *s)
{
	int i, free_i = -1, old_i = 0;
	__u64 old_ts = ~0ULL;

	for (i = 0; i < SC_ROUND_TRIP_SLOTS; i++) {
		struct pending_req *r = &in->req[i];

		if (r->ts && r->fd == in->fd) {
			if (is_write(in->nr)) {
				r->bytes = r->bytes + ret < r->bytes ? ~0U : r->bytes + ret;
			} else {
				struct accepted_key k = { .pid = pid, .fd = in->fd };
				__u64 sent = r->ts;
				int j;

				/* requests sent after this one were not waited on: this thread
				 * was busy with this reply (the far end of a socketpair in one
				 * thread sends its reply, then reads the next request) */
				for (j = 0; j < SC_ROUND_TRIP_SLOTS; j++)
					if (in->req[j].ts >= sent)
						in->req[j].ts = 0;
				if (s && !bpf_map_lookup_elem(&accepted, &k) && !server_side(in->fd)) {
					__sync_fetch_and_add(&s->round_trips, 1);
					__sync_fetch_and_add(&s->round_trip_ns, now - sent);
					__sync_fetch_and_add(&s->request_bytes, r->bytes);
				}
			}
			return;
		}
		if (!r->ts && free_i < 0)
			free_i = i;
		if (r->ts && r->ts < old_ts) {
			old_ts = r->ts;
			old_i = i;
		}
	}
	if (!is_write(in->nr))
		return;
	if (free_i < 0)
		free_i = old_i; /* all busy: the oldest request is forgotten */
	if (free_i >= 0 && free_i < SC_ROUND_TRIP_SLOTS) {
		in->req[free_i].ts = start;
		in->req[free_i].fd = in->fd;
		in->req[free_i].bytes = ret;
	}
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
	in->fd = regs->di;
	in->kind = FD_KIND_MAX;
	in->asked = ~0ULL;
	if (is_rw(id)) {
		in->kind = fd_kind_of(task, (int)regs->di, cast);
		if (has_size_arg(id))
			in->asked = regs->dx;
	}
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
	struct io_stats *s;
	__u32 pid;
	__u64 ts, now;

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
	now = bpf_ktime_get_ns();
	account(pid, in->nr, now - ts, ret);
	if (in->kind < FD_KIND_MAX) {
		s = account_io(pid, in->nr, in->kind, ret, in->asked);
		if (in->kind == FD_KIND_SOCKET && ret > 0)
			round_trip(in, pid, ret, ts, now, s);
	} else if ((in->nr == 43 || in->nr == 288) && ret >= 0) { /* accept, accept4 */
		struct accepted_key k = { .pid = pid, .fd = ret };
		__u8 one = 1;

		if (bpf_map_update_elem(&accepted, &k, &one, BPF_ANY))
			count_drop(SC_DROP_ACCEPTED_FULL);
	} else if (in->nr == 3 && !ret) { /* close: the number may name another socket next */
		struct accepted_key k = { .pid = pid, .fd = in->fd };
		int i;

		bpf_map_delete_elem(&accepted, &k);
		for (i = 0; i < SC_ROUND_TRIP_SLOTS; i++)
			if (in->req[i].fd == in->fd)
				in->req[i].ts = 0;
	}
	return 0;
}
