/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The blocked-event-loop finding (report --mode wall): from each thread's wall-clock samples in
 * time order, the stretches where an asyncio event loop did not get back to its selector while
 * one callback or task step ran: every sample of the stretch under BaseEventLoop._run_once is in
 * the same handler (the first frame below the loop that is not asyncio's own code), none in the
 * selector (selectors.py) or the loop's own code between callbacks. A stretch lasts at least
 * from its first to its last sample (a lower bound: the true block is longer by up to a sample
 * interval at each end); stretches of LOOP_BLOCK_MIN_S or more make the finding. Samples of the
 * handler waiting for a CPU ([runnable]) neither start nor lengthen a stretch: a starved host is
 * not the program blocking its loop. */
#ifndef PYHOUND_LOOPBLOCK_H
#define PYHOUND_LOOPBLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/profile.h"

#define LOOP_BLOCK_MIN_S 0.1   /* a stretch this long (first to last sample) is a block */
#define LOOP_BLOCK_THREADS 1024 /* threads followed at once; more are counted, not followed */
#define LOOP_BLOCK_STACK 512	/* the blocking stack as text, handler to leaf */

struct loopblock;

struct loopblock_result {
	pid_t tid;		   /* the loop thread with the longest block */
	uint64_t blocks;	   /* stretches >= LOOP_BLOCK_MIN_S, all loop threads */
	double longest_s, total_s; /* the longest, and all of them (lower bounds) */
	uint64_t longest_samples;  /* samples in the longest */
	uint64_t loop_samples;	   /* samples of loop threads (under _run_once) */
	char handler[160];	   /* the longest block's handler (the task's or callback's
				      outermost frame): "name (file:line)" */
	char blocker[160];	   /* its innermost Python frame: the call that blocked */
	char stack[LOOP_BLOCK_STACK]; /* handler ... leaf, " > " between frames */
};

struct loopblock *loopblock_new(void);
void loopblock_free(struct loopblock *lb);
/* One sample (frames root first; a wall sample's leaf may be a pseudo-frame such as
 * "[syscall:clock_nanosleep]"), taken at ts_ns; each thread's samples in time order. */
void loopblock_add(struct loopblock *lb, pid_t pid, pid_t tid, const struct prof_frame *f,
		   uint32_t n, uint64_t ts_ns);
/* Close the stretches still open (end of the window). */
void loopblock_finish(struct loopblock *lb);
/* pid's result; false when none of its threads ran an event loop. */
bool loopblock_get(const struct loopblock *lb, pid_t pid, struct loopblock_result *out);
uint64_t loopblock_untracked(const struct loopblock *lb); /* samples of threads over the bound */

#endif
