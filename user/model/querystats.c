// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"
#include "lib/hashidx.h"
#include "lib/histo.h"
#include "model/querystats.h"

#define QS_MAX_THREADS 1024 /* threads followed; when full, every call in progress is closed */
#define QS_MAX_STRINGS (1u << 20)
#define QS_LEVELS 128	    /* stack depths followed (the walker's PH_MAX_FRAMES) */

struct group_item {
	const char *stmt;
	struct qs_site site;
	uint64_t count, ns;
	uint16_t level; /* depth of the call it was counted in */
	bool eligible;	/* ran at a line of the parent other than its call's first */
};

/* the call of the function at one depth of a thread's stack, as its queries show it */
struct qs_level {
	bool open;
	bool partial;	     /* opened by the thread's first query in a window: its start unseen */
	struct qs_site fn;   /* line: the line of the call's first query */
	int max_line;	     /* furthest line seen in this call */
	uint64_t total;	     /* queries through this call */
	uint64_t first_ns, last_end_ns;
};

struct qs_thread {
	pid_t pid, tid;
	uint64_t window;     /* qs->window at its last query */
	struct qs_level lv[QS_LEVELS];
	struct group_item items[QS_GROUP_ITEMS];
	unsigned int nitems;
};

struct querystats {
	unsigned int n1_min;
	char **strs;
	size_t nstrs;
	struct hashidx stridx;
	struct qs_entry *e;
	size_t ne;
	struct hashidx eidx;
	struct qs_n1 *n1;
	size_t nn1;
	struct qs_thread **th;
	size_t nth;
	int64_t last; /* entry of the last add, -1 */
	uint64_t window; /* windows closed (querystats_cut) */
	struct qs_coverage cover;
	size_t nstrs_live; /* strings after the last compaction */
	struct qs_folded folded[QS_MAX_FOLDED + 1]; /* [QS_MAX_FOLDED]: "other" */
	size_t nfolded;
	uint64_t counters[QS_COUNTER_MAX];
};

static const char *const counter_names[QS_COUNTER_MAX] = {
	[QS_ENTRIES_FULL] = "entries_full",
	[QS_N1_FULL] = "n1_full",
	[QS_GROUP_FULL] = "call_items_full",
	[QS_THREADS_RESET] = "threads_reset",
};

const char *querystats_counter_name(enum qs_counter c)
{
	return c < QS_COUNTER_MAX ? counter_names[c] : "?";
}

struct querystats *querystats_new(unsigned int n1_min)
{
	struct querystats *qs = calloc(1, sizeof(*qs));

	if (!qs)
		return NULL;
	qs->n1_min = n1_min ? n1_min : QS_N1_MIN;
	qs->e = calloc(QS_MAX_ENTRIES, sizeof(*qs->e));
	qs->n1 = calloc(QS_MAX_N1, sizeof(*qs->n1));
	qs->th = calloc(QS_MAX_THREADS, sizeof(*qs->th));
	qs->strs = calloc(QS_MAX_STRINGS, sizeof(*qs->strs));
	if (!qs->e || !qs->n1 || !qs->th || !qs->strs) {
		querystats_free(qs);
		return NULL;
	}
	hashidx_init(&qs->stridx);
	hashidx_init(&qs->eidx);
	qs->last = -1;
	return qs;
}

void querystats_free(struct querystats *qs)
{
	if (!qs)
		return;
	for (size_t i = 0; i < qs->nstrs; i++)
		free(qs->strs[i]);
	free(qs->strs);
	hashidx_free(&qs->stridx);
	hashidx_free(&qs->eidx);
	free(qs->e);
	free(qs->n1);
	for (size_t i = 0; qs->th && i < qs->nth; i++)
		free(qs->th[i]);
	free(qs->th);
	free(qs);
}

struct str_key {
	const struct querystats *qs;
	const char *s;
};

static bool str_eq(const void *ctx, uint32_t idx)
{
	const struct str_key *k = ctx;

	return !strcmp(k->qs->strs[idx], k->s);
}

/* The interned copy of s ("" for NULL); NULL only when out of memory or strings. */
static const char *intern(struct querystats *qs, const char *s)
{
	struct str_key k = { qs, s ? s : "" };
	uint32_t h = hash_str(HASH_SEED, k.s);
	int64_t i = hashidx_find(&qs->stridx, h, str_eq, &k);
	char *c;

	if (i >= 0)
		return qs->strs[i];
	if (qs->nstrs >= QS_MAX_STRINGS || !(c = strdup(k.s)))
		return NULL;
	if (hashidx_insert(&qs->stridx, h, qs->nstrs)) {
		free(c);
		return NULL;
	}
	qs->strs[qs->nstrs++] = c;
	return c;
}

