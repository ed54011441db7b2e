// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include "collect/calls_window.h"
#include "lib/log.h"
#include "host/tracker.h"

#define WINDOW_PERIOD_NS 1000000000ULL /* a window starts every second when budget < 100 */
#define FIRST_WINDOW_NS 5000000ULL     /* the first window measures the hit rate */
#define RECHECK_NS 5000000ULL	       /* attached throughout: look at the cost again */
#define MIN_WINDOW_NS 5000000.0	       /* shorter windows would be mostly attach/detach */

double calls_window_spent_ns(const struct calls_window *w)
{
	uint64_t bpf_ns, hits = calls_hits(w->c, &bpf_ns);

	return (double)hits * w->trap_ns + (double)bpf_ns;
}

int calls_window_start(struct calls_window *w, struct calls_collector *c, double budget,
		       double trap_ns, uint64_t now)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->c = c;
	w->budget = budget;
	w->trap_ns = w->hit_ns = trap_ns;
	w->frac = 1;
	w->period = WINDOW_PERIOD_NS;
	err = calls_attach(c);
	if (err)
		return err;
	/* attaching takes 10-100 ms: the first window starts when the probes are in */
	now = now_ns();
	w->start = w->win_start = now;
	w->hits0 = calls_hits(c, &w->bpf0);
	w->next = budget >= 100 ? UINT64_MAX : now + FIRST_WINDOW_NS;
	return 0;
}

uint64_t calls_window_covered(const struct calls_window *w, uint64_t now)
{
	return w->covered_ns + (calls_attached(w->c) && now > w->win_start ? now - w->win_start : 0);
}

/* The window ends: its hit rate sets the share of time that fits the budget. */
static void close_window(struct calls_window *w, uint64_t now)
{
	uint64_t bpf_ns, hits = calls_hits(w->c, &bpf_ns) - w->hits0;
	double rate = now > w->win_start ? (double)hits * 1e9 / (double)(now - w->win_start) : 0;

	if (hits >= 100) /* the trap plus what the BPF programs took per hit */
		w->hit_ns = w->trap_ns + (double)(bpf_ns - w->bpf0) / hits;
	w->frac = rate > 0 ? w->budget / 100.0 / (rate * w->hit_ns * 1e-9) : 1;
	if (w->frac > 1)
		w->frac = 1;
	w->period = WINDOW_PERIOD_NS;
	if (w->frac * w->period < MIN_WINDOW_NS) /* rare windows rather than tiny ones */
		w->period = (uint64_t)(MIN_WINDOW_NS / w->frac);
	w->covered_ns += now - w->win_start;
	pr_debug("calls: window: %.0f hits/s at %.0f ns, next %.1f ms every %.1f s", rate,
		 w->hit_ns, w->frac * w->period / 1e6, w->period / 1e9);
}

int calls_window_step(struct calls_window *w, uint64_t now, uint64_t *wake)
{
	int err;

	if (now < w->next) {
		*wake = w->next;
		return 0;
	}
	if (calls_attached(w->c)) {
		double allowed = w->budget / 100.0 * (double)(now - w->start), spent;

		if (w->budget >= 100) { /* continuous: no window to close */
			w->next = UINT64_MAX;
			*wake = w->next;
			return 0;
		}
		uint64_t h0, t0, due;

		close_window(w, now);
		if (w->frac >= 1 && calls_window_spent_ns(w) - w->spent0 <= allowed) {
			/* cheap enough: stay attached, look again soon */
			w->win_start = now;
			w->hits0 = calls_hits(w->c, &w->bpf0);
			w->next = now + RECHECK_NS;
			*wake = w->next;
			return 0;
		}
		w->windows++;
		h0 = calls_hits(w->c, NULL);
		t0 = now_ns();
		calls_detach(w->c);
		now = now_ns();
		pr_debug("calls: detach took %.1f ms, %llu hits meanwhile", (now - t0) / 1e6,
			 (unsigned long long)(calls_hits(w->c, NULL) - h0));
		w->next = w->win_start + w->period;
		if (w->next <= now)
			w->next = now + (uint64_t)((1 - w->frac) * w->period);
		/* attach and detach take ms during which probes fire, pyhound may wait for a CPU:
		 * open the next window only once the probes' whole cost so far (every hit, at
		 * its measured cost) fits in the budget of the time so far */
		spent = calls_window_spent_ns(w) - w->spent0;
		due = w->start + (uint64_t)(spent / (w->budget / 100.0));
		if (due > w->next)
			w->next = due;
	} else {
		uint64_t t0 = now;

		calls_reset_shadow(w->c);
		w->hits0 = calls_hits(w->c, &w->bpf0);
		/* the hits of the first sites while the others attach count in the window's rate
		 * (and in the cost) */
		err = calls_attach(w->c);
		if (err)
			return err;
		now = now_ns();
		pr_debug("calls: attach took %.1f ms", (now - t0) / 1e6);
		/* covered from when every probe is in (the sites are registered one by one) */
		w->win_start = now;
		w->next = now + (uint64_t)(w->frac * w->period);
	}
	*wake = w->next;
	return 0;
}

int calls_window_set_budget(struct calls_window *w, double budget, uint64_t now)
{
	int err = 0;

	w->budget = budget;
	w->start = now;
	w->spent0 = calls_window_spent_ns(w);
	w->frac = 1;
	w->period = WINDOW_PERIOD_NS;
	if (budget >= 100) {
		if (!calls_attached(w->c)) {
			calls_reset_shadow(w->c);
			w->hits0 = calls_hits(w->c, &w->bpf0);
			err = calls_attach(w->c);
			w->win_start = now_ns();
		}
		w->next = UINT64_MAX;
	} else {
		w->next = now; /* measure the rate again, under the new budget */
	}
	return err;
}

void calls_window_finish(struct calls_window *w, uint64_t now)
{
	if (calls_attached(w->c) && now > w->win_start) {
		w->covered_ns += now - w->win_start;
		w->win_start = now;
		w->windows++;
	}
}
