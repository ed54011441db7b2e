// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/hashidx.h"
#include "stack/memheld.h"

#define REGION_SHIFT 21 /* samples are bucketed by 2 MiB of address space */
#define MAX_BUCKETS (1u << 20)
#define SCAN_ALL_REGIONS 4096 /* a release spanning more regions scans the buckets instead */

struct held_sample {
	uint64_t addr, bytes;
	uint32_t stack; /* index in h->stacks */
};

struct bucket {
	pid_t pid;
	uint64_t region;
	uint32_t n, cap;
	struct held_sample *v;
};

struct proc_ent {
	pid_t pid;
	struct memheld_proc st;
};

struct memheld {
	struct profile *stacks; /* every growth stack; count = bytes sampled */
	uint64_t *held;		/* per stack: bytes held */
	size_t held_cap;
	struct profile *maps;	/* large mappings; count = bytes */
	uint64_t *map_n;	/* per map stack: mappings */
	size_t map_cap;
	struct bucket *b;
	size_t nb, bcap;
	struct hashidx bidx;
	struct proc_ent *procs;
	size_t np, pcap;
	struct hashidx pidx;
	uint64_t nsamples, dropped;
};

struct memheld *memheld_new(void)
{
	struct memheld *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->stacks = profile_new(0, 0);
	h->maps = profile_new(0, 0);
	if (!h->stacks || !h->maps) {
		memheld_free(h);
		return NULL;
	}
	hashidx_init(&h->bidx);
	hashidx_init(&h->pidx);
	return h;
}

void memheld_free(struct memheld *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nb; i++)
		free(h->b[i].v);
	free(h->b);
	hashidx_free(&h->bidx);
	free(h->procs);
	hashidx_free(&h->pidx);
	profile_free(h->stacks);
	profile_free(h->maps);
	free(h->held);
	free(h->map_n);
	free(h);
}

static bool proc_eq(const void *ctx, uint32_t idx)
{
	const struct memheld *h = ((const void *const *)ctx)[0];
	pid_t pid = *(const pid_t *)((const void *const *)ctx)[1];

	return h->procs[idx].pid == pid;
}

static struct memheld_proc *proc_get(struct memheld *h, pid_t pid, bool create)
{
	const void *ctx[2] = { h, &pid };
	uint32_t hash = hash_u64(HASH_SEED, (uint64_t)pid);
	int64_t i = hashidx_find(&h->pidx, hash, proc_eq, ctx);

	if (i >= 0)
		return &h->procs[i].st;
	if (!create || h->np >= MEMHELD_MAX_PIDS)
		return NULL;
	if (h->np == h->pcap) {
		size_t ncap = h->pcap ? h->pcap * 2 : 16;
		struct proc_ent *n = realloc(h->procs, ncap * sizeof(*n));

		if (!n)
			return NULL;
		h->procs = n;
		h->pcap = ncap;
	}
	if (hashidx_insert(&h->pidx, hash, h->np))
		return NULL;
	memset(&h->procs[h->np], 0, sizeof(h->procs[h->np]));
	h->procs[h->np].pid = pid;
	return &h->procs[h->np++].st;
}

static bool bucket_eq(const void *ctx, uint32_t idx)
{
	const struct memheld *h = ((const void *const *)ctx)[0];
	const struct bucket *k = ((const void *const *)ctx)[1];

	return h->b[idx].pid == k->pid && h->b[idx].region == k->region;
}

static uint32_t bucket_hash(pid_t pid, uint64_t region)
{
	return hash_u64(hash_u64(HASH_SEED, (uint64_t)pid), region);
}

static struct bucket *bucket_get(struct memheld *h, pid_t pid, uint64_t region, bool create)
{
	struct bucket k = { .pid = pid, .region = region };
	const void *ctx[2] = { h, &k };
	uint32_t hash = bucket_hash(pid, region);
	int64_t i = hashidx_find(&h->bidx, hash, bucket_eq, ctx);

