// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/loopblock.h"

enum { S_NONE, S_SELECTOR, S_LOOP, S_HANDLER };

struct lb_thread {
	pid_t pid, tid;
	bool open;		/* a stretch in one handler is open */
	uint64_t first_ns, last_ns, samples;
	char key[160];		/* its handler: name and file */
	/* the stretch's stack as the longest run of identical samples shows it (the call that
	 * blocked, not the await that preceded it in the same task step) */
	char handler[160], blocker[160];
	char stack[LOOP_BLOCK_STACK];
	uint64_t best_run;
	char cur[LOOP_BLOCK_STACK];	/* the latest sample's stack */
	char cur_handler[160], cur_blocker[160];
	uint64_t cur_run;		/* identical samples in a row ending with it */
};

struct lb_proc {
	pid_t pid;
	struct loopblock_result r;
};

struct loopblock {
	struct lb_thread *threads;
	size_t nthreads;
	struct lb_proc *procs;
	size_t nprocs, cap;
	uint64_t untracked;
};

struct loopblock *loopblock_new(void)
{
	struct loopblock *lb = calloc(1, sizeof(*lb));

	if (lb)
		lb->threads = calloc(LOOP_BLOCK_THREADS, sizeof(*lb->threads));
	if (lb && !lb->threads) {
		free(lb);
		return NULL;
	}
	return lb;
}

