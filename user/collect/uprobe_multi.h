/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* uprobe_multi links (BPF_TRACE_UPROBE_MULTI, Linux 6.6+): one link for many offsets of one
 * file. Closing it removes every breakpoint first and then waits for one RCU grace period,
 * where perf-event uprobe links (one per offset) are torn down one after another, each wait
 * leaving the later breakpoints trapping in the target without running a program. libbpf 1.1
 * (Debian 12) has no API for them: the link is created with the bpf(2) syscall here. */
#ifndef PYHOUND_UPROBE_MULTI_H
#define PYHOUND_UPROBE_MULTI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define UPROBE_MULTI_ATTACH_TYPE 48 /* BPF_TRACE_UPROBE_MULTI in the kernel's enum bpf_attach_type */

/* Whether this kernel creates uprobe_multi links (probed once, cached). A program to be
 * attached that way must be loaded with expected_attach_type UPROBE_MULTI_ATTACH_TYPE. */
bool uprobe_multi_supported(void);

/* Attach prog_fd at cnt file offsets of path (cookies[i], read with bpf_get_attach_cookie;
 * ref_ctr_offsets[i]: a USDT semaphore's file offset or 0; both arrays may be NULL), in process
 * pid only (0: every process mapping the file). The link's fd (close it to detach), or -errno. */
int uprobe_multi_attach(int prog_fd, const char *path, const uint64_t *offsets,
			const uint64_t *ref_ctr_offsets, const uint64_t *cookies, unsigned int cnt,
			pid_t pid);

#define UPROBE_MULTI_RETURN 1 /* BPF_F_UPROBE_MULTI_RETURN: return probes (uretprobes) */
/* The same with flags (UPROBE_MULTI_RETURN). */
int uprobe_multi_attach_flags(int prog_fd, const char *path, const uint64_t *offsets,
			      const uint64_t *ref_ctr_offsets, const uint64_t *cookies,
			      unsigned int cnt, pid_t pid, unsigned int flags);

#endif
