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
#define CALLS_READ_MAX 256
#define CALLS_NAME_BYTES 128	 /* a qualified name's first bytes, captured at first sight */
#define CALLS_FILE_BYTES 192	 /* a file name's last bytes */
#define CALLS_MAX_NAMES 65536	 /* hard cap on names waiting for userspace */	 /* bytes of a thread state / frame read at once by a probe */

/* How calls are seen in a process. */
enum calls_source {
	CALLS_SRC_EVAL_ENTRY = 1, /* 3.8-3.10: _PyEval_EvalFrameDefault entry block + RETURN_VALUE */
	CALLS_SRC_RESUME = 2,	  /* 3.11+: RESUME handlers + RETURN_VALUE / RETURN_CONST */
	CALLS_SRC_USDT = 3,	  /* python:function__return (counts only, no latency) */
};

/* what a probe site is (its attach cookie) */
enum calls_site_kind {
	CALLS_SITE_EVAL_ENTRY = 0, /* _PyEval_EvalFrameDefault's entry block (3.8-3.10) */
	CALLS_SITE_RESUME = 1,	   /* a RESUME handler (3.11+) */
	CALLS_SITE_RETURN = 2,	   /* RETURN_VALUE / RETURN_CONST: the thread's innermost frame */
	CALLS_SITE_RETURN_ARG2 = 3, /* a return handler's call whose 2nd argument is the frame */
	CALLS_SITE_USDT_RETURN = 4, /* python:function__return */
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
	__u16 frame_code_tag;	    /* low tag bits to clear in frame_code (3.14+), or 0 */
	__s32 tss_key;		    /* autoTSSkey's pthread key, -1: read it from _PyRuntime */
	/* one read of [lo, lo + len) covers the fields a probe needs (each read of user memory
	 * costs about as much as the rest of the probe): thread state (thread id, frame or
	 * cframe) and frame (code, instruction, owner); len < CALLS_READ_MAX */
	__u16 tstate_read_lo, tstate_read_len;
	__u16 frame_read_lo, frame_read_len;
	/* naming a code object the first time it is called: its span of (first line, name,
	 * file) read on every call for a fingerprint, the string layout to copy names */
	__u16 code_read_lo, code_read_len;
	__u16 code_firstlineno;
	__u16 code_name;	/* co_name: the fingerprint's name object */
	__u16 code_qualname;	/* the name shown: co_qualname (3.11+), else co_name */
	__u16 code_filename;
	__u16 unicode_length, unicode_state, unicode_ascii_data, unicode_compact_data;
	__u16 unicode_hash;
	__u16 tstate_src;	/* enum ph_tstate_src (sampler.h): TSD key, or TLS (3.15+) */
	__u64 hits;		/* probe hits in this process (the probes add; its share of the cost) */
	__s64 tls_offset;	/* PH_TSTATE_TLS: the thread state pointer is at fsbase + this */
	/* USDT 3.15: the hook fires in YIELD_VALUE after the frame was moved past it (to the
	 * RESUME every yield is followed by), before the generator's state is set: a return
	 * whose frame is just past one of these opcodes is a yield (CALLS_OP_NONE: unused) */
	__u16 usdt_yield_ops[2];
	__u32 pad;
};

struct calls_key {
	__u32 pid;
	__u32 fp;   /* fingerprint of (name object, first line): a new code object at a freed
		     * one's address is another key */
	__u64 code; /* PyCodeObject address */
};

/* A code object's name as the probe copied it when it was first called (raw string bytes of
 * kind 1, 2 or 4; kind 0: not captured), waiting in calls_names for userspace. */
struct calls_name {
	__u64 name_ptr;
	__u32 first_line;
	__u16 name_bytes, file_bytes;
	__u8 name_kind, file_kind;
	__u8 name_cut, file_cut; /* longer than captured: the name's end / the file's start cut */
	__u32 pad;
	__u8 name[CALLS_NAME_BYTES];
	__u8 file[CALLS_FILE_BYTES];
};

struct calls_stats {
	__u64 calls;	/* function starts (USDT: returns) */
	__u64 timed;	/* of which returned through a probed return, with the latency below */
	__u64 total_ns;
	__u64 max_ns;
	__u64 unwound;	/* left without a probed return (exception), found when a caller returned */
	__u64 name_ptr; /* the fingerprint's parts, to check a name read later */
	__u32 first_line;
	__u32 pad;
	__u64 lat[CALLS_LAT_SLOTS];
};

struct calls_frame {
	__u64 frame, code, ts;
	__u32 fp, pad;
};

/* a generator / coroutine started and not yet returned (3.11+): its frame lives in the
 * generator object, at the same address across suspensions */
struct calls_gen_key {
	__u32 pid, pad;
	__u64 frame;
};

#define CALLS_MAX_GENS 16384 /* generators / coroutines in progress (LRU: abandoned ones go) */

/* per thread (task storage): a ring of the calls in progress, innermost at depth - 1, and
 * room for what a probe reads (per thread: a probe may be preempted, a per-CPU buffer would be
 * shared with the next thread on the CPU) */
struct calls_shadow {
	__u32 depth; /* total pushes not yet popped; entries below depth - CALLS_STACK_DEPTH are lost */
	__u32 gen;   /* the window it belongs to: an older one is emptied first */
	struct calls_frame ent[CALLS_STACK_DEPTH];
	__u8 tstate[CALLS_READ_MAX];
	__u8 frame[CALLS_READ_MAX];
	__u8 code[CALLS_READ_MAX];
	struct calls_name name;
};

/* A code object's fingerprint from its co_name object's address and hash and its first line
 * (the probes and userspace compute the same). */
#define CALLS_FP(name_ptr, hash, first)                                                        \
	((((__u32)((name_ptr) >> 3) ^ (__u32)(hash) ^ (__u32)((__u64)(hash) >> 32)) *            \
	  0x9e3779b1u) ^ (__u32)(first))

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
	CC_NAMED,	    /* code objects named at first sight */
	CC_DROP_NAMES,	    /* names map full / name unreadable: named later by userspace */
	CC_CALIB,	    /* calibration hits (pyhound's own probe) */
	CC_HIT_SEQ,	    /* every probe hit, of any process (picks the timed ones) */
	CC_TIMED,	    /* probe runs timed (one in 16) */
	CC_BPF_NS,	    /* nanoseconds the timed runs took */
	CC_GEN_TIMED,	    /* generators / coroutines timed from first start to final return */
	CC_MAX,
};

_Static_assert(sizeof(struct calls_proc) == 112, "calls_proc layout");
_Static_assert(sizeof(struct calls_name) == 24 + CALLS_NAME_BYTES + CALLS_FILE_BYTES,
	       "calls_name layout");
_Static_assert(sizeof(struct calls_key) == 16, "calls_key layout");
_Static_assert(sizeof(struct calls_stats) == 8 * (7 + CALLS_LAT_SLOTS), "calls_stats layout");
_Static_assert(sizeof(struct calls_shadow) == 8 + 32 * CALLS_STACK_DEPTH + 3 * CALLS_READ_MAX +
		       sizeof(struct calls_name), "calls_shadow layout");

#endif
