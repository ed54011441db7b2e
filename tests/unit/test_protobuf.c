// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <criterion/criterion.h>
#include "lib/protobuf.h"

static void expect(const struct pb_buf *b, const unsigned char *want, size_t n)
{
	size_t i;

	cr_assert_eq(b->err, 0);
	cr_assert_eq(b->len, n, "length %zu, want %zu", b->len, n);
	for (i = 0; i < n; i++)
		cr_assert_eq(b->data[i], want[i], "byte %zu: %02x, want %02x", i, b->data[i],
			     want[i]);
}

#define EXPECT(b, ...)                                                        \
	do {                                                                  \
		static const unsigned char want_[] = { __VA_ARGS__ };         \
		expect(b, want_, sizeof(want_));                              \
	} while (0)

Test(protobuf, varints)
{
	struct pb_buf b;

	pb_init(&b);
	pb_put_varint(&b, 0);
	pb_put_varint(&b, 1);
	pb_put_varint(&b, 127);
	pb_put_varint(&b, 128);
	pb_put_varint(&b, 300);
	pb_put_varint(&b, UINT64_MAX);
	EXPECT(&b, 0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	       0xff, 0xff, 0xff, 0x01);
	pb_free(&b);
}

/* the examples of https://protobuf.dev/programming-guides/encoding/ */
Test(protobuf, fields_as_in_the_encoding_guide)
{
	static const uint64_t packed[] = { 3, 270, 86942 };
	struct pb_buf b, sub;

	pb_init(&b);
	pb_init(&sub);
	pb_put_uint64(&b, 1, 150);
	EXPECT(&b, 0x08, 0x96, 0x01);

	pb_reset(&b);
	pb_put_string(&b, 2, "testing");
	EXPECT(&b, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g');

	pb_reset(&b);
	pb_put_uint64(&sub, 1, 150);
	pb_put_message(&b, 3, &sub);
	EXPECT(&b, 0x1a, 0x03, 0x08, 0x96, 0x01);

	pb_reset(&b);
	pb_put_packed_uint64(&b, 4, packed, 3);
	EXPECT(&b, 0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05);

	pb_reset(&b);
	pb_put_int64(&b, 1, -2);
	EXPECT(&b, 0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	pb_free(&b);
	pb_free(&sub);
}

Test(protobuf, tags_empty_values_and_packed_int64)
{
	static const int64_t vals[] = { 1, -1 };
	struct pb_buf b;

	pb_init(&b);
	pb_put_uint64(&b, 16, 0); /* field 16: a two-byte tag */
	pb_put_string(&b, 6, "");
	pb_put_packed_int64(&b, 2, vals, 0); /* nothing */
	pb_put_packed_int64(&b, 2, vals, 2);
	EXPECT(&b, 0x80, 0x01, 0x00, 0x32, 0x00, 0x12, 0x0b, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
	       0xff, 0xff, 0xff, 0xff, 0x01);
	pb_free(&b);
}

Test(protobuf, long_payload_gets_a_multibyte_length)
{
	char s[201];
	struct pb_buf b;

	memset(s, 'x', 200);
	s[200] = 0;
	pb_init(&b);
	pb_put_string(&b, 1, s);
	cr_assert_eq(b.err, 0);
	cr_assert_eq(b.len, 203);
	cr_assert_eq(b.data[0], 0x0a);
	cr_assert_eq(b.data[1], 0xc8);
	cr_assert_eq(b.data[2], 0x01);
	cr_assert_eq(b.data[202], 'x');
	pb_free(&b);
}
