// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The floor under bpf/syscalls.bpf.c: an empty tp_btf sys_enter/sys_exit pair. Attached, it
 * costs every syscall of every process the trampoline, the stats bookkeeping (when
 * kernel.bpf_stats_enabled is on) and the syscall slow path, and nothing else. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_exit, struct pt_regs *regs, long ret)
{
	return 0;
}
