// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per (process, function, line, instruction, loop depth) counts of the leaf frames' samples:
 * the evidence behind report --opcodes and the code findings (user/model/findings_code.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/hashidx.h"
#include "stack/profile.h"

struct prof_lineops {
	struct hashidx idx;
	struct prof_line_op *e;
	size_t n, cap;
	uint64_t dropped;
};

struct lo_key {
	const struct prof_lineops *lo;
	const struct prof_line_op *k;
};

static bool lo_eq(const void *ctx, uint32_t idx)
{
	const struct lo_key *key = ctx;
	const struct prof_line_op *a = &key->lo->e[idx], *b = key->k;

	return a->pid == b->pid && a->name == b->name && a->file == b->file &&
	       a->first_line == b->first_line && a->line == b->line && a->op == b->op &&
	       a->loop_depth == b->loop_depth;
}

void prof_lineops_add(struct profile *p, pid_t pid, const struct prof_frame *leaf, const char *op,
		      int loop_depth, uint64_t count)
{
	struct prof_lineops *lo = p->lineops;
	struct prof_line_op k = {
		.pid = pid, .name = profile_intern(p, leaf->name ? leaf->name : "<unknown>"),
		.file = profile_intern(p, leaf->file), .first_line = leaf->first_line,
		.line = leaf->line, .loop_depth = loop_depth, .count = count,
	};
	struct lo_key key = { NULL, &k };
	uint32_t h;
	int64_t found;

	if (!lo) {
		lo = p->lineops = calloc(1, sizeof(*lo));
		if (!lo)
			return;
		hashidx_init(&lo->idx);
	}
	key.lo = lo;
	k.op = profile_intern(p, op && *op ? op : "?");
	if (!k.op || !k.name || !k.file) {
		lo->dropped += count;
		return;
	}
	h = hash_u64(HASH_SEED, (uint64_t)(uint32_t)pid << 32 | (uint32_t)k.line);
	h = hash_ptr(hash_ptr(hash_ptr(h, k.name), k.file), k.op);
	h = hash_u64(h, (uint64_t)(uint32_t)k.first_line << 8 | (uint8_t)k.loop_depth);
	found = hashidx_find(&lo->idx, h, lo_eq, &key);
	if (found >= 0) {
		lo->e[found].count += count;
		return;
	}
	if (lo->n >= PROFILE_MAX_STACKS) {
		lo->dropped += count;
		return;
	}
	if (lo->n == lo->cap) {
		size_t nc = lo->cap ? lo->cap * 2 : 64;
		struct prof_line_op *ne = realloc(lo->e, nc * sizeof(*ne));

		if (!ne) {
			lo->dropped += count;
			return;
		}
		lo->e = ne;
		lo->cap = nc;
	}
	if (hashidx_insert(&lo->idx, h, lo->n)) {
		lo->dropped += count;
		return;
	}
	lo->e[lo->n++] = k;
}

void prof_lineops_free(struct prof_lineops *lo)
{
	if (!lo)
		return;
	hashidx_free(&lo->idx);
	free(lo->e);
	free(lo);
}

static int cmp_lo(const void *x, const void *y)
{
	const struct prof_line_op *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	c = strcmp(a->file, b->file);
	if (c)
		return c;
	if (a->first_line != b->first_line)
		return a->first_line < b->first_line ? -1 : 1;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	c = strcmp(a->op, b->op);
	if (c)
		return c;
	return a->loop_depth < b->loop_depth ? -1 : a->loop_depth > b->loop_depth;
}

ssize_t profile_line_ops(const struct profile *p, pid_t pid, struct prof_line_op **out)
{
	const struct prof_lineops *lo = p->lineops;
	struct prof_line_op *v;
	size_t n = 0;

	v = malloc((lo && lo->n ? lo->n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; lo && i < lo->n; i++)
		if (lo->e[i].pid == pid)
			v[n++] = lo->e[i];
	if (n)
		qsort(v, n, sizeof(*v), cmp_lo);
	*out = v;
	return n;
}

uint64_t profile_lineops_dropped(const struct profile *p)
{
	return p->lineops ? p->lineops->dropped : 0;
}
