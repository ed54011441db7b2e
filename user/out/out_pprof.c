// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "lib/hashidx.h"
#include "out/out_pprof.h"
#include "wall.h"
#include "lib/utf8.h"

/* profile.proto field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	VALUE_TYPE_TYPE = 1,
	VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	LABEL_NUM = 3,
	MAPPING_ID = 1,
	MAPPING_FILENAME = 5,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_FILENAME = 4,
	FUNCTION_START_LINE = 5,
};

/* the pseudo-functions' file: an address no interned string has */
static const char no_file[] = "";

struct strings {
	const char **v;
	size_t n, cap;
	struct hashidx idx;
};

struct func {
	const char *name, *file;
	int start_line;
};

struct loc {
	uint64_t func_id;
	int line;
};

struct enc {
	struct strings str;
	struct func *funcs;
	size_t nfuncs, capfuncs;
	struct hashidx func_idx;
	struct loc *locs;
	size_t nlocs, caplocs;
	struct hashidx loc_idx;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

struct str_key {
	const struct strings *t;
	const char *s;
};

static bool str_eq(const void *ctx, uint32_t i)
{
	const struct str_key *k = ctx;

	return !strcmp(k->t->v[i], k->s);
}

/* string table index of s, added if new; negative errno */
static int64_t str_id(struct strings *t, const char *s)
{
	struct str_key key = { t, s };
	uint32_t h = hash_str(HASH_SEED, s);
	int64_t i = hashidx_find(&t->idx, h, str_eq, &key);

	if (i >= 0)
		return i;
	if (grow((void **)&t->v, &t->cap, t->n, sizeof(*t->v)) || hashidx_insert(&t->idx, h, t->n))
		return -ENOMEM;
	t->v[t->n] = s;
	return t->n++;
}

static bool func_eq(const void *ctx, uint32_t i)
{
	const void *const *k = ctx;
	const struct func *a = k[0], *b = &((const struct enc *)k[1])->funcs[i];

	return a->name == b->name && a->file == b->file && a->start_line == b->start_line;
}

/* function id (index + 1), added if new; negative errno */
static int64_t func_id(struct enc *e, const char *name, const char *file, int start_line)
{
	struct func key = { name, file, start_line };
	const void *ctx[2] = { &key, e };
	uint32_t h = hash_u64(hash_ptr(hash_ptr(HASH_SEED, name), file), (uint32_t)start_line);
	int64_t i = hashidx_find(&e->func_idx, h, func_eq, ctx);

	if (i >= 0)
		return i + 1;
	if (grow((void **)&e->funcs, &e->capfuncs, e->nfuncs, sizeof(*e->funcs)) ||
	    hashidx_insert(&e->func_idx, h, e->nfuncs))
		return -ENOMEM;
	e->funcs[e->nfuncs] = key;
	return ++e->nfuncs;
}

static bool loc_eq(const void *ctx, uint32_t i)
{
	const void *const *k = ctx;
	const struct loc *a = k[0], *b = &((const struct enc *)k[1])->locs[i];

	return a->func_id == b->func_id && a->line == b->line;
}

/* location id (index + 1) of a line of a function, added if new; negative errno */
static int64_t loc_id(struct enc *e, const char *name, const char *file, int start_line, int line)
{
	int64_t fid = func_id(e, name, file, start_line);
	struct loc key = { fid, line };
	const void *ctx[2] = { &key, e };
	uint32_t h;
	int64_t i;

	if (fid < 0)
		return fid;
	h = hash_u64(hash_u64(HASH_SEED, fid), (uint32_t)line);
	i = hashidx_find(&e->loc_idx, h, loc_eq, ctx);
	if (i >= 0)
		return i + 1;
	if (grow((void **)&e->locs, &e->caplocs, e->nlocs, sizeof(*e->locs)) ||
	    hashidx_insert(&e->loc_idx, h, e->nlocs))
		return -ENOMEM;
	e->locs[e->nlocs] = key;
	return ++e->nlocs;
}

static void put_value_type(struct pb_buf *b, uint32_t field, struct pb_buf *tmp, int64_t type,
			   int64_t unit)
{
	pb_reset(tmp);
	pb_put_int64(tmp, VALUE_TYPE_TYPE, type);
	pb_put_int64(tmp, VALUE_TYPE_UNIT, unit);
	pb_put_message(b, field, tmp);
}

static void put_label(struct pb_buf *sample, struct pb_buf *tmp, int64_t key, int64_t str,
		      int64_t num)
{
	pb_reset(tmp);
	pb_put_int64(tmp, LABEL_KEY, key);
	if (str)
		pb_put_int64(tmp, LABEL_STR, str);
	else
		pb_put_int64(tmp, LABEL_NUM, num);
	pb_put_message(sample, SAMPLE_LABEL, tmp);
}

/* Encode the samples into out, filling the string, function and location tables */
static int encode_samples(const struct profile *p, struct enc *e, struct pb_buf *out,
			  int64_t period)
{
	struct pb_buf sample, tmp;
	const struct prof_stack **v;
	uint64_t *ids = NULL;
	int64_t k_pid, k_tid, k_process, k_thread;
	ssize_t n, i;
	int err = -ENOMEM;

	k_pid = str_id(&e->str, "pid");
	k_tid = str_id(&e->str, "tid");
	k_process = str_id(&e->str, "process");
	k_thread = str_id(&e->str, "thread");
	if (k_pid < 0 || k_tid < 0 || k_process < 0 || k_thread < 0)
		return -ENOMEM;
	n = profile_sorted_stacks(p, 0, &v);
	if (n < 0)
		return n;
	pb_init(&sample);
	pb_init(&tmp);
	ids = malloc((PROFILE_MAX_FRAMES + 2) * sizeof(*ids));
	if (!ids)
		goto out;
	for (i = 0; i < n; i++) {
		const struct prof_stack *s = v[i];
		int64_t vals[2] = { (int64_t)s->count, (int64_t)s->count * period };
		size_t nvals = p->mode == PH_MODE_MEMORY ? 1 : 2;
		int64_t id, process, thread;
		size_t nids = 0;
		uint32_t j;

		/* leaf first */
		if (s->in_syscall) {
			id = loc_id(e, PROF_SYSCALL_NAME, no_file, 0, 0);
			if (id < 0)
				goto out;
			ids[nids++] = id;
		}
		for (j = s->nframes; j-- > 0;) {
			const struct prof_frame *fr = &s->frames[j];

			id = loc_id(e, fr->name, fr->file, fr->first_line, prof_frame_line(fr));
			if (id < 0)
				goto out;
			ids[nids++] = id;
		}
		if (s->truncated) {
			id = loc_id(e, PROF_TRUNCATED_NAME, no_file, 0, 0);
			if (id < 0)
				goto out;
			ids[nids++] = id;
		}
		process = str_id(&e->str, s->process);
		thread = str_id(&e->str, s->thread);
		if (process < 0 || thread < 0)
			goto out;

		pb_reset(&sample);
		pb_put_packed_uint64(&sample, SAMPLE_LOCATION_ID, ids, nids);
		pb_put_packed_int64(&sample, SAMPLE_VALUE, vals, nvals);
		put_label(&sample, &tmp, k_pid, 0, s->pid);
		put_label(&sample, &tmp, k_tid, 0, s->tid);
		put_label(&sample, &tmp, k_process, process, 0);
		put_label(&sample, &tmp, k_thread, thread, 0);
		pb_put_message(out, PROFILE_SAMPLE, &sample);
	}
	err = out->err;
out:
	free(ids);
	free(v);
	pb_free(&sample);
	pb_free(&tmp);
	return err;
}

int out_pprof_encode(const struct profile *p, struct pb_buf *b)
{
	struct enc e = { 0 };
	struct pb_buf samples, tmp, line;
	int64_t period = p->frequency_hz ? (int64_t)(1e9 / p->frequency_hz) : 0;
	int64_t s_samples, s_count, s_cpu, s_ns, s_python, s_space, s_bytes;
	bool memory = p->mode == PH_MODE_MEMORY;
	size_t i;
	int err = -ENOMEM;

	pb_init(&samples);
	pb_init(&tmp);
	pb_init(&line);
	hashidx_init(&e.str.idx);
	hashidx_init(&e.func_idx);
	hashidx_init(&e.loc_idx);

	if (str_id(&e.str, "") != 0)
		goto out;
	s_samples = str_id(&e.str, "samples");
	s_count = str_id(&e.str, "count");
	s_cpu = str_id(&e.str, "cpu");
	s_ns = str_id(&e.str, "nanoseconds");
	s_python = str_id(&e.str, "python");
	s_space = str_id(&e.str, "space");
	s_bytes = str_id(&e.str, "bytes");
	if (s_samples < 0 || s_count < 0 || s_cpu < 0 || s_ns < 0 || s_python < 0 || s_space < 0 ||
	    s_bytes < 0)
		goto out;
	if (memory)
		period = 0;
	err = encode_samples(p, &e, &samples, period);
	if (err)
		goto out;
	/* function names and files join the string table before it is written */
	err = -ENOMEM;
	for (i = 0; i < e.nfuncs; i++)
		if (str_id(&e.str, e.funcs[i].name) < 0 || str_id(&e.str, e.funcs[i].file) < 0)
			goto out;

	if (memory) {
		/* one value: resident bytes the stack made and still holds */
		put_value_type(b, PROFILE_SAMPLE_TYPE, &tmp, s_space, s_bytes);
	} else {
		put_value_type(b, PROFILE_SAMPLE_TYPE, &tmp, s_samples, s_count);
		put_value_type(b, PROFILE_SAMPLE_TYPE, &tmp, s_cpu, s_ns);
	}
	pb_put_raw(b, samples.data, samples.len);
	/* one mapping that says the locations are already symbolized, so pprof tries no binary */
	pb_reset(&tmp);
	pb_put_uint64(&tmp, MAPPING_ID, 1);
	pb_put_int64(&tmp, MAPPING_FILENAME, s_python);
	pb_put_uint64(&tmp, MAPPING_HAS_FUNCTIONS, 1);
	pb_put_uint64(&tmp, MAPPING_HAS_FILENAMES, 1);
	pb_put_uint64(&tmp, MAPPING_HAS_LINE_NUMBERS, 1);
	pb_put_message(b, PROFILE_MAPPING, &tmp);
	for (i = 0; i < e.nlocs; i++) {
		pb_reset(&line);
		pb_put_uint64(&line, LINE_FUNCTION_ID, e.locs[i].func_id);
		if (e.locs[i].line)
			pb_put_int64(&line, LINE_LINE, e.locs[i].line);
		pb_reset(&tmp);
		pb_put_uint64(&tmp, LOCATION_ID, i + 1);
		pb_put_uint64(&tmp, LOCATION_MAPPING_ID, 1);
		pb_put_message(&tmp, LOCATION_LINE, &line);
		pb_put_message(b, PROFILE_LOCATION, &tmp);
	}
	for (i = 0; i < e.nfuncs; i++) {
		int64_t name = str_id(&e.str, e.funcs[i].name);

		pb_reset(&tmp);
		pb_put_uint64(&tmp, FUNCTION_ID, i + 1);
		/* no system_name: pprof then takes name as already demangled, rather than cut
		 * "<module>" to "" as a C++ template argument list */
		pb_put_int64(&tmp, FUNCTION_NAME, name);
		pb_put_int64(&tmp, FUNCTION_FILENAME, str_id(&e.str, e.funcs[i].file));
		if (e.funcs[i].start_line)
			pb_put_int64(&tmp, FUNCTION_START_LINE, e.funcs[i].start_line);
		pb_put_message(b, PROFILE_FUNCTION, &tmp);
	}
	for (i = 0; i < e.str.n; i++) {
		/* protobuf strings are UTF-8: names from the target may hold any byte */
		char *v = utf8_valid(e.str.v[i]) ? NULL : utf8_dup(e.str.v[i]);

		pb_put_string(b, PROFILE_STRING_TABLE, v ? v : e.str.v[i]);
		free(v);
	}
	if (isfinite(p->duration_s) && p->duration_s > 0)
		pb_put_int64(b, PROFILE_DURATION_NANOS, (int64_t)llround(p->duration_s * 1e9));
	if (memory) {
		put_value_type(b, PROFILE_PERIOD_TYPE, &tmp, s_space, s_bytes);
	} else {
		put_value_type(b, PROFILE_PERIOD_TYPE, &tmp, s_cpu, s_ns);
		pb_put_int64(b, PROFILE_PERIOD, period);
	}
	err = b->err;
out:
	pb_free(&samples);
	pb_free(&tmp);
	pb_free(&line);
	free(e.str.v);
	free(e.funcs);
	free(e.locs);
	hashidx_free(&e.str.idx);
	hashidx_free(&e.func_idx);
	hashidx_free(&e.loc_idx);
	return err;
}

/* gzip (RFC 1952) data onto f */
static int write_gzip(const void *data, size_t len, FILE *f)
{
	unsigned char out[16384];
	z_stream zs;
	int zerr, err = 0;

	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16: a gzip header and trailer rather than zlib's */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)data;
	zs.avail_in = 0;
	do {
		/* feed at most UINT_MAX bytes at a time: avail_in is an unsigned int */
		if (!zs.avail_in && len) {
			zs.avail_in = len > 0x40000000u ? 0x40000000u : (uInt)len;
			len -= zs.avail_in;
		}
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		zerr = deflate(&zs, len ? Z_NO_FLUSH : Z_FINISH);
		if (zerr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(out, 1, sizeof(out) - zs.avail_out, f) != sizeof(out) - zs.avail_out) {
			err = -EIO;
			break;
		}
	} while (zerr != Z_STREAM_END);
	deflateEnd(&zs);
	return err;
}

int out_pprof_write(const struct profile *p, FILE *f)
{
	struct pb_buf b;
	int err;

	if (!p || !f)
		return -EINVAL;
	pb_init(&b);
	err = out_pprof_encode(p, &b);
	if (!err)
		err = write_gzip(b.data, b.len, f);
	pb_free(&b);
	if (!err && (fflush(f) || ferror(f)))
		err = -EIO;
	return err;
}
