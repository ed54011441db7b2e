// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per (process, leaf function) sampled argument hashes: the evidence behind the
 * repeated-arguments finding (user/model/findings_code.c). Bounded: PROF_ARGS_MAX_FUNCS
 * functions, PROF_ARGS_MAX_DISTINCT distinct hashes each; what does not fit is counted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/hashidx.h"
#include "stack/profile.h"

struct prof_argstats {
	struct hashidx idx;
	struct prof_arg_func *e;
	size_t n, cap;
	uint64_t dropped;
};

struct as_key {
	const struct prof_argstats *a;
	pid_t pid;
	const char *name, *file;
	int first_line;
};

static bool as_eq(const void *ctx, uint32_t idx)
{
	const struct as_key *k = ctx;
	const struct prof_arg_func *f = &k->a->e[idx];

	return f->pid == k->pid && f->name == k->name && f->file == k->file &&
	       f->first_line == k->first_line;
}

static uint32_t as_hash(pid_t pid, const char *name, const char *file, int first_line)
{
	return hash_u64(hash_ptr(hash_ptr(hash_u64(HASH_SEED, (uint32_t)pid), name), file),
			(uint32_t)first_line);
}

static struct prof_arg_func *lookup(const struct prof_argstats *a, pid_t pid, const char *name,
				    const char *file, int first_line)
{
	struct as_key k = { a, pid, name, file, first_line };
	int64_t i;

	if (!a)
		return NULL;
	i = hashidx_find(&a->idx, as_hash(pid, name, file, first_line), as_eq, &k);
	return i < 0 ? NULL : &a->e[i];
}

static void put(uint64_t *t, size_t slots, uint64_t h)
{
	size_t i = h & (slots - 1);

	while (t[i])
		i = (i + 1) & (slots - 1);
	t[i] = h;
}

/* Add h to f's set, growing it (at most half full) up to PROF_ARGS_MAX_DISTINCT hashes; past
 * that, distinct_capped. 0, or -ENOMEM. */
static int add_hash(struct prof_arg_func *f, uint64_t h)
{
	size_t i;

	if (!h)
		h = 1; /* 0 marks an empty slot */
	if (f->hslots) {
		for (i = h & (f->hslots - 1); f->hashes[i]; i = (i + 1) & (f->hslots - 1))
			if (f->hashes[i] == h)
				return 0;
	}
	if (f->distinct >= PROF_ARGS_MAX_DISTINCT) {
		f->distinct_capped = true;
		return 0;
	}
	if ((f->distinct + 1) * 2 > f->hslots) {
		uint32_t ns = f->hslots ? f->hslots * 2 : 16;
		uint64_t *nt = calloc(ns, sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		for (i = 0; i < f->hslots; i++)
			if (f->hashes[i])
				put(nt, ns, f->hashes[i]);
		free(f->hashes);
		f->hashes = nt;
		f->hslots = ns;
	}
	put(f->hashes, f->hslots, h);
	f->distinct++;
	return 0;
}

void prof_args_add(struct profile *p, pid_t pid, const struct prof_frame *leaf, bool own_call,
		   int state, uint64_t hash, unsigned nargs)
{
	struct prof_argstats *a = p->argstats;
	const char *name, *file;
	struct prof_arg_func *f;

	if (state < 0)
		return;
	if (!a) {
		a = p->argstats = calloc(1, sizeof(*a));
		if (!a)
			return;
		hashidx_init(&a->idx);
	}
	name = profile_intern(p, leaf->name ? leaf->name : "<unknown>");
	file = profile_intern(p, leaf->file ? leaf->file : "");
	if (!name || !file) {
		a->dropped++;
		return;
	}
	f = lookup(a, pid, name, file, leaf->first_line);
	if (!f) {
		if (a->n >= PROF_ARGS_MAX_FUNCS) {
			a->dropped++;
			return;
		}
		if (a->n == a->cap) {
			size_t nc = a->cap ? a->cap * 2 : 64;
			struct prof_arg_func *ne = realloc(a->e, nc * sizeof(*ne));

			if (!ne) {
				a->dropped++;
				return;
			}
			a->e = ne;
			a->cap = nc;
		}
		f = &a->e[a->n];
		memset(f, 0, sizeof(*f));
		f->pid = pid;
		f->name = name;
		f->file = file;
		f->first_line = leaf->first_line;
		if (hashidx_insert(&a->idx, as_hash(pid, name, file, leaf->first_line),
				   (uint32_t)a->n)) {
			a->dropped++;
			return;
		}
		a->n++;
	}
	f->sampled++;
	if (!own_call)
		return;
	f->own_call++;
	if (state != 1)
		return;
	if (add_hash(f, hash)) {
		a->dropped++;
		return;
	}
	f->decoded++;
	f->nargs = nargs;
}

void prof_argstats_free(struct prof_argstats *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		free(a->e[i].hashes);
	free(a->e);
	hashidx_free(&a->idx);
	free(a);
}

const struct prof_arg_func *profile_args_find(const struct profile *p, pid_t pid, const char *name,
					      const char *file, int first_line)
{
	return lookup(p->argstats, pid, name, file, first_line);
}

uint64_t profile_args_dropped(const struct profile *p)
{
	return p->argstats ? p->argstats->dropped : 0;
}
