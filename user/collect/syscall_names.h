/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PYHOUND_SYSCALL_NAMES_H
#define PYHOUND_SYSCALL_NAMES_H

#include <stddef.h>

/* The uretprobe syscall (x86-64, Linux 6.11+): a return probe's trampoline makes it when the
 * probed function returns. A program cannot make it itself (outside a trampoline it gets
 * SIGILL), so every one is probe cost: pyhound's own return probes (GC), or another tracer's. */
#define SC_NR_URETPROBE 335

/* Name of an x86_64 syscall number; unknown numbers are written as "syscall_N" into buf. */
const char *syscall_name(unsigned int nr, char *buf, size_t len);

#endif
