// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/ringbuf.h"

unsigned int ringbuf_bytes(unsigned int kb)
{
	unsigned int bytes = 4096;

	if (kb > (1u << 20))
		kb = 1u << 20;
	while (bytes < kb * 1024u)
		bytes <<= 1;
	return bytes;
}