static bool site_eq(const struct qs_site *a, const struct qs_site *b)
{
	return a->name == b->name && a->file == b->file && a->line == b->line &&
	       a->first_line == b->first_line;
}

/* a function (no line): same name, file and first line */
static bool func_eq(const struct qs_site *a, const struct qs_site *b)
{
	return a->name == b->name && a->file == b->file && a->first_line == b->first_line;
}

static uint32_t site_hash(uint32_t h, const struct qs_site *s)
{
	h = hash_ptr(h, s->name);
	h = hash_ptr(h, s->file);
	h = hash_u64(h, (uint64_t)(uint32_t)s->line << 32 | (uint32_t)s->first_line);
	return h;
}

struct entry_key {
	const struct querystats *qs;
	pid_t pid;
	const char *stmt;
	const struct qs_site *site, *parent;
};

static bool entry_eq(const void *ctx, uint32_t idx)
{
	const struct entry_key *k = ctx;
	const struct qs_entry *e = &k->qs->e[idx];

	return e->pid == k->pid && e->stmt == k->stmt && site_eq(&e->site, k->site) &&
	       site_eq(&e->parent, k->parent);
}

static int make_site(struct querystats *qs, const struct prof_frame *f, struct qs_site *s)
{
	s->name = intern(qs, f ? f->name : "");
	s->file = intern(qs, f ? f->file : "");
	s->line = f ? f->line : 0;
	s->first_line = f ? f->first_line : 0;
	return s->name && s->file ? 0 : -ENOMEM;
}

static void add_n1(struct querystats *qs, const struct qs_thread *t, const struct qs_level *lv,
		   const struct group_item *it, bool cut)
{
	struct qs_n1 *n = NULL;

	for (size_t i = 0; i < qs->nn1; i++) {
		struct qs_n1 *c = &qs->n1[i];

		if (c->pid == t->pid && c->stmt == it->stmt && site_eq(&c->site, &it->site) &&
		    func_eq(&c->parent, &lv->fn)) {
			n = c;
			break;
		}
	}
	if (!n) {
		if (qs->nn1 >= QS_MAX_N1) {
			qs->counters[QS_N1_FULL]++;
			return;
		}
		n = &qs->n1[qs->nn1++];
		memset(n, 0, sizeof(*n));
		n->pid = t->pid;
		n->stmt = it->stmt;
		n->site = it->site;
		n->parent = lv->fn;
		n->min_per_call = UINT64_MAX;
	}
	n->queries += it->count;
	n->query_ns += it->ns;
	n->span_ns += lv->last_end_ns - lv->first_ns;
	n->other_queries += lv->total - it->count;
	if (cut) { /* seen from its start to a window's end: at least this many per call */
		n->cut_calls++;
		if (it->count > n->cut_max_per_call)
			n->cut_max_per_call = it->count;
		return;
	}
	n->parent_calls++;
	if (it->count < n->min_per_call)
		n->min_per_call = it->count;
	if (it->count > n->max_per_call)
		n->max_per_call = it->count;
}

/* Close the calls at depth k and deeper: their repeated statements become N+1 rows (cut:
 * the calls did not end, a window did). */
static void close_from(struct querystats *qs, struct qs_thread *t, unsigned int k, bool cut)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->nitems; i++) {
		struct group_item *it = &t->items[i];

		if (it->level < k) {
			t->items[n++] = *it;
			continue;
		}
		if (it->eligible && it->count >= qs->n1_min)
			add_n1(qs, t, &t->lv[it->level], it, cut);
	}
	t->nitems = n;
	for (i = k; i < QS_LEVELS; i++)
		t->lv[i].open = false;
}

static struct qs_thread *thread_of(struct querystats *qs, pid_t pid, pid_t tid)
{
	struct qs_thread *t;

