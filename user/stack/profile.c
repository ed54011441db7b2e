// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/hashidx.h"
#include "stack/profile.h"

struct prof_strtab {
	struct hashidx idx;
	char **strs;
	size_t n, cap;
	size_t bytes;
};

struct prof_index {
	struct hashidx idx;
	size_t max_stacks;
};

struct profile *profile_new(double duration_s, unsigned int frequency_hz)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->strtab = calloc(1, sizeof(*p->strtab));
	p->index = calloc(1, sizeof(*p->index));
	if (!p->strtab || !p->index) {
		profile_free(p);
		return NULL;
	}
	hashidx_init(&p->strtab->idx);
	hashidx_init(&p->index->idx);
	p->index->max_stacks = PROFILE_MAX_STACKS;
	p->duration_s = duration_s;
	p->frequency_hz = frequency_hz;
	return p;
}

void profile_free(struct profile *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nstacks; i++)
		free(p->stacks[i].frames);
	free(p->stacks);
	if (p->strtab) {
		for (i = 0; i < p->strtab->n; i++)
			free(p->strtab->strs[i]);
		free(p->strtab->strs);
		hashidx_free(&p->strtab->idx);
		free(p->strtab);
	}
	if (p->index) {
		hashidx_free(&p->index->idx);
		free(p->index);
	}
	prof_lineops_free(p->lineops);
	prof_argstats_free(p->argstats);
	free(p);
}

void profile_set_max_stacks(struct profile *p, size_t max)
{
	p->index->max_stacks = max && max < PROFILE_MAX_STACKS ? max : PROFILE_MAX_STACKS;
}

struct str_key {
	const struct prof_strtab *t;
	const char *s;
};

static bool str_eq(const void *ctx, uint32_t idx)
{
	const struct str_key *k = ctx;

	return !strcmp(k->t->strs[idx], k->s);
}

const char *profile_intern(struct profile *p, const char *s)
{
	struct prof_strtab *t;
	struct str_key key;
	uint32_t h;
	int64_t i;
	size_t len;
	char *copy;

	if (!p)
		return NULL;
	t = p->strtab;
	if (!s)
		s = "";
	key.t = t;
	key.s = s;
	h = hash_str(HASH_SEED, s);
	i = hashidx_find(&t->idx, h, str_eq, &key);
	if (i >= 0)
		return t->strs[i];

	len = strlen(s) + 1;
	if (t->n >= PROFILE_MAX_STRINGS || len > PROFILE_MAX_STRING_BYTES - t->bytes)
		return NULL;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 256;
		char **ns = realloc(t->strs, ncap * sizeof(*ns));

		if (!ns)
			return NULL;
		t->strs = ns;
		t->cap = ncap;
	}
	copy = malloc(len);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	if (hashidx_insert(&t->idx, h, t->n)) {
		free(copy);
		return NULL;
	}
	t->strs[t->n++] = copy;
	t->bytes += len;
	return copy;
}

/* A stack being added, with its strings already interned (so compared by address) */
struct stack_key {
	const struct profile *p;
	const struct prof_stack *s;
};

static uint32_t stack_hash(const struct prof_stack *s)
{
	uint32_t h = HASH_SEED;
	uint32_t i;

	h = hash_u64(h, (uint64_t)(uint32_t)s->pid << 32 | (uint32_t)s->tid);
	h = hash_ptr(h, s->process);
	h = hash_ptr(h, s->thread);
	h = hash_u64(h, (uint64_t)s->nframes << 2 | s->truncated << 1 | s->in_syscall);
	for (i = 0; i < s->nframes; i++) {
		const struct prof_frame *f = &s->frames[i];

		h = hash_ptr(h, f->name);
		h = hash_ptr(h, f->file);
		h = hash_u64(h, (uint64_t)(uint32_t)f->line << 32 | (uint32_t)f->first_line);
	}
	return h;
}

static bool stack_eq(const void *ctx, uint32_t idx)
{
	const struct stack_key *k = ctx;
	const struct prof_stack *a = k->s, *b = &k->p->stacks[idx];
	uint32_t i;

	if (a->pid != b->pid || a->tid != b->tid || a->process != b->process ||
	    a->thread != b->thread || a->nframes != b->nframes || a->truncated != b->truncated ||
	    a->in_syscall != b->in_syscall)
		return false;
	for (i = 0; i < a->nframes; i++) {
		const struct prof_frame *x = &a->frames[i], *y = &b->frames[i];

		if (x->name != y->name || x->file != y->file || x->line != y->line ||
		    x->first_line != y->first_line)
			return false;
	}
	return true;
}

