/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a thread's PyThreadState is, for the BPF walker: a pthread key (autoTSSkey, CPython
 * 3.8-3.14) read from glibc's thread-specific data, or a thread-local variable at a fixed
 * offset from fsbase (_Py_tss_gilstate, 3.15, local-exec TLS of a static executable). Both
 * are learnt by decoding (x86-64) exported accessors of the target's own binaries. */
#ifndef PYHOUND_TSTATE_LOCATE_H
#define PYHOUND_TSTATE_LOCATE_H

#include <stddef.h>
#include <stdint.h>
#include "host/discover.h"
#include "py_offsets.h"
#include "sampler.h"

/* PyGILState_GetThisThreadState of 3.14 passes &_PyRuntime.autoTSSkey to PyThread_tss_get (or
 * a helper): find that address, the first `mov edi, imm32` or `lea rdi, [rip + d]` after an
 * optional endbr64 / frame set-up / `cmp [rip + d], 0; je`. 0 with *addr, or -ENOEXEC. */
int py_decode_tss_key_addr(const uint8_t *code, size_t len, uint64_t pc, uint64_t *addr,
			   char *why, size_t whylen);

/* PyGILState_GetThisThreadState of 3.15 is `endbr64; mov rax, fs:[d]; ret` in a static
 * executable (local-exec TLS): *tpoff = d (negative). 0, or -ENOEXEC. */
int py_decode_tls_load(const uint8_t *code, size_t len, uint64_t pc, int64_t *tpoff, char *why,
		       size_t whylen);

/* Fill info's tstate source for process p (info->off already resolved): TSD layout from the
 * process's libc for 3.8-3.14, the TLS offset for 3.15+. 0, or -errno with why. */
int py_tstate_locate(const struct py_proc *p, struct py_proc_info *info, char *why,
		     size_t whylen);

#endif
