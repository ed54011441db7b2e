// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "collect/probe_window.h"
#include "host/tracker.h"
#include "lib/log.h"

#define WINDOW_PERIOD_NS 1000000000ULL /* a window starts every second when budget < 100 */
#define FIRST_WINDOW_NS 5000000ULL     /* the first window measures the hit rate */
#define RECHECK_NS 5000000ULL	       /* cheap enough to stay attached: look again soon */
#define MIN_WINDOW_NS 5000000.0	       /* shorter windows would be mostly attach/detach */

double probe_window_spent_ns(const struct probe_window *w)
{
	uint64_t bpf_ns = 0, hits = w->ops.hits(w->ctx, &bpf_ns);

	return (double)hits * w->trap_ns + (double)bpf_ns;
}

/* uniform in [0, 1): window starts fall at random phases of a periodic workload */
static double rnd(struct probe_window *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return (double)(w->rng >> 11) / 9007199254740992.0;
}

void probe_window_start(struct probe_window *w, const struct probe_window_ops *ops, void *ctx,
			double budget, double trap_ns, uint64_t now)
{
	memset(w, 0, sizeof(*w));
	w->ops = *ops;
	w->ctx = ctx;
	w->attached = true;
	w->budget = budget;
	w->trap_ns = w->hit_ns = trap_ns;
	w->frac = 1;
	w->period = WINDOW_PERIOD_NS;
	w->rng = now | 1;
	w->start = w->win_start = now;
	w->hits0 = ops->hits(ctx, &w->bpf0);
	w->next = budget >= 100 ? UINT64_MAX : now + FIRST_WINDOW_NS;
}

void probe_window_set_end(struct probe_window *w, uint64_t end)
{
	w->end = end;
}

uint64_t probe_window_covered(const struct probe_window *w, uint64_t now)
{
	return w->covered_ns + (w->attached && now > w->win_start ? now - w->win_start : 0);
}

/* The window ends: its hit rate sets the share of time that fits the budget. */
static void close_window(struct probe_window *w, uint64_t now)
{
	uint64_t bpf_ns = 0, hits = w->ops.hits(w->ctx, &bpf_ns) - w->hits0;
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
	pr_debug("probe window: %.0f hits/s at %.0f ns, next %.1f ms every %.1f s", rate,
		 w->hit_ns, w->frac * w->period / 1e6, w->period / 1e9);
}

/* When the next window opens and how long it lasts: it opens only once the probes' whole cost
 * so far plus its own (its hits at the last rate, attach and detach included) fits in the
 * budget of the time up to its end, and it ends by w->end. */
static void schedule_next(struct probe_window *w, uint64_t closed_start, uint64_t now)
{
	double b = w->budget / 100.0, spent = probe_window_spent_ns(w) - w->spent0;
	double per_ns = w->rate * w->hit_ns * 1e-9; /* probe cost per ns attached */
	double jit = 0.5 + rnd(w);
	uint64_t len = (uint64_t)(w->frac * w->period), next;

	/* a rate measured on few hits (an idle process) is no guide: at most 4x the last */
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

int probe_window_step(struct probe_window *w, uint64_t now, uint64_t *wake)
{
	int err;

	if (now < w->next) {
		*wake = w->next;
		return 0;
	}
	if (w->attached) {
		double allowed = w->budget / 100.0 * (double)(now - w->start), spent;
		uint64_t h0, t0, closed_start = w->win_start;

		if (w->budget >= 100) { /* continuous: no window to close */
			w->next = UINT64_MAX;
			*wake = w->next;
			return 0;
		}
		close_window(w, now);
		spent = probe_window_spent_ns(w) - w->spent0;
		if (w->frac >= 1 && spent <= allowed && (!w->end || now + RECHECK_NS < w->end)) {
			/* cheap enough: stay attached, look again soon */
			w->win_start = now;
			w->hits0 = w->ops.hits(w->ctx, &w->bpf0);
			w->next = now + RECHECK_NS;
			*wake = w->next;
			return 0;
		}
		w->windows++;
		h0 = w->ops.hits(w->ctx, NULL);
		t0 = now_ns();
		w->ops.detach(w->ctx);
		w->attached = false;
		now = now_ns();
		h0 = w->ops.hits(w->ctx, NULL) - h0;
		/* probes firing while going in and out: their cost is the next window's too */
		w->slop_ns = (double)(h0 + w->attach_hits) * w->hit_ns;
		pr_debug("probe window: detach took %.1f ms, %llu hits meanwhile",
			 (now - t0) / 1e6, (unsigned long long)h0);
		schedule_next(w, closed_start, now);
	} else {
		uint64_t t0 = now, h0 = w->ops.hits(w->ctx, NULL);

		err = w->ops.attach(w->ctx);
		if (err)
			return err;
		w->attached = true;
		w->hits0 = w->ops.hits(w->ctx, &w->bpf0);
		w->attach_hits = w->hits0 - h0;
		now = now_ns();
		pr_debug("probe window: attach took %.1f ms", (now - t0) / 1e6);
		/* covered from when every probe is in */
		w->win_start = now;
		w->next = now + w->len;
		if (w->end && w->next > w->end)
			w->next = w->end;
	}
	*wake = w->next;
	return 0;
}

int probe_window_set_budget(struct probe_window *w, double budget, uint64_t now)
{
	int err = 0;

	w->budget = budget;
	w->start = now;
	w->spent0 = probe_window_spent_ns(w);
	w->frac = 1;
	w->period = WINDOW_PERIOD_NS;
	if (budget >= 100) {
		if (!w->attached) {
			err = w->ops.attach(w->ctx);
			w->attached = !err;
			w->hits0 = w->ops.hits(w->ctx, &w->bpf0);
			w->win_start = now_ns();
		}
		w->next = UINT64_MAX;
	} else {
		w->next = now; /* measure the rate again, under the new budget */
	}
	return err;
}

void probe_window_finish(struct probe_window *w, uint64_t now)
{
	if (w->attached && now > w->win_start) {
		w->covered_ns += now - w->win_start;
		w->win_start = now;
		w->windows++;
	}
}
