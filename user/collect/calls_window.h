/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Budget windows for the exact-call probes (user/calls.c): attach for windows sized so that the
 * probes' measured cost (hits x (trap + BPF time)) stays within a share of the time, count
 * exactly inside them. Used by `pyhound calls` and by serve. */
#ifndef PYHOUND_CALLS_WINDOW_H
#define PYHOUND_CALLS_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include "collect/calls_user.h"

struct calls_window {
	struct calls_collector *c;
	double budget;		/* percent of time; >= 100: attached throughout */
	double trap_ns;		/* one hit's trap (calibrated), without the BPF program */
	double hit_ns;		/* trap + BPF time per hit, as last measured */
	double frac;		/* share of each period to be attached */
	uint64_t start, win_start, next, period;
	uint64_t hits0, bpf0;	/* counters at the window's start */
	uint64_t covered_ns;	/* time attached, closed windows */
	double spent0;		/* probe cost before the budget last changed */
	int windows;		/* windows closed */
	double rate;		/* probe hits per second in the last window */
	uint64_t len;		/* the next window's length */
	uint64_t last_len;	/* the last window's (a window grows at most 4x on the last) */
	uint64_t attach_ns;	/* the last attach took this long */
	uint64_t attach_hits;	/* hits while the last window's probes went in */
	double slop_ns;		/* cost of the hits while attaching and detaching, last window */
	uint64_t end;		/* no window goes past this time (0: open-ended, serve) */
	uint64_t rng;		/* window start jitter */
};

/* Start: attach (the first window measures the hit rate). 0 or -errno. */
int calls_window_start(struct calls_window *w, struct calls_collector *c, double budget,
		       double trap_ns, uint64_t now);
/* No window goes past end (a run's end): the budget then holds over the whole run. */
void calls_window_set_end(struct calls_window *w, uint64_t end);
/* A new budget from now on (a reload): the cost so far no longer counts against it. */
int calls_window_set_budget(struct calls_window *w, double budget, uint64_t now);
/* Call from the poll loop at or after *wake: opens/closes windows. Returns 0 or -errno, and the
 * time it wants to be called next in *wake. */
int calls_window_step(struct calls_window *w, uint64_t now, uint64_t *wake);
/* Close the books at the end of a run (the open window counts as covered). */
void calls_window_finish(struct calls_window *w, uint64_t now);
/* Time covered by windows so far, including the open one. */
uint64_t calls_window_covered(const struct calls_window *w, uint64_t now);
/* The probes' estimated cost so far (ns): hits x measured cost per hit. */
double calls_window_spent_ns(const struct calls_window *w);

#endif
