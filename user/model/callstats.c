// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model/callstats.h"
#include "lib/histo.h"

/* bucket bounds: log2 slots of nanoseconds, every third (x8): ~1 us to ~2.1 s */
static const unsigned int bucket_slots[CALLSTATS_BUCKETS] = { 10, 13, 16, 19, 22, 25, 28, 31 };

unsigned int callstats_bucket_slot(unsigned int i)
{
	return bucket_slots[i < CALLSTATS_BUCKETS ? i : CALLSTATS_BUCKETS - 1];
}

uint64_t callstats_bucket_le_ns(unsigned int i)
{
	return slot_hi(callstats_bucket_slot(i));
}

#define FN_NONE -1 /* not named yet: its calls wait (UNNAMED_WAIT_NS), then go to "other" */
#define FN_FULL -2 /* the process's function table was full: "other" for good */

struct fn {
	char *name, *file;
	uint64_t all;	      /* every call credited to this function */
	bool has_series;
	struct cs_counts series; /* since admission */
	struct cs_counts pend;	 /* credited by the update in progress */
};

struct proc {
	pid_t pid;
	int source;
	bool seen;
	struct cs_counts other;
	struct cs_counts other_pend; /* unnamed functions' calls in the update in progress */
	struct fn *fns;
	size_t nfns, cap;
	struct cs_series *view;
	size_t nview;
};

/* A code object whose name is not known yet (its name was dropped by a full names map, and
 * the fallback reads it from the process later) has its calls held back this long, so that
 * they go to its function once named, not to "other" for good (a call-heavy function's calls
 * may all happen before then). */
#define UNNAMED_WAIT_NS (10 * 1000000000ULL)

/* what the previous update saw of one (process, code object) entry */
struct ent {
	pid_t pid;
	uint32_t first_line;
	uint64_t code, name_ptr;
	struct cs_counts last;	  /* what has been credited (held back: the counts before) */
	uint64_t unnamed_since;	  /* unnamed: when first seen so (CLOCK_MONOTONIC ns), else 0 */
	int fn; /* index in its process's fns, or FN_* */
};

struct callstats {
	struct proc *procs;
	size_t n, cap;
	struct ent *ents; /* sorted by key */
	size_t nents;
};

struct callstats *callstats_new(void)
{
	return calloc(1, sizeof(struct callstats));
}

static void proc_free(struct proc *p)
{
	size_t i;

	for (i = 0; i < p->nfns; i++) {
		free(p->fns[i].name);
		free(p->fns[i].file);
	}
	free(p->fns);
	free(p->view);
}

void callstats_free(struct callstats *cs)
{
	size_t i;

	if (!cs)
		return;
	for (i = 0; i < cs->n; i++)
		proc_free(&cs->procs[i]);
	free(cs->procs);
	free(cs->ents);
	free(cs);
}

static struct proc *find_proc(struct callstats *cs, pid_t pid)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (cs->procs[i].pid == pid)
			return &cs->procs[i];
	return NULL;
}

static struct proc *get_proc(struct callstats *cs, pid_t pid)
{
	struct proc *p = find_proc(cs, pid);

	if (p)
		return p;
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 16;
		void *a = realloc(cs->procs, cap * sizeof(*cs->procs));

		if (!a)
			return NULL;
		cs->procs = a;
		cs->cap = cap;
	}
	memset(&cs->procs[cs->n], 0, sizeof(cs->procs[0]));
	cs->procs[cs->n].pid = pid;
	return &cs->procs[cs->n++];
}

int callstats_set_source(struct callstats *cs, pid_t pid, int source)
{
	struct proc *p = get_proc(cs, pid);

	if (!p)
		return -ENOMEM;
	p->source = source;
	return 0;
}

/* the function (name, file) of process p: its index, FN_FULL, or -ENOMEM */
static int fn_index(struct proc *p, const char *name, const char *file)
{
	struct fn *f;
	size_t i;

	for (i = 0; i < p->nfns; i++)
		if (!strcmp(p->fns[i].name, name) && !strcmp(p->fns[i].file, file))
			return (int)i;
	if (p->nfns >= CALLSTATS_TRACK)
		return FN_FULL;
	if (p->nfns == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		void *a = realloc(p->fns, cap * sizeof(*p->fns));

		if (!a)
			return -ENOMEM;
		p->fns = a;
		p->cap = cap;
	}
	f = &p->fns[p->nfns];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->file = strdup(file);
	if (!f->name || !f->file) {
		free(f->name);
		free(f->file);
		return -ENOMEM;
	}
	return (int)p->nfns++;
}

static int cmp_key(pid_t pa, uint64_t ca, uint64_t na, uint32_t la, pid_t pb, uint64_t cb,
		   uint64_t nb, uint32_t lb)
{
	if (pa != pb)
		return pa < pb ? -1 : 1;
	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (na != nb)
		return na < nb ? -1 : 1;
	return la < lb ? -1 : la > lb;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct calls_entry *x = *(const struct calls_entry *const *)a;
	const struct calls_entry *y = *(const struct calls_entry *const *)b;

	return cmp_key(x->pid, x->code, x->s.name_ptr, x->s.first_line, y->pid, y->code,
		       y->s.name_ptr, y->s.first_line);
}

