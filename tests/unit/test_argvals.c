// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* user/cpython/argvals.c on objects laid out by hand in this process's memory (the 3.10, 3.12
 * and 3.14 layouts) and read back through process_vm_readv on ourselves: equal values hash
 * equal wherever they live, different values differ, and anything not handled (a type, a size
 * past the bounds, a nested tuple, a NULL slot, an unmapped address) is "unknown" (1). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "cpython/argvals.h"
#include "cpython/offsets.h"

static uint8_t t_long[64], t_float[64], t_str[64], t_bytes[64], t_tuple[64], t_other[64];
static uint8_t none_o[32], yes_o[32], no_o[32];
static struct argv_types T;
static const struct py_offsets *O;
static struct py_offsets O14;

static uint64_t A(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void init(int minor)
{
	T = (struct argv_types){ A(t_long), A(t_float), A(t_str), A(t_bytes), A(t_tuple),
				 A(none_o), A(yes_o), A(no_o) };
	if (minor == 14) {
		/* 3.14: the 3.12 object layouts here, tagged slots, ob_hash in tuples */
		O14 = *py_offsets_for(3, 12);
		O14.version_hex = 0x030e0000;
		O14.frame_code_tag = 3;
		O = &O14;
	} else {
		O = py_offsets_for(3, minor);
	}
	cr_assert(O);
}

/* objects: 16-byte aligned buffers, filled per layout */
struct obj {
	_Alignas(16) uint8_t b[400];
};

static void set64(struct obj *o, size_t off, uint64_t v)
{
	memcpy(o->b + off, &v, 8);
}

static uint64_t mk_int(struct obj *o, int64_t v)
{
	uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;
	uint32_t d[4];
	int n = 0;

	memset(o, 0, sizeof(*o));
	set64(o, 8, A(t_long));
	while (m) {
		d[n++] = m & ((1u << 30) - 1);
		m >>= 30;
	}
	if (O->version_hex >= 0x030c0000)
		set64(o, 16, (uint64_t)n << 3 | (v < 0 ? 2 : v == 0 ? 1 : 0));
	else
		set64(o, 16, (uint64_t)(v < 0 ? -n : n));
	memcpy(o->b + 24, d, n * 4);
	return A(o);
}

static uint64_t mk_ascii(struct obj *o, const char *s)
{
	memset(o, 0, sizeof(*o));
	set64(o, 8, A(t_str));
	set64(o, O->unicode_length, strlen(s));
	o->b[O->unicode_state] = 0x20 | 0x40 | 1 << 2; /* compact, ascii, kind 1 */
	memcpy(o->b + O->unicode_ascii_data, s, strlen(s));
	return A(o);
}

static uint64_t mk_bytes(struct obj *o, const char *s, int64_t len)
{
	memset(o, 0, sizeof(*o));
	set64(o, 8, A(t_bytes));
	set64(o, O->var_size, (uint64_t)len);
	memcpy(o->b + O->bytes_sval, s, strlen(s));
	return A(o);
}

static uint64_t mk_float(struct obj *o, double v)
{
	memset(o, 0, sizeof(*o));
	set64(o, 8, A(t_float));
	memcpy(o->b + 16, &v, 8);
	return A(o);
}

static uint64_t mk_tuple(struct obj *o, int n, const uint64_t *items)
{
	int at = O->version_hex >= 0x030e0000 ? 32 : 24;

	memset(o, 0, sizeof(*o));
	set64(o, 8, A(t_tuple));
	set64(o, 16, (uint64_t)n);
	memcpy(o->b + at, items, n * 8);
	return A(o);
}

/* 0 and the hash, or 1 */
static int hash_of(uint32_t argc, uint64_t s0, uint64_t s1, uint64_t *h)
{
	struct ph_args a = { .slot = { s0, s1, 0xdead0000beef, 0 }, .argcount = argc };
	unsigned n = 0;
	int r = argvals_hash(O, &T, &a, argvals_read_pid, (void *)(intptr_t)getpid(), h, &n);

	if (!r)
		cr_assert_eq(n, argc < PH_ARG_SLOTS ? argc : PH_ARG_SLOTS);
	return r;
}

static void same_values_same_hash(int minor)
{
	static struct obj a, b, c, d, e, f, g, k;
	uint64_t h1, h2, h3;

	init(minor);
	/* the same (int, str) in other objects: equal; another value: different */
	cr_assert_eq(hash_of(2, mk_int(&a, 7), mk_ascii(&b, "eu"), &h1), 0);
	cr_assert_eq(hash_of(2, mk_int(&c, 7), mk_ascii(&d, "eu"), &h2), 0);
	cr_assert_eq(h1, h2);
	cr_assert_eq(hash_of(2, mk_int(&c, 7), mk_ascii(&d, "us"), &h3), 0);
	cr_assert_neq(h1, h3);
	cr_assert_eq(hash_of(2, mk_int(&c, -7), mk_ascii(&d, "eu"), &h3), 0);
	cr_assert_neq(h1, h3);
	cr_assert_eq(hash_of(2, mk_int(&c, 0), mk_ascii(&d, "eu"), &h3), 0);
	cr_assert_neq(h1, h3);
	/* multi-digit ints */
	cr_assert_eq(hash_of(1, mk_int(&a, 1ll << 40), 0, &h1), 0);
	cr_assert_eq(hash_of(1, mk_int(&c, (1ll << 40) + 1), 0, &h2), 0);
	cr_assert_neq(h1, h2);
	/* float, bytes, singletons */
	cr_assert_eq(hash_of(2, mk_float(&a, 2.5), mk_bytes(&b, "ab", 2), &h1), 0);
	cr_assert_eq(hash_of(2, mk_float(&c, 2.5), mk_bytes(&d, "ab", 2), &h2), 0);
	cr_assert_eq(h1, h2);
	cr_assert_eq(hash_of(2, mk_float(&c, 2.75), mk_bytes(&d, "ab", 2), &h2), 0);
	cr_assert_neq(h1, h2);
	cr_assert_eq(hash_of(2, A(none_o), A(yes_o), &h1), 0);
	cr_assert_eq(hash_of(2, A(none_o), A(no_o), &h2), 0);
	cr_assert_neq(h1, h2);
	/* tuples of simple values */
	{
		uint64_t it1[2] = { mk_int(&e, 3), mk_ascii(&f, "x") };
		uint64_t it2[2] = { mk_int(&g, 3), mk_ascii(&k, "x") };

		cr_assert_eq(hash_of(1, mk_tuple(&a, 2, it1), 0, &h1), 0);
		cr_assert_eq(hash_of(1, mk_tuple(&b, 2, it2), 0, &h2), 0);
		cr_assert_eq(h1, h2);
		/* a tuple inside a tuple: one level only */
		it2[0] = A(&a);
		cr_assert_eq(hash_of(1, mk_tuple(&c, 2, it2), 0, &h3), 1);
	}
	/* the first argcount slots only: slot 2 (garbage) is not read */
	cr_assert_eq(hash_of(1, mk_int(&a, 7), 0, &h1), 0);
}

Test(argvals, same_values_same_hash_3_10)
{
	same_values_same_hash(10);
}

Test(argvals, same_values_same_hash_3_12)
{
	same_values_same_hash(12);
}

Test(argvals, same_values_same_hash_3_14_tagged)
{
	static struct obj a, b;
	uint64_t h1, h2;

	same_values_same_hash(14);
	/* a tagged _PyStackRef slot is the same object */
	cr_assert_eq(hash_of(1, mk_int(&a, 9), 0, &h1), 0);
	cr_assert_eq(hash_of(1, mk_int(&b, 9) | 1, 0, &h2), 0);
	cr_assert_eq(h1, h2);
}

Test(argvals, anything_else_is_unknown)
{
	static struct obj a, b;
	uint64_t h;

	init(12);
	cr_assert_eq(hash_of(0, mk_int(&a, 1), 0, &h), 1, "no arguments");
	cr_assert_eq(hash_of(2, mk_int(&a, 1), 0, &h), 1, "a NULL slot");
	memset(&b, 0, sizeof(b));
	set64(&b, 8, A(t_other));
	cr_assert_eq(hash_of(1, A(&b), 0, &h), 1, "another type");
	cr_assert_eq(hash_of(1, 0x10, 0, &h), 1, "below the first page");
	cr_assert_eq(hash_of(1, 1ull << 47, 0, &h), 1, "not a user address");
	cr_assert_eq(hash_of(1, mk_bytes(&a, "x", ARGV_MAX_BYTES + 1), 0, &h), 1, "long bytes");
	cr_assert_eq(hash_of(1, mk_bytes(&a, "x", -1), 0, &h), 1, "negative size");
	mk_int(&a, 1);
	set64(&a, 16, (uint64_t)(ARGV_MAX_DIGITS + 1) << 3);
	cr_assert_eq(hash_of(1, A(&a), 0, &h), 1, "too many digits");
	mk_int(&a, 1);
	set64(&a, 24, 1u << 30);
	cr_assert_eq(hash_of(1, A(&a), 0, &h), 1, "not a 30-bit digit");
	mk_ascii(&a, "abc");
	a.b[O->unicode_state] = 1 << 2; /* not compact */
	cr_assert_eq(hash_of(1, A(&a), 0, &h), 1, "a legacy str");
	mk_ascii(&a, "abc");
	set64(&a, O->unicode_length, 1ull << 40);
	cr_assert_eq(hash_of(1, A(&a), 0, &h), 1, "a huge length");
	{
		uint64_t it[5] = { A(none_o), A(none_o), A(none_o), A(none_o), A(none_o) };

		cr_assert_eq(hash_of(1, mk_tuple(&a, 5, it), 0, &h), 1, "a long tuple");
	}
}

#include <sys/mman.h>

Test(argvals, an_object_at_the_end_of_a_mapping)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static struct obj a;
	uint64_t h1, h2;

	cr_assert(m != MAP_FAILED);
	cr_assert_eq(munmap(m + pg, pg), 0);
	init(12);
	/* an int of one digit, its 28 bytes ending 4 bytes before the unmapped page: the
	 * 64-byte head read fails, the fields are read one by one */
	mk_int(&a, 77);
	memcpy(m + pg - 32, a.b, 32);
	cr_assert_eq(hash_of(1, A(m + pg - 32), 0, &h1), 0);
	cr_assert_eq(hash_of(1, mk_int(&a, 77), 0, &h2), 0);
	cr_assert_eq(h1, h2);
	munmap(m, pg);
}
