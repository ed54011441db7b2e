/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PYHOUND_LIB_RINGBUF_H
#define PYHOUND_LIB_RINGBUF_H

/* A BPF ring buffer's size for kb KiB asked: capped at 1 GiB, rounded up to a power of two of
 * at least a page (what BPF_MAP_TYPE_RINGBUF accepts). */
unsigned int ringbuf_bytes(unsigned int kb);

#endif