	for (size_t i = 0; i < qs->nth; i++)
		if (qs->th[i]->pid == pid && qs->th[i]->tid == tid)
			return qs->th[i];
	if (qs->nth >= QS_MAX_THREADS) {
		querystats_flush(qs);
		for (size_t i = 0; i < qs->nth; i++)
			free(qs->th[i]);
		qs->nth = 0;
		qs->counters[QS_THREADS_RESET]++;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pid = pid;
	t->tid = tid;
	qs->th[qs->nth++] = t;
	return t;
}

/* Follow the calls on the query's stack (frames innermost first, depth frames in all). A call
 * of the function at some depth ends when another function is there, when a query comes from
 * a shallower stack, or when its line returns to (or before) its first query's line after
 * having gone further (the next call's first query). */
static void follow_calls(struct querystats *qs, pid_t pid, pid_t tid, const char *stmt,
			 const struct prof_frame *frames, uint32_t nframes, uint32_t depth,
			 uint64_t start_ns, uint64_t dur_ns)
{
	struct qs_thread *t = thread_of(qs, pid, tid);
	unsigned int leaf = depth - 1, top = depth - nframes, k, pk;
	struct group_item *it = NULL;
	struct qs_site site, fn;
	bool first; /* the thread's first query in this window (after a window's end) */

	if (!t)
		return;
	first = t->window != qs->window;
	t->window = qs->window;
	close_from(qs, t, leaf + 1, false); /* returned from anything deeper */
	for (k = top; k <= leaf; k++) {
		struct qs_level *lv = &t->lv[k];
		bool same;

		if (make_site(qs, &frames[leaf - k], &fn))
			return;
		/* a call whose start was not seen (partial) ends at a line before any seen in
		 * it: the next call's first query, or a loop going back (then the call that
		 * starts there ends at its own first line, as any other) */
		same = lv->open && func_eq(&lv->fn, &fn) &&
		       (lv->partial ? fn.line >= lv->fn.line :
				      !(fn.line <= lv->fn.line && lv->max_line > lv->fn.line));
		if (same) {
			if (fn.line > lv->max_line)
				lv->max_line = fn.line;
		} else {
			close_from(qs, t, k, false);
			lv->open = true;
			/* opened by the first query after a window's end: the call may have
			 * started before it (frames deeper than this query's open later) */
			lv->partial = first && qs->window > 0;
			lv->fn = fn;
			lv->max_line = fn.line;
			lv->total = 0;
			lv->first_ns = start_ns;
			lv->last_end_ns = 0;
		}
		lv->total++;
		if (start_ns + dur_ns > lv->last_end_ns)
			lv->last_end_ns = start_ns + dur_ns;
	}
	/* the query counts in its parent's call (the function that called the site) */
	pk = leaf - 1;
	if (make_site(qs, &frames[0], &site))
		return;
	for (unsigned int i = 0; i < t->nitems; i++)
		if (t->items[i].level == pk && t->items[i].stmt == stmt &&
		    site_eq(&t->items[i].site, &site)) {
			it = &t->items[i];
			break;
		}
	if (!it) {
		if (t->nitems >= QS_GROUP_ITEMS) {
			qs->counters[QS_GROUP_FULL]++;
			return;
		}
		it = &t->items[t->nitems++];
		memset(it, 0, sizeof(*it));
		it->stmt = stmt;
		it->site = site;
		it->level = pk;
	}
	it->count++;
	it->ns += dur_ns;
	/* the call was seen to start before: by a query at another line of the parent (a
	 * partial call's start was not seen) */
	if (frames[1].line != t->lv[pk].fn.line && !t->lv[pk].partial)
		it->eligible = true;
}

int querystats_add(struct querystats *qs, pid_t pid, pid_t tid, int lib, const char *stmt,
		   const struct prof_frame *frames, uint32_t nframes, uint32_t depth,
		   uint64_t start_ns, uint64_t dur_ns, uint64_t rows, bool error)
{
	struct qs_site site, parent;
	struct entry_key k = { .qs = qs, .pid = pid, .site = &site, .parent = &parent };
	const char *s = intern(qs, stmt);
	uint32_t h;
	struct qs_entry *e;
	int64_t i;

	if (!s || make_site(qs, nframes > 0 ? &frames[0] : NULL, &site) ||
	    make_site(qs, nframes > 1 ? &frames[1] : NULL, &parent))
		return -ENOMEM;
	k.stmt = s;
	qs->last = -1;
	h = site_hash(site_hash(hash_ptr(hash_u64(HASH_SEED, pid), s), &site), &parent);
	/* (entry_hash() below computes the same from an entry) */
	i = hashidx_find(&qs->eidx, h, entry_eq, &k);
	if (i < 0) {
		if (qs->ne >= QS_MAX_ENTRIES) {
			qs->counters[QS_ENTRIES_FULL]++;
			goto follow;
		}
		e = &qs->e[qs->ne];
		memset(e, 0, sizeof(*e));
		e->pid = pid;
		e->stmt = s;
		e->lib = lib;
		e->site = site;
		e->parent = parent;
		if (hashidx_insert(&qs->eidx, h, qs->ne))
			return -ENOMEM;
		qs->ne++;
	} else {
		e = &qs->e[i];
	}
	qs->last = e - qs->e;
	e->count++;
	e->total_ns += dur_ns;
	if (dur_ns > e->max_ns)
		e->max_ns = dur_ns;
	e->rows += rows;
	e->errors += error;
	e->hist[ph_log2_slot(dur_ns, QS_HIST_SLOTS)]++;
follow:
	/* no enclosing function, or a stack too deep to place its frames */
	if (nframes >= 2 && depth >= nframes && depth <= QS_LEVELS)
		follow_calls(qs, pid, tid, s, frames, nframes, depth, start_ns, dur_ns);
	return 0;
}

int64_t querystats_last_entry(const struct querystats *qs)
{
	return qs->last;
}

bool querystats_add_rows(struct querystats *qs, int64_t idx, pid_t pid, uint64_t rows)
{
	if (idx < 0 || (size_t)idx >= qs->ne || qs->e[idx].pid != pid)
		return false;
	qs->e[idx].rows += rows;
	return true;
}

void querystats_flush(struct querystats *qs)
{
	for (size_t i = 0; i < qs->nth; i++)
		close_from(qs, qs->th[i], 0, false);
}

void querystats_cut(struct querystats *qs)
{
	for (size_t i = 0; i < qs->nth; i++)
		close_from(qs, qs->th[i], 0, true);
	qs->window++;
}

void querystats_set_coverage(struct querystats *qs, const struct qs_coverage *c)
{
	qs->cover = *c;
	if (!c->windowed) {
		for (size_t i = 0; i < qs->ne; i++)
			qs->e[i].est = (double)qs->e[i].count;
		for (size_t i = 0; i < qs->nn1; i++)
			qs->n1[i].est_queries = (double)qs->n1[i].queries;
	}
}

const struct qs_coverage *querystats_coverage(const struct querystats *qs)
{
	return &qs->cover;
}

void querystats_set_scale(struct querystats *qs, pid_t pid, double scale)
{
	for (size_t i = 0; i < qs->ne; i++)
		if (qs->e[i].pid == pid)
			qs->e[i].est = qs->e[i].count * scale;
	for (size_t i = 0; i < qs->nn1; i++)
		if (qs->n1[i].pid == pid)
			qs->n1[i].est_queries = qs->n1[i].queries * scale;
}

const struct qs_entry *querystats_entries(const struct querystats *qs, size_t *n)
{
	*n = qs->ne;
	return qs->e;
}

const struct qs_n1 *querystats_n1(const struct querystats *qs, size_t *n)
{
	*n = qs->nn1;
	return qs->n1;
}

uint64_t querystats_counter(const struct querystats *qs, enum qs_counter c)
{
	return c < QS_COUNTER_MAX ? qs->counters[c] : 0;
}

uint64_t qs_entry_quantile(const struct qs_entry *e, double q)
{
	int k = hist_quantile_slot(e->hist, QS_HIST_SLOTS, q);
	uint64_t v;

	if (k < 0)
		return 0;
	v = slot_hi(k);
	return v > e->max_ns ? e->max_ns : v;
}

void querystats_flush_pid(struct querystats *qs, pid_t pid)
{
	for (size_t i = 0; i < qs->nth; i++)
		if (qs->th[i]->pid == pid)
			close_from(qs, qs->th[i], 0, false);
}

static struct qs_folded *folded_of(struct querystats *qs, const char *comm)
{
	struct qs_folded *f;

