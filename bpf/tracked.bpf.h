/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The map of tracked processes (tgid -> struct tracked), owned by procwatch.bpf.c and shared by
 * every collector: userspace creates it once (the tracker) and hands its fd to the others with
 * bpf_map__reuse_fd() before they load. Size set from --max-procs, at most PH_MAX_TRACKED. */
#ifndef PYHOUND_TRACKED_BPF_H
#define PYHOUND_TRACKED_BPF_H

#include "procwatch.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tracked);
} tracked_pids SEC(".maps");

#endif