	if (i >= 0)
		return &h->b[i];
	if (!create || h->nb >= MAX_BUCKETS)
		return NULL;
	if (h->nb == h->bcap) {
		size_t ncap = h->bcap ? h->bcap * 2 : 256;
		struct bucket *n = realloc(h->b, ncap * sizeof(*n));

		if (!n)
			return NULL;
		h->b = n;
		h->bcap = ncap;
	}
	if (hashidx_insert(&h->bidx, hash, h->nb))
		return NULL;
	h->b[h->nb] = k;
	return &h->b[h->nb++];
}

static int bucket_push(struct bucket *b, const struct held_sample *s)
{
	if (b->n == b->cap) {
		uint32_t ncap = b->cap ? b->cap * 2 : 8;
		struct held_sample *n = realloc(b->v, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->v = n;
		b->cap = ncap;
	}
	b->v[b->n++] = *s;
	return 0;
}

static int grow_array(uint64_t **a, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 64;
	uint64_t *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*a, ncap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n + *cap, 0, (ncap - *cap) * sizeof(*n));
	*a = n;
	*cap = ncap;
	return 0;
}

int memheld_growth(struct memheld *h, pid_t pid, pid_t tid, const char *process,
		   const char *thread, const struct prof_frame *frames, uint32_t nframes,
		   bool truncated, uint64_t addr, uint64_t bytes)
{
	struct memheld_proc *st = proc_get(h, pid, true);
	struct held_sample s = { .addr = addr, .bytes = bytes };
	struct bucket *b;
	ssize_t idx;

	if (!st || !bytes || h->nsamples >= MEMHELD_MAX_SAMPLES) {
		h->dropped++;
		return -ENOSPC;
	}
	idx = profile_add_index(h->stacks, pid, tid, process, thread, frames, nframes, truncated,
				false, bytes);
	if (idx < 0 || grow_array(&h->held, &h->held_cap, (size_t)idx + 1)) {
		h->dropped++;
		return idx < 0 ? (int)idx : -ENOMEM;
	}
	b = bucket_get(h, pid, addr >> REGION_SHIFT, true);
	s.stack = (uint32_t)idx;
	if (!b || bucket_push(b, &s)) {
		/* counted as made and released at once: never held */
		h->dropped++;
		st->sampled += bytes;
		st->released += bytes;
		return -ENOMEM;
	}
	h->held[idx] += bytes;
	h->nsamples++;
	st->sampled += bytes;
	st->held += bytes;
	st->samples++;
	if (!addr)
		st->no_addr++;
	return 0;
}

