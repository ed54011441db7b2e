/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Exact Python call counts and per-call latency (bpf/calls.bpf.c): what userspace tells the
 * probes about each process, and the aggregates they keep per (process, code object). */
#ifndef PYHOUND_CALLS_H
#define PYHOUND_CALLS_H

#ifndef __VMLINUX_H__ /* BPF side: vmlinux.h has the __u* types */
#include <linux/types.h>
#endif

#define CALLS_LAT_SLOTS 40	 /* log2 of nanoseconds */
#define CALLS_STACK_DEPTH 64	 /* shadow stack entries per thread (a ring: power of two) */
#define CALLS_MAX_STATS 262144	 /* hard cap on (process, code object) entries */
#define CALLS_RESUME_OPS 3	 /* RESUME and its specialised forms */
#define CALLS_OP_NONE 0xffff

/* How calls are seen in a process. */
enum calls_source {
	CALLS_SRC_EVAL_ENTRY = 1, /* 3.8-3.10: _PyEval_EvalFrameDefault entry block + RETURN_VALUE */
	CALLS_SRC_RESUME = 2,	  /* 3.11+: RESUME handlers + RETURN_VALUE / RETURN_CONST */
	CALLS_SRC_USDT = 3,	  /* python:function__return (counts only, no latency) */
};

/* value of the calls_procs map, keyed by PID (tgid) */
struct calls_proc {
	__u64 runtime_addr;	 /* absolute address of _PyRuntime */
	__u32 tsd_base;		 /* pthread key k's value at fsbase + tsd_base + k * tsd_stride */
	__u32 tsd_stride;
	__u32 tsd_max_keys;
	__u16 source;		 /* enum calls_source */
	__u16 entry_arg;	 /* CALLS_SRC_EVAL_ENTRY: the frame is argument 1 or 2 */
	__u16 runtime_tsskey;	 /* offsets, as in struct py_offsets */
	__u16 tstate_thread_id;
	__u16 tstate_frame;
	__u16 cframe_current_frame; /* PY_OFF_NONE when the frame hangs off tstate directly */
	__u16 frame_code;
	__u16 frame_lasti;	    /* f_lasti (int) before 3.11, the instruction pointer after */
	__u16 frame_owner;	    /* 3.11+ (PY_OFF_NONE before) */
	__s16 gen_state_delta;	    /* USDT 3.11: gi_frame_state relative to the generator frame */
	__u16 resume_ops[CALLS_RESUME_OPS]; /* CALLS_OP_NONE when unused */
	__u16 pad;
	__s32 tss_key;		    /* autoTSSkey's pthread key, -1: read it from _PyRuntime */
	__u32 pad2;
};

struct calls_key {
	__u32 pid;
	__u32 pad;
	__u64 code; /* PyCodeObject address */
};

struct calls_stats {
	__u64 calls;	/* function starts (USDT: returns) */
	__u64 timed;	/* of which returned through a probed return, with the latency below */
	__u64 total_ns;
	__u64 max_ns;
	__u64 unwound;	/* left without a probed return (exception), found when a caller returned */
	__u64 lat[CALLS_LAT_SLOTS];
};

struct calls_frame {
	__u64 frame, code, ts;
};

/* per thread: a ring of the calls in progress, innermost at depth - 1 */
struct calls_shadow {
	__u32 depth; /* total pushes not yet popped; entries below depth - CALLS_STACK_DEPTH are lost */
	__u32 pad;
	struct calls_frame ent[CALLS_STACK_DEPTH];
};

/* per-CPU counters (index in the calls_counters map) */
enum calls_counter {
	CC_HIT_ENTRY = 0,   /* probe hits, per probe kind */
	CC_HIT_RESUME,
	CC_HIT_RETURN,
	CC_HIT_USDT,
	CC_CALLS,	    /* function starts counted */
	CC_GEN_RESUME,	    /* a generator / coroutine resumed: not a new call */
	CC_YIELD,	    /* USDT: a generator suspended, not a return */
	CC_IP_LAG,	    /* 3.11/3.12: instruction pointer not yet stored, next unit used */
	CC_NOT_RESUME,	    /* RESUME probe found another opcode: ignored */
	CC_UNMATCHED,	    /* a return whose call was not seen (started before the window) */
	CC_UNWOUND,	    /* calls discarded from the shadow stack (left by exception) */
	CC_OVERFLOW,	    /* deeper than CALLS_STACK_DEPTH: the outermost call's latency lost */
	CC_DROP_STATS_FULL, /* stats map full: a code object not counted */
	CC_DROP_SHADOW,	    /* shadow map full */
	CC_ERR_NO_PROC,	    /* tracked PID not registered with the collector */
	CC_ERR_TSTATE,	    /* thread state not found / not this thread's */
	CC_ERR_READ,	    /* a read of the frame failed */
	CC_CALIB,	    /* calibration hits (pyhound's own probe) */
	CC_BPF_NS,	    /* nanoseconds spent in the probes' BPF programs (tracked processes) */
	CC_MAX,
};

_Static_assert(sizeof(struct calls_proc) == 56, "calls_proc layout");
_Static_assert(sizeof(struct calls_key) == 16, "calls_key layout");
_Static_assert(sizeof(struct calls_stats) == 8 * (5 + CALLS_LAT_SLOTS), "calls_stats layout");
_Static_assert(sizeof(struct calls_shadow) == 8 + 24 * CALLS_STACK_DEPTH, "calls_shadow layout");

#endif
