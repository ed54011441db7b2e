/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPU sampling of CPython stacks (bpf/sampler.bpf.c): a CPU-clock perf event per online CPU
 * walks the interrupted thread's Python frames in tracked processes; samples come back named
 * (user/symbolize.c) through a callback.
 *
 *   sampler_open(&opts, tracker_map_fd(t), &s)   open, size maps, reuse tracked_pids, load
 *   sampler_add_process(s, &py_proc)             for each tracked CPython process
 *   sampler_attach(s)                            start sampling
 *   loop: sampler_poll(s, 100)                   callbacks run from here
 *   sampler_remove_process(s, pid) when a process exits; sampler_free(s) at the end.
 */
#ifndef PYHOUND_USER_SAMPLER_H
#define PYHOUND_USER_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "host/discover.h"
#include "stack/profile.h"
#include "../../include/sampler.h" /* the BPF-shared records (same name as this file) */
#include "wall.h"
#include "cpython/symbolize.h"

/* One named sample. frames: root (outermost) first, leaf last; valid during the call only. */
typedef void (*sampler_cb)(void *ctx, pid_t pid, pid_t tid, const struct prof_frame *frames,
			   uint32_t nframes, bool truncated, bool in_syscall);

struct sampler_opts {
	unsigned int freq_hz;	 /* samples per second per CPU; 0: 99 */
	unsigned int max_procs;	 /* proc_info map size; 0: 4096 (hard cap PH_MAX_PROCS) */
	unsigned int ringbuf_kb; /* ring buffer size; 0: 8192, rounded up to a power of two */
	/* Unaliased sampling: the CPU-clock event ticks oversample x faster and BPF keeps a tick
	 * with probability 1/oversample; 0: min(8, 8000 / freq_hz), at least 1. */
	unsigned int oversample;
	bool fixed_period; /* no random period changes (to measure the aliasing of old) */
	bool no_ops;	   /* no opcode attribution (benchmarks: bench/opcodes.sh) */
	bool time_ops;	   /* time each attribution (op_timed, op_ns; bench/opcodes.sh) */
	/* enum ph_wall_mode: PH_MODE_CPU (perf events), PH_MODE_WALL (every thread, a task
	 * iterator; off-CPU threads get a leaf pseudo-frame [gil], [syscall:NAME], [runnable] or
	 * [blocked]), PH_MODE_GIL (only the thread holding the GIL) */
	int mode;
	sampler_cb cb;
	void *ctx;
};

struct sampler_stats {
	uint64_t bpf[SMP_STAT_MAX]; /* enum ph_sampler_stat, summed over CPUs */
	uint64_t received;	    /* samples delivered to the callback */
	uint64_t bad_records;	    /* malformed ring buffer records */
	uint64_t unknown_frames;    /* frames the symbolizer could not name */
	uint64_t jitters;	    /* random period changes applied (one per CPU event) */
	uint64_t jitter_errors;	    /* ... that failed (the event keeps its period) */
	uint64_t wall_runs, wall_run_ns; /* wall/gil: task-iterator runs and their time */
	uint64_t wall_late;	    /* ... started more than a period late (host busy) */
	uint64_t wall_errors;	    /* ... that failed */
	uint64_t gil_unknown;	    /* processes without a known GIL location */
	uint64_t op_timed, op_ns;   /* time_ops: opcode attributions timed, their time */
	struct symbolizer_stats sym;
};

struct sampler;

/* tracked_fd: the tracker's tracked_pids map to share, or -1 for a private map (then
 * sampler_add_process() also marks the process tracked). 0 or -errno. */
int sampler_open(const struct sampler_opts *opts, int tracked_fd, struct sampler **out);
/* Register a CPython process: offsets (3.13: validated against the interpreter's own debug
 * offsets), runtime and PyCode_Type addresses. 0, -ENOTSUP / -EPROTO (version or layout not
 * supported), -ENOSPC (map full), -errno. */
int sampler_add_process(struct sampler *s, const struct py_proc *p);
int sampler_remove_process(struct sampler *s, pid_t pid);
/* Open and attach one CPU-clock perf event per online CPU. 0 or -errno. */
int sampler_attach(struct sampler *s);
/* Deliver pending samples through the callback, waiting up to timeout_ms; also gives the
 * events new random periods when due (unless fixed_period). Returns the number
 * of samples handled (>= 0) or -errno; -EINTR is not an error for the caller's loop. */
int sampler_poll(struct sampler *s, int timeout_ms);
/* Fill st; 0 or -errno. */
int sampler_stats(struct sampler *s, struct sampler_stats *st);
const char *sampler_stat_name(unsigned int stat); /* enum ph_sampler_stat -> "samples", ... */
int sampler_tracked_fd(const struct sampler *s);  /* the tracked_pids map in use */
void sampler_free(struct sampler *s);
/* During the callback: the instruction the sample's leaf frame sat on (NULL: unknown) and the
 * loops around it in its function. */
void sampler_leaf(const struct sampler *s, const char **op, int *loop_depth);
/* During the callback: when the sample was taken (CLOCK_MONOTONIC ns, bpf_ktime_get_ns()). */
uint64_t sampler_sample_ns(const struct sampler *s);
struct bpf_object *sampler_bpf_object(const struct sampler *s); /* for run-time statistics */
/* For collectors that walk stacks on the sampler's registrations (user/collect/memory.c) */
struct symbolizer *sampler_symbolizer(const struct sampler *s);
int sampler_proc_info_fd(const struct sampler *s);

#endif