int memheld_mapping(struct memheld *h, pid_t pid, pid_t tid, const char *process,
		    const char *thread, const struct prof_frame *frames, uint32_t nframes,
		    bool truncated, const char *kind, uint64_t bytes)
{
	struct memheld_proc *st = proc_get(h, pid, true);
	struct prof_frame *f;
	ssize_t idx;

	if (!st || nframes >= PROFILE_MAX_FRAMES)
		return -ENOSPC;
	f = malloc((nframes + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (nframes)
		memcpy(f, frames, nframes * sizeof(*f));
	f[nframes] = (struct prof_frame){ .name = kind, .file = "" };
	idx = profile_add_index(h->maps, pid, tid, process, thread, f, nframes + 1, truncated,
				false, bytes);
	free(f);
	if (idx < 0)
		return (int)idx;
	if (grow_array(&h->map_n, &h->map_cap, (size_t)idx + 1))
		return -ENOMEM;
	h->map_n[idx]++;
	st->maps++;
	st->map_bytes += bytes;
	return 0;
}

/* Take the samples of pid in [start, end) out of bucket b; moved ones (to != NULL) are put
 * back shifted by *to - start, the others released. */
static void take_range(struct memheld *h, struct bucket *b, uint64_t start, uint64_t end,
		       struct held_sample **moved, size_t *nmoved, size_t *mcap)
{
	struct memheld_proc *st = proc_get(h, b->pid, false);

	for (uint32_t i = 0; i < b->n;) {
		struct held_sample *s = &b->v[i];

		if (s->addr < start || s->addr >= end) {
			i++;
			continue;
		}
		if (moved) {
			if (*nmoved == *mcap) {
				size_t ncap = *mcap ? *mcap * 2 : 64;
				struct held_sample *n = realloc(*moved, ncap * sizeof(*n));

				if (!n) {
					i++; /* stays where it was */
					continue;
				}
				*moved = n;
				*mcap = ncap;
			}
			(*moved)[(*nmoved)++] = *s;
		} else {
			h->held[s->stack] -= s->bytes;
			if (st) {
				st->held -= s->bytes;
				st->released += s->bytes;
			}
		}
		h->nsamples--;
		*s = b->v[--b->n];
	}
}

static void for_range(struct memheld *h, pid_t pid, uint64_t start, uint64_t end,
		      struct held_sample **moved, size_t *nmoved, size_t *mcap)
{
	uint64_t r0 = start >> REGION_SHIFT, r1 = (end - 1) >> REGION_SHIFT;

	if (end <= start)
		return;
	if (r1 - r0 >= SCAN_ALL_REGIONS) {
		for (size_t i = 0; i < h->nb; i++)
			if (h->b[i].pid == pid && h->b[i].region >= r0 && h->b[i].region <= r1)
				take_range(h, &h->b[i], start, end, moved, nmoved, mcap);
		return;
	}
	for (uint64_t r = r0; r <= r1; r++) {
		struct bucket *b = bucket_get(h, pid, r, false);

		if (b)
			take_range(h, b, start, end, moved, nmoved, mcap);
	}
}

void memheld_release(struct memheld *h, pid_t pid, uint64_t start, uint64_t len)
{
	struct memheld_proc *st = proc_get(h, pid, false);

	if (!st || !len || start + len < start)
		return;
	st->releases++;
	for_range(h, pid, start, start + len, NULL, NULL, NULL);
}

void memheld_move(struct memheld *h, pid_t pid, uint64_t from, uint64_t len, uint64_t to)
{
	struct held_sample *moved = NULL;
	struct memheld_proc *st;
	size_t n = 0, cap = 0;

	if (!proc_get(h, pid, false) || !len || from + len < from || from == to)
		return;
	for_range(h, pid, from, from + len, &moved, &n, &cap);
	for (size_t i = 0; i < n; i++) {
		struct held_sample s = moved[i];
		struct bucket *b;

		s.addr = s.addr - from + to;
		b = bucket_get(h, pid, s.addr >> REGION_SHIFT, true);
		if (b && !bucket_push(b, &s)) {
			h->nsamples++;
			continue;
		}
		/* no room at its new place: counted as released */
		st = proc_get(h, pid, false);
		if (st) {
			st->held -= s.bytes;
			st->released += s.bytes;
		}
		h->held[s.stack] -= s.bytes;
		h->dropped++;
	}
	free(moved);
}

void memheld_forget(struct memheld *h, pid_t pid)
{
	struct memheld_proc *st = proc_get(h, pid, false);

	for (size_t i = 0; i < h->nb; i++) {
		struct bucket *b = &h->b[i];

		if (b->pid != pid)
			continue;
		for (uint32_t j = 0; j < b->n; j++)
			h->held[b->v[j].stack] -= b->v[j].bytes;
		h->nsamples -= b->n;
		b->n = 0;
	}
	if (st)
		st->held = 0;
}

struct profile *memheld_profile(const struct memheld *h, pid_t pid, double duration_s)
{
	struct profile *p = profile_new(duration_s, 0);

	if (!p)
		return NULL;
	for (size_t i = 0; i < h->stacks->nstacks; i++) {
		const struct prof_stack *s = &h->stacks->stacks[i];

		if ((pid > 0 && s->pid != pid) || i >= h->held_cap || !h->held[i])
			continue;
		if (profile_add(p, s->pid, s->tid, s->process, s->thread, s->frames, s->nframes,
				s->truncated, false, h->held[i]) == -EINVAL) {
			profile_free(p);
			return NULL;
		}
	}
	return p;
}

const struct profile *memheld_maps(const struct memheld *h)
{
	return h->maps;
}

uint64_t memheld_map_count(const struct memheld *h, size_t stack_index)
{
	return stack_index < h->map_cap ? h->map_n[stack_index] : 0;
}

int memheld_proc(const struct memheld *h, pid_t pid, struct memheld_proc *out)
{
	struct memheld_proc *st = proc_get((struct memheld *)h, pid, false);

	if (!st)
		return -ENOENT;
	*out = *st;
	return 0;
}

uint64_t memheld_dropped(const struct memheld *h)
{
	return h->dropped;
}