ssize_t profile_add_index(struct profile *p, pid_t pid, pid_t tid, const char *process,
			  const char *thread, const struct prof_frame *frames, uint32_t nframes,
			  bool truncated, bool in_syscall, uint64_t count)
{
	struct prof_stack s = {
		.pid = pid, .tid = tid, .nframes = nframes, .count = count,
		.truncated = truncated, .in_syscall = in_syscall,
	};
	struct stack_key key = { .p = p, .s = &s };
	uint32_t i, h;
	int64_t found;
	int err = -ENOMEM;
	char buf[32];

	if (!p || (!frames && nframes) || nframes > PROFILE_MAX_FRAMES)
		return -EINVAL;

	if (!process || !*process) {
		snprintf(buf, sizeof(buf), "pid %d", (int)pid);
		process = buf;
	}
	s.process = profile_intern(p, process);
	if (!thread || !*thread) {
		snprintf(buf, sizeof(buf), "tid %d", (int)tid);
		thread = buf;
	}
	s.thread = profile_intern(p, thread);
	if (!s.process || !s.thread)
		return -ENOMEM;
	if (nframes) {
		s.frames = malloc(nframes * sizeof(*s.frames));
		if (!s.frames)
			return -ENOMEM;
	}
	for (i = 0; i < nframes; i++) {
		s.frames[i] = frames[i];
		s.frames[i].name = profile_intern(p, frames[i].name ? frames[i].name : "<unknown>");
		s.frames[i].file = profile_intern(p, frames[i].file);
		if (!s.frames[i].name || !s.frames[i].file)
			goto err_free;
	}

	h = stack_hash(&s);
	found = hashidx_find(&p->index->idx, h, stack_eq, &key);
	if (found >= 0) {
		p->stacks[found].count += count;
		p->total_samples += count;
		free(s.frames);
		return found;
	}

	if (p->nstacks >= p->index->max_stacks)
		goto err_free;
	if (p->nstacks == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		struct prof_stack *ns = realloc(p->stacks, ncap * sizeof(*ns));

		if (!ns)
			goto err_free;
		p->stacks = ns;
		p->cap = ncap;
	}
	err = hashidx_insert(&p->index->idx, h, p->nstacks);
	if (err)
		goto err_free;
	p->stacks[p->nstacks++] = s;
	p->total_samples += count;
	return p->nstacks - 1;

err_free:
	free(s.frames);
	return err;
}

int profile_add(struct profile *p, pid_t pid, pid_t tid, const char *process, const char *thread,
		const struct prof_frame *frames, uint32_t nframes, bool truncated, bool in_syscall,
		uint64_t count)
{
	ssize_t i;

	if (p && !count && (frames || !nframes) && nframes <= PROFILE_MAX_FRAMES)
		return 0;
	i = profile_add_index(p, pid, tid, process, thread, frames, nframes, truncated,
			      in_syscall, count);
	return i < 0 ? (int)i : 0;
}

static int cmp_frame(const struct prof_frame *a, const struct prof_frame *b)
{
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	c = strcmp(a->file, b->file);
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->first_line != b->first_line)
		return a->first_line < b->first_line ? -1 : 1;
	return 0;
}

static int cmp_stack_order(const void *x, const void *y)
{
	const struct prof_stack *a = *(const struct prof_stack *const *)x;
	const struct prof_stack *b = *(const struct prof_stack *const *)y;
	uint32_t i;
	int c;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	c = strcmp(a->process, b->process);
	if (c)
		return c;
	c = strcmp(a->thread, b->thread);
	if (c)
		return c;
	if (a->truncated != b->truncated)
		return a->truncated ? 1 : -1;
	for (i = 0; i < a->nframes && i < b->nframes; i++) {
		c = cmp_frame(&a->frames[i], &b->frames[i]);
		if (c)
			return c;
	}
	if (a->nframes != b->nframes)
		return a->nframes < b->nframes ? -1 : 1;
	if (a->in_syscall != b->in_syscall)
		return a->in_syscall ? 1 : -1;
	return 0;
}

