/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Wall-clock sampling of CPython stacks (bpf/wall.bpf.c): a sleepable task iterator, run by
 * userspace at the sampling rate, samples every thread of every tracked process, on a CPU or
 * not, and says what a thread off the CPU waits for. Samples go to the CPU sampler's ring
 * buffer (struct ph_sample, with PH_SAMPLE_WALL and the state in its flags). */
#ifndef PYHOUND_WALL_H
#define PYHOUND_WALL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum ph_wall_mode {
	PH_MODE_CPU = 0,  /* perf-event CPU sampling (bpf/sampler.bpf.c) */
	PH_MODE_WALL = 1, /* every thread, running or not */
	PH_MODE_GIL = 2,  /* only the thread holding the GIL */
	PH_MODE_MEMORY = 3, /* resident growth per stack (bpf/memory.bpf.c), record only */
};

/* where a thread's GIL (struct _gil_runtime_state) is, per process; filled by userspace */
struct ph_gil_info {
	__u64 gil_addr;	     /* 3.8-3.11: &_PyRuntime.ceval.gil; 0: through the interpreter */
	__u64 interp_addr;   /* 3.12+: &_PyRuntime.interpreters.main (holds the interp pointer) */
	__u32 interp_gil;    /* 3.12+: offsetof(PyInterpreterState, ceval.gil), a pointer */
	__u32 gil_size;	     /* sizeof(struct _gil_runtime_state): a futex inside it is the GIL's */
	__u32 gil_locked;    /* offsetof(..., locked), an int */
	__u32 gil_holder;    /* offsetof(..., last_holder), a PyThreadState pointer */
};

_Static_assert(sizeof(struct ph_gil_info) == 32, "ph_gil_info layout");

#endif