void loopblock_free(struct loopblock *lb)
{
	if (!lb)
		return;
	free(lb->threads);
	free(lb->procs);
	free(lb);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static bool is_pseudo(const struct prof_frame *f)
{
	return !f->file[0] && f->name[0] == '[';
}

/* asyncio's own code (the loop, events, tasks, futures, selector_events, ...) */
static bool in_asyncio(const struct prof_frame *f)
{
	return strstr(f->file, "/asyncio/") || !strncmp(f->file, "asyncio/", 8);
}

/* What the sample shows the thread doing; *h: the handler's frame index (S_HANDLER) */
static int classify(const struct prof_frame *f, uint32_t n, uint32_t *h)
{
	uint32_t k, j;

	for (k = 0; k < n; k++)
		if (ends_with(f[k].name, "_run_once") && ends_with(f[k].file, "base_events.py"))
			break;
	if (k == n)
		return S_NONE;
	for (j = k + 1; j < n; j++)
		if (ends_with(f[j].file, "selectors.py"))
			return S_SELECTOR;
	for (j = k + 1; j < n; j++)
		if (!is_pseudo(&f[j]) && !in_asyncio(&f[j])) {
			*h = j;
			return S_HANDLER;
		}
	return S_LOOP;
}

static struct lb_proc *proc_of(struct loopblock *lb, pid_t pid)
{
	for (size_t i = 0; i < lb->nprocs; i++)
		if (lb->procs[i].pid == pid)
			return &lb->procs[i];
	if (lb->nprocs == lb->cap) {
		size_t cap = lb->cap ? lb->cap * 2 : 8;
		void *p = realloc(lb->procs, cap * sizeof(*lb->procs));

		if (!p)
			return NULL;
		lb->procs = p;
		lb->cap = cap;
	}
	memset(&lb->procs[lb->nprocs], 0, sizeof(lb->procs[0]));
	lb->procs[lb->nprocs].pid = pid;
	return &lb->procs[lb->nprocs++];
}

static void close_stretch(struct loopblock *lb, struct lb_thread *t)
{
	struct lb_proc *p;
	double d;

	if (!t->open)
		return;
	t->open = false;
	d = (t->last_ns - t->first_ns) / 1e9;
	if (d < LOOP_BLOCK_MIN_S)
		return;
	p = proc_of(lb, t->pid);
	if (!p)
		return;
	p->r.blocks++;
	p->r.total_s += d;
	if (d > p->r.longest_s) {
		p->r.longest_s = d;
		p->r.longest_samples = t->samples;
		p->r.tid = t->tid;
		memcpy(p->r.handler, t->handler, sizeof(p->r.handler));
		memcpy(p->r.blocker, t->blocker, sizeof(p->r.blocker));
		memcpy(p->r.stack, t->stack, sizeof(p->r.stack));
	}
}

static struct lb_thread *thread_of(struct loopblock *lb, pid_t pid, pid_t tid)
{
	for (size_t i = 0; i < lb->nthreads; i++)
		if (lb->threads[i].tid == tid && lb->threads[i].pid == pid)
			return &lb->threads[i];
	if (lb->nthreads == LOOP_BLOCK_THREADS)
		return NULL;
	memset(&lb->threads[lb->nthreads], 0, sizeof(lb->threads[0]));
	lb->threads[lb->nthreads].pid = pid;
	lb->threads[lb->nthreads].tid = tid;
	return &lb->threads[lb->nthreads++];
}

static void frame_text(char *buf, size_t len, const struct prof_frame *f)
{
	const char *base = strrchr(f->file, '/');

	if (is_pseudo(f))
		snprintf(buf, len, "%s", f->name);
	else
		snprintf(buf, len, "%s (%s:%d)", f->name, base ? base + 1 : f->file, f->line);
}

/* this sample's stack (handler to leaf); keep the one repeated longest in a row */
static void note_stack(struct lb_thread *t, const struct prof_frame *f, uint32_t n, uint32_t h)
{
	char stack[LOOP_BLOCK_STACK];
	size_t off = 0;

	stack[0] = 0;
	for (uint32_t j = h; j < n && off < sizeof(stack) - 1; j++) {
		char fr[200];

		frame_text(fr, sizeof(fr), &f[j]);
		off += snprintf(stack + off, sizeof(stack) - off, "%s%s", j > h ? " > " : "", fr);
	}
	if (t->cur_run && !strcmp(stack, t->cur)) {
		t->cur_run++;
	} else {
		memcpy(t->cur, stack, sizeof(stack));
		t->cur_run = 1;
		frame_text(t->cur_handler, sizeof(t->cur_handler), &f[h]);
		t->cur_blocker[0] = 0;
		for (uint32_t j = n; j-- > h;)
			if (!is_pseudo(&f[j])) {
				frame_text(t->cur_blocker, sizeof(t->cur_blocker), &f[j]);
				break;
			}
	}
	if (t->cur_run > t->best_run) {
		t->best_run = t->cur_run;
		memcpy(t->stack, t->cur, sizeof(t->stack));
		memcpy(t->handler, t->cur_handler, sizeof(t->handler));
		memcpy(t->blocker, t->cur_blocker, sizeof(t->blocker));
	}
}

void loopblock_add(struct loopblock *lb, pid_t pid, pid_t tid, const struct prof_frame *f,
		   uint32_t n, uint64_t ts_ns)
{
	struct lb_thread *t;
	struct lb_proc *p;
	uint32_t h = 0;
	int kind = classify(f, n, &h);
	char key[160];

	if (kind == S_NONE)
		return; /* not an event loop's thread (or not in its loop now) */
	t = thread_of(lb, pid, tid);
	p = proc_of(lb, pid);
	if (!t || !p) {
		lb->untracked++;
		return;
	}
	p->r.loop_samples++;
	if (kind != S_HANDLER) {
		close_stretch(lb, t); /* back in the selector or the loop's own code */
		return;
	}
	/* waiting for a CPU is the host's doing, not the program's: such a sample neither starts
	 * nor lengthens a stretch (a short call on a starved host is not a block) */
	if (is_pseudo(&f[n - 1]) && !strcmp(f[n - 1].name, "[runnable]"))
		return;
	snprintf(key, sizeof(key), "%s\n%s", f[h].name, f[h].file);
	if (t->open && !strcmp(key, t->key) && ts_ns >= t->last_ns) {
		t->last_ns = ts_ns;
		t->samples++;
	} else {
		close_stretch(lb, t);
		t->open = true;
		t->first_ns = t->last_ns = ts_ns;
		t->samples = 1;
		t->best_run = t->cur_run = 0;
		t->cur[0] = 0;
		memcpy(t->key, key, sizeof(key));
	}
	note_stack(t, f, n, h);
}

void loopblock_finish(struct loopblock *lb)
{
	for (size_t i = 0; i < lb->nthreads; i++)
		close_stretch(lb, &lb->threads[i]);
}

bool loopblock_get(const struct loopblock *lb, pid_t pid, struct loopblock_result *out)
{
	memset(out, 0, sizeof(*out));
	if (!lb)
		return false;
	for (size_t i = 0; i < lb->nprocs; i++)
		if (lb->procs[i].pid == pid) {
			*out = lb->procs[i].r;
			return out->loop_samples > 0;
		}
	return false;
}

uint64_t loopblock_untracked(const struct loopblock *lb)
{
	return lb ? lb->untracked : 0;
}
