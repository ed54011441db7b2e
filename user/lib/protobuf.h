/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A tiny protocol buffers encoder (varint and length-delimited wire types only) into a growable
 * buffer. Errors are sticky: after a failed allocation every call is a no-op and returns the
 * same -ENOMEM, so a message can be built without checking each field. */
#ifndef PYHOUND_PROTOBUF_H
#define PYHOUND_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

enum pb_wire {
	PB_VARINT = 0,
	PB_LEN = 2,
};

struct pb_buf {
	uint8_t *data;
	size_t len, cap;
	int err; /* 0 or -ENOMEM */
};

void pb_init(struct pb_buf *b);
void pb_free(struct pb_buf *b);
/* Empty the buffer (keeping its memory and any error) */
void pb_reset(struct pb_buf *b);

int pb_put_raw(struct pb_buf *b, const void *data, size_t len);
int pb_put_varint(struct pb_buf *b, uint64_t v);
int pb_put_tag(struct pb_buf *b, uint32_t field, enum pb_wire wire);
/* varint fields; int64 negatives take 10 bytes, as protobuf's int64 does */
int pb_put_uint64(struct pb_buf *b, uint32_t field, uint64_t v);
int pb_put_int64(struct pb_buf *b, uint32_t field, int64_t v);
/* length-delimited fields */
int pb_put_bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len);
int pb_put_string(struct pb_buf *b, uint32_t field, const char *s);
/* msg as a nested message; an error in msg becomes b's */
int pb_put_message(struct pb_buf *b, uint32_t field, const struct pb_buf *msg);
/* packed repeated varints (nothing written when n is 0) */
int pb_put_packed_uint64(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n);
int pb_put_packed_int64(struct pb_buf *b, uint32_t field, const int64_t *v, size_t n);

#endif
