/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Budget windows for a collector's probes, through its ops: attach for windows sized so that
 * the probes' modelled cost (hits x (trap + BPF time per hit)) stays within a share of the
 * time, detach between them. The same scheduling as the calls collector's (calls_window.c:
 * the first window measures the hit rate, each window's rate sizes the next, starts jittered,
 * at least 5 ms a window, the whole run's cost held to the budget), for any collector: used by
 * the queries collector (user/collect/queries.c). */
#ifndef PYHOUND_PROBE_WINDOW_H
#define PYHOUND_PROBE_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

struct probe_window_ops {
	int (*attach)(void *ctx);			 /* 0 or -errno */
	void (*detach)(void *ctx);			 /* returns once no probe can fire */
	uint64_t (*hits)(void *ctx, uint64_t *bpf_ns); /* every hit so far (and BPF time) */
};

struct probe_window {
	struct probe_window_ops ops;
	void *ctx;
	bool attached;
	double budget;	/* percent of time; >= 100: attached throughout */
	double trap_ns; /* one hit's trap (calibrated), without the BPF program */
	double hit_ns;	/* trap + BPF time per hit, as last measured */
	double frac;	/* share of each period to be attached */
	uint64_t start, win_start, next, period;
	uint64_t hits0, bpf0; /* counters at the window's start */
	uint64_t covered_ns;  /* time attached, closed windows */
	double spent0;	      /* probe cost before the budget last changed */
	int windows;	      /* windows closed */
	double rate;	      /* probe hits per second in the last window */
	uint64_t len;	      /* the next window's length */
	uint64_t last_len;    /* the last window's (a window grows at most 4x on the last) */
	uint64_t attach_hits; /* hits while the last window's probes went in */
	double slop_ns;	      /* cost of the hits while attaching and detaching, last window */
	uint64_t end;	      /* no window goes past this time (0: open-ended, serve) */
	uint64_t rng;	      /* window start jitter */
};

/* Start: the probes are taken as attached (the collector attaches them when it finds the
 * libraries); the first window measures the hit rate. */
void probe_window_start(struct probe_window *w, const struct probe_window_ops *ops, void *ctx,
			double budget, double trap_ns, uint64_t now);
/* No window goes past end (a run's end): the budget then holds over the whole run. */
void probe_window_set_end(struct probe_window *w, uint64_t end);
/* A new budget from now on (a reload): the cost so far no longer counts against it. */
int probe_window_set_budget(struct probe_window *w, double budget, uint64_t now);
/* Call from the poll loop at or after *wake: opens/closes windows. 0 or -errno, and the time
 * it wants to be called next in *wake. */
int probe_window_step(struct probe_window *w, uint64_t now, uint64_t *wake);
/* Close the books at the end of a run (the open window counts as covered). */
void probe_window_finish(struct probe_window *w, uint64_t now);
/* Time covered by windows so far, including the open one. */
uint64_t probe_window_covered(const struct probe_window *w, uint64_t now);
/* The probes' modelled cost so far (ns): hits x (trap + measured BPF time per hit). */
double probe_window_spent_ns(const struct probe_window *w);

#endif
