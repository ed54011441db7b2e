// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/hashidx.h"
#include "lib/json.h"
#include "out/out_speedscope.h"
#include "wall.h"

/* the pseudo-frames' file: an address no interned string has */
static const char no_file[] = "";

struct sframe {
	const char *name, *file;
	int line;
};

struct frames {
	struct sframe *v;
	size_t n, cap;
	struct hashidx idx;
};

static bool sframe_eq(const void *ctx, uint32_t i)
{
	const struct sframe *const *k = ctx;
	const struct frames *fs = (const void *)k[1];
	const struct sframe *a = k[0], *b = &fs->v[i];

	return a->name == b->name && a->file == b->file && a->line == b->line;
}

/* index of the frame, added if new; negative errno */
static int64_t frame_id(struct frames *fs, const char *name, const char *file, int line)
{
	struct sframe key = { name, file, line };
	const void *ctx[2] = { &key, fs };
	uint32_t h = hash_u64(hash_ptr(hash_ptr(HASH_SEED, name), file), (uint32_t)line);
	int64_t i = hashidx_find(&fs->idx, h, sframe_eq, ctx);

	if (i >= 0)
		return i;
	if (fs->n == fs->cap) {
		size_t ncap = fs->cap ? fs->cap * 2 : 64;
		struct sframe *nv = realloc(fs->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		fs->v = nv;
		fs->cap = ncap;
	}
	if (hashidx_insert(&fs->idx, h, fs->n))
		return -ENOMEM;
	fs->v[fs->n] = key;
	return fs->n++;
}

/* the frame indices of every stack, root first, each list ending with -1 */
static int64_t *stack_ids(struct frames *fs, const struct prof_stack *s, int64_t *ids)
{
	uint32_t j;
	int64_t id;

	if (s->truncated) {
		id = frame_id(fs, PROF_TRUNCATED_NAME, no_file, 0);
		if (id < 0)
			return NULL;
		*ids++ = id;
	}
	for (j = 0; j < s->nframes; j++) {
		const struct prof_frame *fr = &s->frames[j];

		id = frame_id(fs, fr->name, fr->file, prof_frame_line(fr));
		if (id < 0)
			return NULL;
		*ids++ = id;
	}
	if (s->in_syscall) {
		id = frame_id(fs, PROF_SYSCALL_NAME, no_file, 0);
		if (id < 0)
			return NULL;
		*ids++ = id;
	}
	*ids++ = -1;
	return ids;
}

static bool same_thread(const struct prof_stack *a, const struct prof_stack *b)
{
	return a->pid == b->pid && a->tid == b->tid && a->process == b->process &&
	       a->thread == b->thread;
}

static void write_profile(struct json *j, const struct prof_stack **v, size_t n,
			  const int64_t *const *ids, bool bytes)
{
	uint64_t total = 0;
	size_t i;
	char *name;

	for (i = 0; i < n; i++)
		total += v[i]->count;
	json_obj_begin(j, NULL);
	json_str(j, "type", "sampled");
	if (asprintf(&name, "%s / %s", v[0]->process, v[0]->thread) < 0)
		name = NULL;
	json_str(j, "name", name ? name : v[0]->thread);
	free(name);
	json_str(j, "unit", bytes ? "bytes" : "none");
	json_u64(j, "startValue", 0);
	json_u64(j, "endValue", total);
	json_arr_begin(j, "samples");
	for (i = 0; i < n; i++) {
		const int64_t *id;

		json_arr_begin(j, NULL);
		for (id = ids[i]; *id >= 0; id++)
			json_u64(j, NULL, *id);
		json_arr_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "weights");
	for (i = 0; i < n; i++)
		json_u64(j, NULL, v[i]->count);
	json_arr_end(j);
	json_obj_end(j);
}

int out_speedscope_write(const struct profile *p, FILE *f)
{
	struct frames fs = { 0 };
	const struct prof_stack **v = NULL;
	int64_t **ids = NULL, *all = NULL, *cur;
	size_t nids = 0, i, start;
	struct json j;
	ssize_t n;
	char *name = NULL;
	int err = -ENOMEM;

	if (!p || !f)
		return -EINVAL;
	hashidx_init(&fs.idx);
	n = profile_sorted_stacks(p, 0, &v);
	if (n < 0)
		return n;
	for (i = 0; i < (size_t)n; i++)
		nids += v[i]->nframes + 3;
	ids = malloc((n ? n : 1) * sizeof(*ids));
	all = malloc((nids ? nids : 1) * sizeof(*all));
	if (!ids || !all)
		goto out;
	for (cur = all, i = 0; i < (size_t)n; i++) {
		ids[i] = cur;
		cur = stack_ids(&fs, v[i], cur);
		if (!cur)
			goto out;
	}

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "$schema", SPEEDSCOPE_SCHEMA);
	json_str(&j, "exporter", "pyhound " PYHOUND_VERSION);
	if (asprintf(&name, "pyhound: %.1f s at %u Hz", p->duration_s, p->frequency_hz) < 0)
		name = NULL;
	json_str(&j, "name", name ? name : "pyhound");
	json_u64(&j, "activeProfileIndex", 0);
	json_obj_begin(&j, "shared");
	json_arr_begin(&j, "frames");
	for (i = 0; i < fs.n; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "name", fs.v[i].name);
		if (fs.v[i].file[0])
			json_str(&j, "file", fs.v[i].file);
		if (fs.v[i].line)
			json_i64(&j, "line", fs.v[i].line);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_arr_begin(&j, "profiles");
	for (start = 0, i = 1; i <= (size_t)n; i++) {
		if (i < (size_t)n && same_thread(v[i], v[start]))
			continue;
		write_profile(&j, v + start, i - start, (const int64_t *const *)ids + start,
			      p->mode == PH_MODE_MEMORY);
		start = i;
	}
	json_arr_end(&j);
	json_obj_end(&j);
	err = fflush(f) || ferror(f) ? -EIO : 0;
out:
	free(name);
	free(all);
	free(ids);
	free(v);
	free(fs.v);
	hashidx_free(&fs.idx);
	return err;
}
