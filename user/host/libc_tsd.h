/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where glibc keeps a thread's pthread_getspecific() values, learnt from the target's own
 * libc: its pthread_getspecific() is decoded (x86-64) rather than glibc's layout assumed. */
#ifndef PYHOUND_LIBC_TSD_H
#define PYHOUND_LIBC_TSD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The value of key k (k < keys) is the 8 bytes at fsbase + base + k * stride. */
struct libc_tsd {
	uint32_t base, stride, keys;
};

/* Decode pthread_getspecific's fast path from its bytes code[0..len) at link-time address pc:
 * `cmp edi, K-1; ja; mov eax, edi; add rax, A; shl rax, S; add rax, fs:[0x10];
 * mov rdx, [rax + D]` (glibc 2.3x-2.4x): keys K, stride 1 << S, base A * stride + D (fs:[0x10]
 * is the thread descriptor's self pointer, equal to fsbase). 0, or -ENOEXEC with why. */
int libc_tsd_decode(const uint8_t *code, size_t len, uint64_t pc, struct libc_tsd *out,
		    char *why, size_t whylen);

/* The layout for process pid, from the libc it has mapped (opened through /proc/PID/root or
 * map_files, so containers work); cached per libc file. 0, or -errno with why. */
int libc_tsd_for_pid(pid_t pid, struct libc_tsd *out, char *why, size_t whylen);

#endif