static ssize_t collect(const struct profile *p, pid_t pid, const struct prof_stack ***out)
{
	const struct prof_stack **v;
	size_t i, n = 0;

	v = malloc((p->nstacks ? p->nstacks : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < p->nstacks; i++)
		if (pid <= 0 || p->stacks[i].pid == pid)
			v[n++] = &p->stacks[i];
	*out = v;
	return n;
}

ssize_t profile_sorted_stacks(const struct profile *p, pid_t pid, const struct prof_stack ***out)
{
	ssize_t n = collect(p, pid, out);

	if (n > 0)
		qsort(*out, n, sizeof(**out), cmp_stack_order);
	return n;
}

static int cmp_stack_count(const void *x, const void *y)
{
	const struct prof_stack *a = *(const struct prof_stack *const *)x;
	const struct prof_stack *b = *(const struct prof_stack *const *)y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return cmp_stack_order(x, y);
}

ssize_t profile_top_stacks(const struct profile *p, pid_t pid, size_t max,
			   const struct prof_stack ***out)
{
	ssize_t n = collect(p, pid, out);

	if (n > 0)
		qsort(*out, n, sizeof(**out), cmp_stack_count);
	if (max && n > (ssize_t)max)
		n = max;
	return n;
}

/* stacks equal but for their thread (then by tid, so a group's threads are adjacent) */
static int cmp_stack_frames(const void *x, const void *y)
{
	const struct prof_stack *a = *(const struct prof_stack *const *)x;
	const struct prof_stack *b = *(const struct prof_stack *const *)y;
	uint32_t i;
	int c;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->truncated != b->truncated)
		return a->truncated ? 1 : -1;
	for (i = 0; i < a->nframes && i < b->nframes; i++) {
		c = cmp_frame(&a->frames[i], &b->frames[i]);
		if (c)
			return c;
	}
	if (a->nframes != b->nframes)
		return a->nframes < b->nframes ? -1 : 1;
	if (a->in_syscall != b->in_syscall)
		return a->in_syscall ? 1 : -1;
	return 0;
}

static int cmp_stack_frames_tid(const void *x, const void *y)
{
	const struct prof_stack *a = *(const struct prof_stack *const *)x;
	const struct prof_stack *b = *(const struct prof_stack *const *)y;
	int c = cmp_stack_frames(x, y);

	if (c)
		return c;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	return cmp_stack_order(x, y);
}

static int cmp_group_count(const void *x, const void *y)
{
	const struct prof_stack_group *a = x, *b = y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return cmp_stack_frames(&a->stack, &b->stack);
}

ssize_t profile_top_stack_groups(const struct profile *p, pid_t pid, size_t max,
				 struct prof_stack_group **out)
{
	const struct prof_stack **v;
	struct prof_stack_group *g;
	ssize_t n = collect(p, pid, &v), i, ng = 0;

	if (n < 0)
		return n;
	g = malloc((n ? n : 1) * sizeof(*g));
	if (!g) {
		free(v);
		return -ENOMEM;
	}
	/* group: sort by frames then tid, merge runs equal but for the thread */
	qsort(v, n, sizeof(*v), cmp_stack_frames_tid);
	for (i = 0; i < n; i++) {
		if (ng && !cmp_stack_frames(&g[ng - 1].stack, &v[i])) {
			struct prof_stack_group *cur = &g[ng - 1];

			if (v[i]->tid != v[i - 1]->tid)
				cur->nthreads++;
			cur->count += v[i]->count;
			if (v[i]->count > cur->stack->count)
				cur->stack = v[i];
			continue;
		}
		g[ng++] = (struct prof_stack_group){ .stack = v[i], .count = v[i]->count,
						     .nthreads = 1 };
	}
	free(v);
	qsort(g, ng, sizeof(*g), cmp_group_count);
	if (max && ng > (ssize_t)max)
		ng = max;
	*out = g;
	return ng;
}

struct func_key {
	const struct prof_func_stat *funcs;
	const struct prof_frame *fr;
};

static bool func_eq(const void *ctx, uint32_t idx)
{
	const struct func_key *k = ctx;
	const struct prof_func_stat *f = &k->funcs[idx];

	return f->name == k->fr->name && f->file == k->fr->file &&
	       f->first_line == k->fr->first_line;
}

static int cmp_func(const void *x, const void *y)
{
	const struct prof_func_stat *a = x, *b = y;
	int c;

	if (a->self != b->self)
		return a->self > b->self ? -1 : 1;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	c = strcmp(a->name, b->name);
	if (c)
		return c;
	c = strcmp(a->file, b->file);
	if (c)
		return c;
	return a->first_line < b->first_line ? -1 : a->first_line > b->first_line;
}