	for (size_t i = 0; i < qs->nfolded; i++)
		if (!strcmp(qs->folded[i].comm, comm))
			return &qs->folded[i];
	if (qs->nfolded < QS_MAX_FOLDED) {
		f = &qs->folded[qs->nfolded++];
	} else {
		f = &qs->folded[QS_MAX_FOLDED];
		comm = "other";
	}
	snprintf(f->comm, sizeof(f->comm), "%s", comm);
	return f;
}

static uint32_t entry_hash(const struct qs_entry *e)
{
	return site_hash(site_hash(hash_ptr(hash_u64(HASH_SEED, e->pid), e->stmt), &e->site),
			 &e->parent);
}

/* Put s (already interned, owned by the table being replaced) in the new table. */
static int keep_str(struct querystats *qs, const char *s)
{
	struct str_key k = { qs, s };
	uint32_t h;

	if (!s)
		return 0;
	h = hash_str(HASH_SEED, s);
	if (hashidx_find(&qs->stridx, h, str_eq, &k) >= 0)
		return 0;
	if (hashidx_insert(&qs->stridx, h, qs->nstrs))
		return -ENOMEM;
	qs->strs[qs->nstrs++] = (char *)s;
	return 0;
}

static int keep_site(struct querystats *qs, const struct qs_site *s)
{
	return keep_str(qs, s->name) || keep_str(qs, s->file);
}

/* Free the strings nothing refers to any more (the rows and threads of forgotten processes). */
static void strings_compact(struct querystats *qs)
{
	char **old = qs->strs;
	size_t nold = qs->nstrs;
	struct hashidx oldidx = qs->stridx;
	int err = 0;

	qs->strs = calloc(QS_MAX_STRINGS, sizeof(*qs->strs));
	if (!qs->strs) {
		qs->strs = old;
		return;
	}
	qs->nstrs = 0;
	hashidx_init(&qs->stridx);
	for (size_t i = 0; !err && i < qs->ne; i++)
		err = keep_str(qs, qs->e[i].stmt) || keep_site(qs, &qs->e[i].site) ||
		      keep_site(qs, &qs->e[i].parent);
	for (size_t i = 0; !err && i < qs->nn1; i++)
		err = keep_str(qs, qs->n1[i].stmt) || keep_site(qs, &qs->n1[i].site) ||
		      keep_site(qs, &qs->n1[i].parent);
	for (size_t i = 0; !err && i < qs->nth; i++) {
		struct qs_thread *t = qs->th[i];

		for (unsigned int k = 0; !err && k < QS_LEVELS; k++)
			if (t->lv[k].open)
				err = keep_site(qs, &t->lv[k].fn);
		for (unsigned int k = 0; !err && k < t->nitems; k++)
			err = keep_str(qs, t->items[k].stmt) || keep_site(qs, &t->items[k].site);
	}
	if (err) { /* out of memory: keep everything as it was */
		free(qs->strs);
		hashidx_free(&qs->stridx);
		qs->strs = old;
		qs->nstrs = nold;
		qs->stridx = oldidx;
		return;
	}
	for (size_t i = 0; i < nold; i++) {
		struct str_key k = { qs, old[i] };
		int64_t j = hashidx_find(&qs->stridx, hash_str(HASH_SEED, old[i]), str_eq, &k);

		if (j < 0 || qs->strs[j] != old[i])
			free(old[i]);
	}
	free(old);
	hashidx_free(&oldidx);
	qs->nstrs_live = qs->nstrs;
}

void querystats_forget(struct querystats *qs, pid_t pid, const char *comm)
{
	struct qs_folded *f = NULL;
	size_t n = 0;

	querystats_flush_pid(qs, pid);
	for (size_t i = 0; i < qs->nth; i++) {
		if (qs->th[i]->pid == pid)
			free(qs->th[i]);
		else
			qs->th[n++] = qs->th[i];
	}
	qs->nth = n;
	n = 0;
	for (size_t i = 0; i < qs->ne; i++) {
		const struct qs_entry *e = &qs->e[i];

		if (e->pid != pid) {
			qs->e[n++] = *e;
			continue;
		}
		if (!f) {
			f = folded_of(qs, comm ? comm : "");
			f->procs++;
		}
		f->count += e->count;
		f->total_ns += e->total_ns;
		f->rows += e->rows;
		f->errors += e->errors;
	}
	if (n != qs->ne) {
		qs->ne = n;
		hashidx_free(&qs->eidx);
		hashidx_init(&qs->eidx);
		for (size_t i = 0; i < qs->ne; i++)
			if (hashidx_insert(&qs->eidx, entry_hash(&qs->e[i]), i)) {
				qs->ne = i; /* out of memory: the rest is lost, not misindexed */
				break;
			}
	}
	n = 0;
	for (size_t i = 0; i < qs->nn1; i++) {
		if (qs->n1[i].pid != pid) {
			qs->n1[n++] = qs->n1[i];
			continue;
		}
		if (f)
			f->n1_queries += qs->n1[i].queries;
	}
	qs->nn1 = n;
	qs->last = -1;
	if (qs->nstrs > 1024 && qs->nstrs > 2 * qs->nstrs_live)
		strings_compact(qs);
}

const struct qs_folded *querystats_folded(const struct querystats *qs, size_t *n)
{
	static const struct qs_folded none;

	if (qs->folded[QS_MAX_FOLDED].procs) {
		/* "other" follows the named ones: only when all QS_MAX_FOLDED are taken */
		*n = QS_MAX_FOLDED + 1;
		return qs->folded;
	}
	*n = qs->nfolded;
	return qs->nfolded ? qs->folded : &none;
}
