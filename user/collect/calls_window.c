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

/* uniform in [0, 1): window starts are jittered so that they fall at random phases of a
 * periodic workload (a fixed period can keep missing the same part of a loop) */
static double rnd(struct calls_window *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return (double)(w->rng >> 11) / 9007199254740992.0;
}

int calls_window_start(struct calls_window *w, struct calls_collector *c, double budget,
		       double trap_ns, uint64_t now)
{
	uint64_t t0;
	int err;

	memset(w, 0, sizeof(*w));
	w->c = c;
	w->budget = budget;
	w->trap_ns = w->hit_ns = trap_ns;
	w->frac = 1;
	w->period = WINDOW_PERIOD_NS;
	w->rng = now | 1;
	t0 = now_ns();
	err = calls_attach(c);
	if (err)
		return err;
	calls_usage_mark(c, CALLS_MARK_OPEN);
	/* attaching takes 10-100 ms: the first window starts when the probes are in */
	now = now_ns();
	w->attach_ns = now - t0;
	w->start = w->win_start = now;
	w->hits0 = calls_hits(c, &w->bpf0);
	w->next = budget >= 100 ? UINT64_MAX : now + FIRST_WINDOW_NS;
	return 0;
}

void calls_window_set_end(struct calls_window *w, uint64_t end)
{
	w->end = end;
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
	w->rate = rate;
	w->frac = rate > 0 ? w->budget / 100.0 / (rate * w->hit_ns * 1e-9) : 1;
	if (w->frac > 1)
		w->frac = 1;
	w->period = WINDOW_PERIOD_NS;
	if (w->frac * w->period < MIN_WINDOW_NS) /* rare windows rather than tiny ones */
		w->period = (uint64_t)(MIN_WINDOW_NS / w->frac);
	w->covered_ns += now - w->win_start;
	w->last_len = now - w->win_start;
	pr_debug("calls: window: %.0f hits/s at %.0f ns, next %.1f ms every %.1f s", rate,
		 w->hit_ns, w->frac * w->period / 1e6, w->period / 1e9);
}

/* When the next window opens and how long it lasts. It opens only once the probes' whole cost
 * so far plus its own (its hits at the last rate, attach and detach included) fits in the
 * budget of the time up to its end, and it ends by w->end: so the budget holds over a run. */
static void schedule_next(struct calls_window *w, uint64_t closed_start, uint64_t now)
{
	double b = w->budget / 100.0, spent = calls_window_spent_ns(w) - w->spent0;
	double per_ns = w->rate * w->hit_ns * 1e-9; /* probe cost per ns attached */
	double jit = 0.5 + rnd(w);
	uint64_t len = (uint64_t)(w->frac * w->period), next;

	/* a rate measured on few hits (a process idle in the window) is no guide: windows grow
	 * at most 4x, the cost of a wrong guess with them */
	if (len > 4 * w->last_len)
		len = 4 * w->last_len;
	if (len < MIN_WINDOW_NS)
		len = MIN_WINDOW_NS;
	next = closed_start + (uint64_t)(jit * w->period);
	if (next <= now)
		next = now + (uint64_t)(jit * (1 - w->frac) * w->period);
	for (int pass = 0; pass < 2; pass++) {
		double due = (double)w->start + (spent + per_ns * (double)len + w->slop_ns) / b -
			     (double)len;

		if (due > (double)next)
			next = (uint64_t)due;
		if (!w->end || next + len <= w->end)
			break;
		/* the run ends first: a shorter last window, or none */
		if (next + MIN_WINDOW_NS > w->end) {
			next = UINT64_MAX;
			break;
		}
		len = w->end - next;
	}
	w->len = len;
	w->next = next;
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
		uint64_t h0, t0, closed_start = w->win_start;

		if (w->budget >= 100) { /* continuous: no window to close */
			w->next = UINT64_MAX;
			*wake = w->next;
			return 0;
		}
		close_window(w, now);
		spent = calls_window_spent_ns(w) - w->spent0;
		if (w->frac >= 1 && spent <= allowed && (!w->end || now + RECHECK_NS < w->end)) {
			/* cheap enough: stay attached, look again soon */
			w->win_start = now;
			w->hits0 = calls_hits(w->c, &w->bpf0);
			w->next = now + RECHECK_NS;
			*wake = w->next;
			return 0;
		}
		w->windows++;
		h0 = calls_hits(w->c, NULL);
		/* CPU time up to the detach: the breakpoints go at its start, its wait for an RCU
		 * grace period (tens of ms) runs unprobed */
		calls_usage_mark(w->c, CALLS_MARK_CLOSE);
		t0 = now_ns();
		calls_detach(w->c);
		now = now_ns();
		h0 = calls_hits(w->c, NULL) - h0;
		/* probes firing while going in and out: their cost is the next window's too */
		w->slop_ns = (double)(h0 + w->attach_hits) * w->hit_ns;
		pr_debug("calls: detach took %.1f ms, %llu hits meanwhile", (now - t0) / 1e6,
			 (unsigned long long)h0);
		schedule_next(w, closed_start, now);
	} else {
		uint64_t t0 = now, h0 = calls_hits(w->c, NULL);

		calls_reset_shadow(w->c);
		/* the hits of the first sites while the others attach count in the cost, not in
		 * the window's rate (its time starts when every probe is in) */
		err = calls_attach(w->c);
		if (err)
			return err;
		calls_usage_mark(w->c, CALLS_MARK_OPEN); /* CPU time from when every probe is in */
		w->hits0 = calls_hits(w->c, &w->bpf0);
		w->attach_hits = w->hits0 - h0;
		now = now_ns();
		w->attach_ns = now - t0;
		pr_debug("calls: attach took %.1f ms", (now - t0) / 1e6);
		/* covered from when every probe is in (the sites are registered one by one) */
		w->win_start = now;
		w->next = now + w->len;
		if (w->end && w->next > w->end)
			w->next = w->end;
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
			calls_usage_mark(w->c, CALLS_MARK_OPEN);
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
		calls_usage_mark(w->c, CALLS_MARK_CLOSE);
	} else {
		calls_usage_mark(w->c, CALLS_MARK_REFRESH);
	}
}
