// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "lib/log.h"
#include "collect/uprobe_multi.h"

/* The link_create part of union bpf_attr for uprobe_multi as the kernel (6.6+) defines it; the
 * installed UAPI headers (Linux 6.1) predate it. */
struct link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 um_flags;
	__u32 pid;
};

_Static_assert(sizeof(struct link_create_uprobe_multi) <= sizeof(union bpf_attr),
	       "fits bpf_attr");

int uprobe_multi_attach(int prog_fd, const char *path, const uint64_t *offsets,
			const uint64_t *ref_ctr_offsets, const uint64_t *cookies, unsigned int cnt,
			pid_t pid)
{
	return uprobe_multi_attach_flags(prog_fd, path, offsets, ref_ctr_offsets, cookies, cnt,
					 pid, 0);
}

int uprobe_multi_attach_flags(int prog_fd, const char *path, const uint64_t *offsets,
			      const uint64_t *ref_ctr_offsets, const uint64_t *cookies,
			      unsigned int cnt, pid_t pid, unsigned int flags)
{
	union bpf_attr attr;
	struct link_create_uprobe_multi *a = (void *)&attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	a->prog_fd = prog_fd;
	a->attach_type = UPROBE_MULTI_ATTACH_TYPE;
	a->path = (uintptr_t)path;
	a->offsets = (uintptr_t)offsets;
	a->ref_ctr_offsets = (uintptr_t)ref_ctr_offsets;
	a->cookies = (uintptr_t)cookies;
	a->cnt = cnt;
	a->um_flags = flags;
	a->pid = pid;
	fd = syscall(SYS_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

/* Load an empty kprobe-type program for uprobe_multi and ask for a link on "/": a kernel that
 * knows uprobe_multi refuses a directory with EBADF; one that does not, with EINVAL. */
static bool probe_support(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, lo, .expected_attach_type = UPROBE_MULTI_ATTACH_TYPE);
	uint64_t off = 0;
	int prog, link, err;

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "um_probe", "GPL", insns, 2, &lo);
	if (prog < 0) {
		pr_debug("uprobe_multi: test program refused: %s", strerror(errno));
		return false;
	}
	link = uprobe_multi_attach(prog, "/", &off, NULL, NULL, 1, 0);
	err = link < 0 ? link : 0;
	if (link >= 0)
		close(link);
	close(prog);
	pr_debug("uprobe_multi: test link on '/': %s", err ? strerror(-err) : "created");
	return err == -EBADF;
}

bool uprobe_multi_supported(void)
{
	static int cached = -1;
	const char *off = getenv("PYHOUND_NO_UPROBE_MULTI"); /* tests: the path of older kernels */

	if (cached < 0)
		cached = off && *off == '1' ? 0 : probe_support();
	return cached;
}