/* index of the first old entry not below the key */
static size_t lower_bound(const struct ent *e, size_t n, pid_t pid, uint64_t code,
			  uint64_t name_ptr, uint32_t line)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_key(e[mid].pid, e[mid].code, e[mid].name_ptr, e[mid].first_line, pid, code,
			    name_ptr, line) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void counts_of(const struct calls_stats *s, struct cs_counts *c)
{
	unsigned int slot = 0, b;
	uint64_t cum = 0;

	c->calls = s->calls;
	c->timed = s->timed;
	c->total_ns = s->total_ns;
	for (b = 0; b < CALLSTATS_BUCKETS; b++) {
		for (; slot <= bucket_slots[b] && slot < CALLS_LAT_SLOTS; slot++)
			cum += s->lat[slot];
		c->le[b] = cum;
	}
}

static void counts_add(struct cs_counts *to, const struct cs_counts *d)
{
	unsigned int b;

	to->calls += d->calls;
	to->timed += d->timed;
	to->total_ns += d->total_ns;
	for (b = 0; b < CALLSTATS_BUCKETS; b++)
		to->le[b] += d->le[b];
}

/* growth from last to cur; all of cur when the entry started again (deleted, re-created) */
static void counts_delta(const struct cs_counts *cur, const struct cs_counts *last,
			 struct cs_counts *d)
{
	unsigned int b;
	bool restart = cur->calls < last->calls || cur->timed < last->timed ||
		       cur->total_ns < last->total_ns;

	for (b = 0; b < CALLSTATS_BUCKETS; b++)
		restart |= cur->le[b] < last->le[b];
	if (restart) {
		*d = *cur;
		return;
	}
	d->calls = cur->calls - last->calls;
	d->timed = cur->timed - last->timed;
	d->total_ns = cur->total_ns - last->total_ns;
	for (b = 0; b < CALLSTATS_BUCKETS; b++)
		d->le[b] = cur->le[b] - last->le[b];
}

static int by_all(const void *a, const void *b)
{
	const struct fn *const *x = a, *const *y = b;

	return (*x)->all < (*y)->all ? 1 : (*x)->all > (*y)->all ? -1 : 0;
}

/* admit up to top_n functions (most calls first), then move the pending calls to the series or
 * to "other", and rebuild the view */
static int admit(struct proc *p, unsigned int top_n)
{
	struct fn **order = calloc(p->nfns + 1, sizeof(*order));
	size_t i, admitted = 0;

	if (!order)
		return -ENOMEM;
	for (i = 0; i < p->nfns; i++) {
		order[i] = &p->fns[i];
		p->fns[i].all += p->fns[i].pend.calls;
		admitted += p->fns[i].has_series;
	}
	qsort(order, p->nfns, sizeof(*order), by_all);
	for (i = 0; i < p->nfns && admitted < top_n; i++)
		if (!order[i]->has_series && order[i]->all) {
			order[i]->has_series = true;
			admitted++;
		}
	free(order);
	counts_add(&p->other, &p->other_pend);
	memset(&p->other_pend, 0, sizeof(p->other_pend));
	for (i = 0; i < p->nfns; i++) {
		struct fn *f = &p->fns[i];

		counts_add(f->has_series ? &f->series : &p->other, &f->pend);
		memset(&f->pend, 0, sizeof(f->pend));
	}
	free(p->view);
	p->nview = 0;
	p->view = calloc(admitted + 1, sizeof(*p->view));
	if (!p->view)
		return -ENOMEM;
	for (i = 0; i < p->nfns; i++)
		if (p->fns[i].has_series)
			p->view[p->nview++] = (struct cs_series){ p->fns[i].name, p->fns[i].file,
								  p->fns[i].series };
	return 0;
}

/* A function new to its process in this update, and the calls to credit it. */
struct newfn {
	size_t i; /* in the update's sorted entries */
	struct cs_counts d;
};

