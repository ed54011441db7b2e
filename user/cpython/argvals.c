// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Argument sampling: decode and hash a leaf frame's first arguments (see argvals.h). Every
 * layout read from the target is checked: type pointers are compared with the process's own
 * type objects, sizes are bounded before anything is read. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include "host/elf.h"
#include "cpython/argvals.h"

/* FNV-1a 64 */
#define FNV_SEED 0xcbf29ce484222325ull
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
	return fnv(h, &v, sizeof(v));
}

enum { TAG_NONE = 1, TAG_TRUE, TAG_FALSE, TAG_INT, TAG_FLOAT, TAG_STR, TAG_BYTES, TAG_TUPLE };

struct dec {
	const struct py_offsets *off;
	const struct argv_types *t;
	argv_read_fn rd;
	void *ctx;
	uint64_t tag_mask; /* 3.14+: _PyStackRef tag bits of localsplus slots */
};

static int rd(const struct dec *d, uint64_t addr, void *buf, size_t len)
{
	/* user-space addresses only (x86_64: below 2^47), no wrap-around */
	if (addr < 4096 || addr >= (1ull << 47) || addr + len < addr || addr + len > (1ull << 47))
		return -EFAULT;
	return d->rd(d->ctx, addr, buf, len);
}

/* The first bytes of an object, read at once (one process_vm_readv instead of one per field):
 * fields inside them come from here, others are read on their own. */
#define HEAD_BYTES 64
struct head {
	uint64_t obj;
	size_t len; /* bytes read: HEAD_BYTES, or 16 near the end of a mapping */
	uint8_t b[HEAD_BYTES];
};

static int orr(const struct dec *d, const struct head *o, uint64_t off, void *dst, size_t len)
{
	if (off + len <= o->len) {
		memcpy(dst, o->b + off, len);
		return 0;
	}
	return rd(d, o->obj + off, dst, len);
}

static int value(const struct dec *d, uint64_t obj, int level, uint64_t *h);

static int dec_int(const struct dec *d, const struct head *o, uint64_t *h)
{
	uint32_t digits[ARGV_MAX_DIGITS];
	uint64_t n, sign;
	int64_t size;

	if (orr(d, o, 16, &size, sizeof(size)))
		return 1;
	if (d->off->version_hex >= 0x030c0000) {
		/* 3.12+: lv_tag = ndigits << 3 | sign (0 positive, 1 zero, 2 negative) */
		n = (uint64_t)size >> 3;
		sign = (uint64_t)size & 3;
		if (sign == 3) /* bit 2 is not part of the count */
			return 1;
	} else {
		/* ob_size: the digit count, negative for negative numbers */
		n = size < 0 ? -(uint64_t)size : (uint64_t)size;
		sign = size < 0 ? 2 : size == 0 ? 1 : 0;
	}
	if (n > ARGV_MAX_DIGITS || (sign == 1 && n > 1))
		return 1;
	if (sign == 1)
		n = 0;
	if (n && orr(d, o, 24, digits, n * sizeof(digits[0])))
		return 1;
	for (uint64_t i = 0; i < n; i++)
		if (digits[i] >> 30)
			return 1; /* not a 30-bit digit */
	*h = fnv_u64(fnv_u64(*h, TAG_INT), sign);
	*h = fnv(*h, digits, n * sizeof(digits[0]));
	return 0;
}

static int dec_float(const struct dec *d, const struct head *o, uint64_t *h)
{
	double v;

	if (orr(d, o, 16, &v, sizeof(v)))
		return 1;
	*h = fnv(fnv_u64(*h, TAG_FLOAT), &v, sizeof(v));
	return 0;
}

static int dec_str(const struct dec *d, const struct head *o, uint64_t *h)
{
	const struct py_offsets *L = d->off;
	uint8_t data[ARGV_MAX_BYTES];
	uint64_t len;
	uint32_t state;
	unsigned kind;
	uint16_t at;

	if (L->unicode_length == PY_OFF_NONE || L->unicode_state == PY_OFF_NONE ||
	    L->unicode_ascii_data == PY_OFF_NONE || L->unicode_compact_data == PY_OFF_NONE ||
	    orr(d, o, L->unicode_length, &len, sizeof(len)) ||
	    orr(d, o, L->unicode_state, &state, sizeof(state)))
		return 1;
	/* state: interned:2, kind:3, compact:1, ascii:1 (3.8-3.15 GIL builds) */
	kind = (state >> 2) & 7;
	if (!(state & 0x20) || (kind != 1 && kind != 2 && kind != 4) ||
	    len > ARGV_MAX_BYTES / kind)
		return 1;
	at = (state & 0x40) ? L->unicode_ascii_data : L->unicode_compact_data;
	if (len && orr(d, o, at, data, len * kind))
		return 1;
	*h = fnv_u64(fnv_u64(fnv_u64(*h, TAG_STR), kind), len);
	*h = fnv(*h, data, len * kind);
	return 0;
}

