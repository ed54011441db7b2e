/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPU sampling of CPython stacks: what userspace tells the perf_event program about each
 * process, and the records it sends back (one ring buffer, one record type). */
#ifndef PYHOUND_SAMPLER_H
#define PYHOUND_SAMPLER_H

#ifndef __VMLINUX_H__ /* BPF side: vmlinux.h has the __u* types */
#include <linux/types.h>
#endif
#include "py_offsets.h"

#define PH_MAX_FRAMES 128     /* Python frames kept per sample; deeper stacks are truncated */
#define PH_WALK_EXTRA 64      /* extra loop steps for skipped (shim) frames */
#define PH_MAX_PROCS 65536    /* hard cap on the proc_info map */

/* glibc 2.36 x86_64: pthread_getspecific(k) for k < 32 is *(fsbase + 0x310 + 16 * k + 8).
 * The sampler learns this from each target's libc instead (host/libc_tsd.h). */
#define PH_TSD_GLIBC_BASE (0x310 + 8)
#define PH_TSD_GLIBC_STRIDE 16
#define PH_TSD_GLIBC_KEYS 32

/* How the walker finds the interrupted thread's PyThreadState (user/cpython/tstate_locate.c) */
enum ph_tstate_src {
	PH_TSTATE_TSD = 0, /* pthread_getspecific(*(runtime + off.runtime_tsskey)): glibc's
			      thread-specific data at fsbase + tsd_base + key * tsd_stride */
	PH_TSTATE_TLS = 1, /* a thread-local pointer at fsbase + tls_offset (3.15+) */
};

/* value of the proc_info map, keyed by PID (tgid); filled by sampler_add_process() */
struct py_proc_info {
	struct py_offsets off;
	__u64 runtime_addr;   /* absolute address of _PyRuntime */
	__u64 code_type_addr; /* absolute address of PyCode_Type (0: don't check frame code) */
	__u32 tsd_base;	      /* TSD: value of pthread key k at fsbase + tsd_base + k * tsd_stride */
	__u32 tsd_stride;
	__u32 tsd_max_keys;   /* keys at or above this are not in the static block */
	__u32 tstate_src;     /* enum ph_tstate_src */
	__s64 tls_offset;     /* TLS: the tstate pointer is at fsbase + tls_offset */
};

struct ph_frame {
	__u64 code;	   /* PyCodeObject address */
	__u64 name;	   /* co_name pointer: with first_line, a fingerprint against address reuse */
	__s32 instr;	   /* byte offset of the current instruction in the bytecode; < 0: none yet */
	__u32 first_line;  /* co_firstlineno */
};

enum ph_sample_flags {
	PH_SAMPLE_TRUNCATED = 1, /* more than PH_MAX_FRAMES frames: the outermost are missing */
	PH_SAMPLE_IN_SYSCALL = 2, /* interrupted in the kernel inside a syscall, not running Python
				     (kernel mode for an interrupt, fault or preemption is not) */
	PH_SAMPLE_WALL = 4,	  /* from the wall-clock sampler: thread state in PH_WALL_STATE() */
	PH_SAMPLE_GIL_HELD = 8,	  /* wall: the thread held the GIL (locked, last_holder) */
	PH_SAMPLE_ARGS = 16,	  /* CPU samples: a struct ph_args follows the frames */
};

/* Argument sampling (CPU samples, leaf frame): the first PH_ARG_SLOTS argument slots of the
 * leaf frame's localsplus as the sample saw them (object pointers; 3.14+ tagged _PyStackRefs)
 * and the code's co_argcount. Values are decoded in userspace (user/cpython/argvals.c). */
#define PH_ARG_SLOTS 4
struct ph_args {
	__u64 slot[PH_ARG_SLOTS];
	__u32 argcount; /* co_argcount: slots beyond min(argcount, PH_ARG_SLOTS) are not arguments */
	__u32 pad;
};

/* wall samples: flags bits 8-11 hold enum ph_wall_state, bits 16-31 the syscall number */
enum ph_wall_state {
	PH_WALL_ONCPU = 0,    /* running on a CPU (Python, or the kernel on its behalf) */
	PH_WALL_RUNNABLE = 1, /* ready, waiting for a CPU */
	PH_WALL_GIL = 2,      /* blocked on a futex inside the interpreter's GIL */
	PH_WALL_SYSCALL = 3,  /* blocked in a syscall (the number in PH_WALL_SYSCALL_NR()) */
	PH_WALL_BLOCKED = 4,  /* off the CPU, not in a syscall (page fault, stopped) */
};
#define PH_WALL_FLAGS(state, nr) (((__u32)(state) & 0xf) << 8 | ((__u32)(nr) & 0xffff) << 16)
#define PH_WALL_STATE(flags) (((flags) >> 8) & 0xf)
#define PH_WALL_SYSCALL_NR(flags) ((flags) >> 16)

/* One sample; frames are leaf (innermost) first. Only nframes frames are sent. */
struct ph_sample {
	__u32 pid, tid; /* initial PID namespace */
	__u32 nframes;
	__u32 flags; /* enum ph_sample_flags */
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	struct ph_frame frames[PH_MAX_FRAMES];
};
#define PH_SAMPLE_HDR_SIZE 24

/* per-CPU counters (index in the stats map) */
enum ph_sampler_stat {
	SMP_SAMPLES = 0,      /* samples sent */
	SMP_TRUNCATED,	      /* of which truncated */
	SMP_SKIPPED_FRAMES,   /* shim / non-code frames skipped (not an error) */
	SMP_EMPTY,	      /* thread had no Python frame (e.g. in C before/after the interpreter) */
	SMP_DROP_RINGBUF,     /* ring buffer full: sample lost */
	SMP_ERR_NO_INFO,      /* tracked PID with no proc_info (not registered yet) */
	SMP_ERR_TSS_KEY,      /* autoTSSkey unreadable or out of range */
	SMP_ERR_NO_TSTATE,    /* thread without a PyThreadState (non-Python thread) */
	SMP_ERR_TSTATE_MISMATCH, /* tstate->thread_id != fsbase */
	SMP_ERR_READ,	      /* a read of the frame chain failed: sample dropped */
	SMP_ERR_BAD_CODE,     /* frame code is not a code object: sample dropped */
	SMP_THINNED,	      /* ticks (of any process) discarded by random thinning: the event
				 runs faster than the rate (not an error) */
	SMP_WALL_TICKS,	      /* wall mode: task-iterator runs */
	SMP_WALL_THREADS,     /* wall mode: threads of tracked processes looked at */
	SMP_WALL_NOT_HOLDER,  /* gil mode: threads skipped, not holding the GIL */
	SMP_WALL_DISPLACED,   /* wall: runnable only because the sampling thread took its CPU:
				 sampled as running */
	SMP_STAT_MAX,
};

_Static_assert(sizeof(struct py_proc_info) == 120, "py_proc_info layout");
_Static_assert(sizeof(struct ph_frame) == 24, "ph_frame layout");
_Static_assert(sizeof(struct ph_args) == 40, "ph_args layout");
_Static_assert(sizeof(struct ph_sample) == PH_SAMPLE_HDR_SIZE + 24 * PH_MAX_FRAMES,
	       "ph_sample layout");

#endif
