// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/protobuf.h"

void pb_init(struct pb_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void pb_free(struct pb_buf *b)
{
	free(b->data);
	pb_init(b);
}

void pb_reset(struct pb_buf *b)
{
	b->len = 0;
}

static int reserve(struct pb_buf *b, size_t more)
{
	size_t ncap;
	uint8_t *nd;

	if (b->err)
		return b->err;
	if (more <= b->cap - b->len)
		return 0;
	if (more > SIZE_MAX / 2 - b->len) {
		b->err = -ENOMEM;
		return b->err;
	}
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len < more)
		ncap *= 2;
	nd = realloc(b->data, ncap);
	if (!nd) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->data = nd;
	b->cap = ncap;
	return 0;
}

int pb_put_raw(struct pb_buf *b, const void *data, size_t len)
{
	if (reserve(b, len))
		return b->err;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int pb_put_varint(struct pb_buf *b, uint64_t v)
{
	if (reserve(b, 10))
		return b->err;
	while (v >= 0x80) {
		b->data[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (uint8_t)v;
	return 0;
}

int pb_put_tag(struct pb_buf *b, uint32_t field, enum pb_wire wire)
{
	return pb_put_varint(b, (uint64_t)field << 3 | wire);
}

int pb_put_uint64(struct pb_buf *b, uint32_t field, uint64_t v)
{
	pb_put_tag(b, field, PB_VARINT);
	return pb_put_varint(b, v);
}

int pb_put_int64(struct pb_buf *b, uint32_t field, int64_t v)
{
	return pb_put_uint64(b, field, (uint64_t)v);
}

int pb_put_bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len)
{
	pb_put_tag(b, field, PB_LEN);
	pb_put_varint(b, len);
	return pb_put_raw(b, data, len);
}

int pb_put_string(struct pb_buf *b, uint32_t field, const char *s)
{
	return pb_put_bytes(b, field, s, strlen(s));
}

int pb_put_message(struct pb_buf *b, uint32_t field, const struct pb_buf *msg)
{
	if (msg->err && !b->err)
		b->err = msg->err;
	return pb_put_bytes(b, field, msg->data, msg->len);
}

int pb_put_packed_uint64(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
	size_t i, len = 0;

	if (!n)
		return b->err;
	for (i = 0; i < n; i++)
		len += varint_len(v[i]);
	pb_put_tag(b, field, PB_LEN);
	pb_put_varint(b, len);
	for (i = 0; i < n; i++)
		pb_put_varint(b, v[i]);
	return b->err;
}

int pb_put_packed_int64(struct pb_buf *b, uint32_t field, const int64_t *v, size_t n)
{
	size_t i, len = 0;

	if (!n)
		return b->err;
	for (i = 0; i < n; i++)
		len += varint_len((uint64_t)v[i]);
	pb_put_tag(b, field, PB_LEN);
	pb_put_varint(b, len);
	for (i = 0; i < n; i++)
		pb_put_varint(b, (uint64_t)v[i]);
	return b->err;
}