static int dec_bytes(const struct dec *d, const struct head *o, uint64_t *h)
{
	uint8_t data[ARGV_MAX_BYTES];
	int64_t len;

	if (d->off->var_size == PY_OFF_NONE || d->off->bytes_sval == PY_OFF_NONE ||
	    orr(d, o, d->off->var_size, &len, sizeof(len)) || len < 0 || len > ARGV_MAX_BYTES)
		return 1;
	if (len && orr(d, o, d->off->bytes_sval, data, (size_t)len))
		return 1;
	*h = fnv(fnv_u64(fnv_u64(*h, TAG_BYTES), (uint64_t)len), data, (size_t)len);
	return 0;
}

/* PyTupleObject.ob_item: after PyObject_VAR_HEAD (24), 3.14+ after a cached ob_hash too */
static int tuple_items(const struct py_offsets *o)
{
	unsigned minor = (o->version_hex >> 16) & 0xff;

	if ((o->version_hex >> 24) != 3 || minor < 8 || minor > 15)
		return -1; /* a layout not known here */
	return minor >= 14 ? 32 : 24;
}

static int dec_tuple(const struct dec *d, const struct head *ob, int level, uint64_t *h)
{
	uint64_t items[ARGV_MAX_TUPLE];
	int at = tuple_items(d->off);
	int64_t n;

	if (level > 0 || at < 0 || orr(d, ob, 16, &n, sizeof(n)) || n < 0 || n > ARGV_MAX_TUPLE)
		return 1;
	if (n && orr(d, ob, (uint64_t)at, items, (size_t)n * 8))
		return 1;
	*h = fnv_u64(fnv_u64(*h, TAG_TUPLE), (uint64_t)n);
	for (int64_t i = 0; i < n; i++)
		if (value(d, items[i], level + 1, h))
			return 1;
	return 0;
}

static int value(const struct dec *d, uint64_t obj, int level, uint64_t *h)
{
	struct head o = { .obj = obj };
	uint64_t type;

	if (!obj)
		return 1;
	if (obj == d->t->none || obj == d->t->yes || obj == d->t->no) {
		*h = fnv_u64(*h, obj == d->t->none ? TAG_NONE : obj == d->t->yes ? TAG_TRUE : TAG_FALSE);
		return 0;
	}
	if (d->off->ob_type == PY_OFF_NONE || d->off->ob_type > HEAD_BYTES - 8)
		return 1;
	/* the head at once; near the end of a mapping, its first 16 bytes */
	o.len = HEAD_BYTES;
	if (rd(d, obj, o.b, o.len)) {
		o.len = 16;
		if (rd(d, obj, o.b, o.len))
			return 1;
	}
	if (orr(d, &o, d->off->ob_type, &type, sizeof(type)))
		return 1;
	if (type == d->t->t_long)
		return dec_int(d, &o, h);
	if (type == d->t->t_float)
		return dec_float(d, &o, h);
	if (type == d->t->t_str)
		return dec_str(d, &o, h);
	if (type == d->t->t_bytes)
		return dec_bytes(d, &o, h);
	if (type == d->t->t_tuple)
		return dec_tuple(d, &o, level, h);
	return 1; /* bool subclasses, user types, containers...: not decoded */
}

int argvals_hash(const struct py_offsets *off, const struct argv_types *t,
		 const struct ph_args *a, argv_read_fn rdfn, void *ctx, uint64_t *hash,
		 unsigned *nargs)
{
	struct dec d = { off, t, rdfn, ctx, off->frame_code_tag };
	unsigned n = a->argcount < PH_ARG_SLOTS ? a->argcount : PH_ARG_SLOTS;
	uint64_t h = FNV_SEED;

	/* the tag mask comes from our own table: at most the two low bits */
	if (d.tag_mask > 3)
		return 1;
	if (!n)
		return 1; /* no arguments: nothing to repeat */
	h = fnv_u64(h, n);
	for (unsigned i = 0; i < n; i++)
		if (value(&d, a->slot[i] & ~d.tag_mask, 0, &h))
			return 1;
	*hash = h;
	*nargs = n;
	return 0;
}

int argvals_read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
	pid_t pid = (pid_t)(intptr_t)ctx;
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int argvals_types(const char *open_path, uint64_t load_bias, struct argv_types *t)
{
	static const char *const names[] = { "PyLong_Type", "PyFloat_Type", "PyUnicode_Type",
					     "PyBytes_Type", "PyTuple_Type", "_Py_NoneStruct",
					     "_Py_TrueStruct", "_Py_FalseStruct" };
	uint64_t *dst[] = { &t->t_long, &t->t_float, &t->t_str, &t->t_bytes, &t->t_tuple, &t->none,
			    &t->yes, &t->no };
	struct elf_file *ef = elf_open(open_path);
	struct elf_sym sym;
	int err = 0;

	if (!ef)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (elf_find_symbol(ef, names[i], &sym) || !sym.value) {
			err = -ENOENT;
			break;
		}
		*dst[i] = load_bias + sym.value;
	}
	elf_close(ef);
	return err;
}
