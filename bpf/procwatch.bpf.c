// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Follows process lifecycles: new execs become PENDING until userspace classifies them, forks of
 * tracked Python processes are tracked at once, exits are reported. Owns tracked_pids, the map
 * every other collector filters on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "procwatch.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile bool targ_follow = true; /* track new execs and forks (off with --pid) */

#include "tracked.bpf.h"

/* lifecycle events for userspace; a burst of execs beyond this is counted as dropped */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} proc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} pw_drops SEC(".maps");

static __always_inline void count_drop(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&pw_drops, &reason);

	if (v)
		(*v)++;
}

static __always_inline void emit(__u32 type, __u32 pid, __u32 ppid)
{
	struct ph_proc_event *e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);

	if (!e) {
		count_drop(PW_DROP_EVENTS);
		return;
	}
	e->type = type;
	e->pid = pid;
	e->ppid = ppid;
	e->pad = 0;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct tracked t = { .state = TRACKED_PENDING };
	__u32 pid = BPF_CORE_READ(p, tgid);

	if (!targ_follow && !bpf_map_lookup_elem(&tracked_pids, &pid))
		return 0;
	/* Trace from the first instruction so that counts of a process started while pyhound
	 * runs are exact; userspace confirms or forgets it within milliseconds. */
	if (targ_follow && bpf_map_update_elem(&tracked_pids, &pid, &t, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&tracked_pids, &pid))
		count_drop(PW_DROP_TRACKED_FULL);
	emit(PROC_EV_EXEC, pid, 0);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pw_fork, struct task_struct *parent, struct task_struct *child)
{
	struct tracked t = { .state = TRACKED_PYTHON }, *pt;
	__u32 ppid = BPF_CORE_READ(parent, tgid);
	__u32 cpid = BPF_CORE_READ(child, tgid);

	if (!targ_follow || ppid == cpid) /* a new thread, not a new process */
		return 0;
	pt = bpf_map_lookup_elem(&tracked_pids, &ppid);
	if (!pt || pt->state != TRACKED_PYTHON)
		return 0;
	if (bpf_map_update_elem(&tracked_pids, &cpid, &t, BPF_ANY))
		count_drop(PW_DROP_TRACKED_FULL);
	emit(PROC_EV_FORK, cpid, ppid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pw_exit, struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, tgid);

	/* signal->live reaches 0 when the last thread of the process exits */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (!bpf_map_lookup_elem(&tracked_pids, &pid))
		return 0;
	bpf_map_delete_elem(&tracked_pids, &pid);
	emit(PROC_EV_EXIT, pid, 0);
	return 0;
}