struct line_count {
	int line;
	uint64_t self, total;
};

/* The function's hot line: most self samples, else most total (the line calling onwards). */
static void set_hot_line(const struct profile *p, pid_t pid, struct prof_func_stat *f)
{
	struct line_count *lc = NULL, *best = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < p->nstacks; i++) {
		const struct prof_stack *s = &p->stacks[i];

		if (pid > 0 && s->pid != pid)
			continue;
		for (uint32_t j = 0; j < s->nframes; j++) {
			const struct prof_frame *fr = &s->frames[j];
			size_t k;

			if (fr->name != f->name || fr->file != f->file ||
			    fr->first_line != f->first_line || !fr->line)
				continue;
			for (k = 0; k < n && lc[k].line != fr->line; k++)
				;
			if (k == n) {
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 16;
					struct line_count *nl = realloc(lc, nc * sizeof(*nl));

					if (!nl)
						goto out;
					lc = nl;
					cap = nc;
				}
				lc[n++] = (struct line_count){ fr->line, 0, 0 };
			}
			lc[k].total += s->count;
			if (j == s->nframes - 1)
				lc[k].self += s->count;
		}
	}
	for (size_t k = 0; k < n; k++)
		if (!best || lc[k].self > best->self ||
		    (lc[k].self == best->self &&
		     (lc[k].total > best->total ||
		      (lc[k].total == best->total && lc[k].line < best->line))))
			best = &lc[k];
	if (best) {
		f->hot_line = best->line;
		f->hot_line_self = best->self;
	}
out:
	free(lc);
}

ssize_t profile_top_functions(const struct profile *p, pid_t pid, size_t max,
			      struct prof_func_stat **out)
{
	struct prof_func_stat *funcs = NULL;
	size_t n = 0, cap = 0, i;
	/* which stack last counted each function's total: recursion counts once */
	size_t *seen = NULL;
	struct hashidx idx;
	int err = -ENOMEM;

	hashidx_init(&idx);
	for (i = 0; i < p->nstacks; i++) {
		const struct prof_stack *s = &p->stacks[i];
		uint32_t j;

		if (pid > 0 && s->pid != pid)
			continue;
		for (j = 0; j < s->nframes; j++) {
			const struct prof_frame *fr = &s->frames[j];
			struct func_key key = { funcs, fr };
			int64_t k;
			uint32_t h = hash_u64(HASH_SEED, fr->first_line);

			h = hash_ptr(hash_ptr(h, fr->name), fr->file);
			k = hashidx_find(&idx, h, func_eq, &key);

			if (k < 0) {
				if (n == cap) {
					size_t ncap = cap ? cap * 2 : 64;
					void *nf = realloc(funcs, ncap * sizeof(*funcs));
					void *nseen;

					if (!nf)
						goto err;
					funcs = nf;
					nseen = realloc(seen, ncap * sizeof(*seen));
					if (!nseen)
						goto err;
					seen = nseen;
					cap = ncap;
				}
				if (hashidx_insert(&idx, h, n))
					goto err;
				funcs[n] = (struct prof_func_stat){
					.name = fr->name,
					.file = fr->file,
					.first_line = fr->first_line,
				};
				seen[n] = SIZE_MAX;
				k = n++;
			}
			if (seen[k] != i) {
				seen[k] = i;
				funcs[k].total += s->count;
			}
			if (j == s->nframes - 1) {
				funcs[k].self += s->count;
				if (s->in_syscall)
					funcs[k].self_syscall += s->count;
			}
		}
	}
	if (n)
		qsort(funcs, n, sizeof(*funcs), cmp_func);
	if (!funcs && !(funcs = malloc(sizeof(*funcs))))
		goto err;
	hashidx_free(&idx);
	free(seen);
	*out = funcs;
	return max && n > max ? max : n;
err:
	hashidx_free(&idx);
	free(seen);
	free(funcs);
	return err;
}

uint64_t profile_samples(const struct profile *p, pid_t pid)
{
	uint64_t sum = 0;
	size_t i;

	if (pid <= 0)
		return p->total_samples;
	for (i = 0; i < p->nstacks; i++)
		if (p->stacks[i].pid == pid)
			sum += p->stacks[i].count;
	return sum;
}

void profile_set_hot_lines(const struct profile *p, pid_t pid, struct prof_func_stat *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		set_hot_line(p, pid, &f[i]);
}