static int by_new_calls(const void *a, const void *b)
{
	const struct newfn *x = a, *y = b;

	return x->d.calls < y->d.calls ? 1 : x->d.calls > y->d.calls ? -1 : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int callstats_update(struct callstats *cs, const struct calls_snapshot *snap, unsigned int top_n)
{
	uint64_t now = now_ns();
	const struct calls_entry **sorted = calloc(snap->n + 1, sizeof(*sorted));
	struct ent *ne = calloc(snap->n + 1, sizeof(*ne));
	bool *used = calloc(cs->nents + 1, sizeof(*used));
	struct proc *p = NULL;
	struct newfn *nf = NULL;
	size_t i, o = 0, nnf = 0, capnf = 0;
	int err = 0;

	if (!sorted || !ne || !used) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < snap->n; i++)
		sorted[i] = &snap->e[i];
	qsort(sorted, snap->n, sizeof(*sorted), cmp_entry);
	for (i = 0; i < snap->n; i++) {
		const struct calls_entry *e = sorted[i];
		const struct ent *old = NULL;
		struct ent *n = &ne[i];
		struct cs_counts d;
		int c = 1;

		n->pid = e->pid;
		n->code = e->code;
		n->name_ptr = e->s.name_ptr;
		n->first_line = e->s.first_line;
		n->fn = FN_NONE;
		counts_of(&e->s, &n->last);
		while (o < cs->nents &&
		       (c = cmp_key(cs->ents[o].pid, cs->ents[o].code, cs->ents[o].name_ptr,
				    cs->ents[o].first_line, n->pid, n->code, n->name_ptr,
				    n->first_line)) < 0)
			o++;
		if (o < cs->nents && !c && !used[o]) {
			used[o] = true;
			old = &cs->ents[o];
			counts_delta(&n->last, &cs->ents[o].last, &d);
			n->fn = cs->ents[o].fn;
		} else {
			/* the probe records the fingerprint's parts after creating the entry: an entry
			 * seen before they were there is this one */
			size_t k = n->name_ptr ? lower_bound(cs->ents, cs->nents, n->pid, n->code,
							     0, 0) : cs->nents;

			if (k < cs->nents && cs->ents[k].pid == n->pid &&
			    cs->ents[k].code == n->code && !cs->ents[k].name_ptr &&
			    !cs->ents[k].first_line && !used[k]) {
				used[k] = true;
				old = &cs->ents[k];
				counts_delta(&n->last, &cs->ents[k].last, &d);
				n->fn = cs->ents[k].fn;
			} else {
				d = n->last;
			}
		}
		if (!p || p->pid != n->pid) {
			p = get_proc(cs, n->pid);
			if (!p) {
				err = -ENOMEM;
				goto out;
			}
		}
		p->seen = true;
		if (n->fn == FN_NONE && strcmp(e->name, "<unknown>")) {
			/* new to its process: its slot in the process's table (CALLSTATS_TRACK)
			 * is given below, most calls first; given here, in the order of code
			 * addresses, a function with 100,000 calls could find the table filled by
			 * 1,024 called once (a burst of new functions seen in one update) */
			if (nnf == capnf) {
				size_t cap = capnf ? 2 * capnf : 64;
				struct newfn *a = realloc(nf, cap * sizeof(*a));

				if (!a) {
					err = -ENOMEM;
					goto out;
				}
				nf = a;
				capnf = cap;
			}
			nf[nnf].i = i;
			nf[nnf++].d = d;
			continue;
		}
		if (n->fn == FN_NONE) {
			n->unnamed_since = old && old->unnamed_since ? old->unnamed_since : now;
			if (now - n->unnamed_since < UNNAMED_WAIT_NS) {
				/* held back: credited from the same point once named */
				if (old)
					n->last = old->last;
				else
					memset(&n->last, 0, sizeof(n->last));
				continue;
			}
		}
		if (n->fn >= 0)
			counts_add(&p->fns[n->fn].pend, &d);
		else
			counts_add(&p->other_pend, &d);
	}
	if (nnf)
		qsort(nf, nnf, sizeof(*nf), by_new_calls);
	for (i = 0; i < nnf; i++) {
		struct ent *n = &ne[nf[i].i];

		p = find_proc(cs, n->pid);
		n->fn = fn_index(p, sorted[nf[i].i]->name, sorted[nf[i].i]->file);
		if (n->fn == -ENOMEM) {
			err = -ENOMEM;
			goto out;
		}
		counts_add(n->fn >= 0 ? &p->fns[n->fn].pend : &p->other_pend, &nf[i].d);
	}
	free(cs->ents);
	cs->ents = ne;
	cs->nents = snap->n;
	ne = NULL;
	for (i = 0; i < cs->n; i++) {
		int e = admit(&cs->procs[i], top_n);

		if (e && !err)
			err = e;
	}
out:
	if (err && ne) /* nothing credited: pending counts go back */
		for (i = 0; i < cs->n; i++) {
			memset(&cs->procs[i].other_pend, 0, sizeof(struct cs_counts));
			for (o = 0; o < cs->procs[i].nfns; o++)
				memset(&cs->procs[i].fns[o].pend, 0, sizeof(struct cs_counts));
		}
	free(sorted);
	free(ne);
	free(used);
	free(nf);
	return err;
}

void callstats_foreach(struct callstats *cs, void (*cb)(const struct cs_proc_view *v, void *ctx),
		       void *ctx)
{
	size_t i;

	for (i = 0; i < cs->n; i++) {
		const struct proc *p = &cs->procs[i];
		struct cs_proc_view v = { p->pid, p->source, p->seen, p->other, p->view, p->nview };

		cb(&v, ctx);
	}
}

void callstats_forget(struct callstats *cs, pid_t pid)
{
	size_t i, n = 0;

	for (i = 0; i < cs->n; i++)
		if (cs->procs[i].pid == pid) {
			proc_free(&cs->procs[i]);
			cs->procs[i] = cs->procs[--cs->n];
			break;
		}
	for (i = 0; i < cs->nents; i++)
		if (cs->ents[i].pid != pid)
			cs->ents[n++] = cs->ents[i];
	cs->nents = n;
}
