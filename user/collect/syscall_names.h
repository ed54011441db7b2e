/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PYHOUND_SYSCALL_NAMES_H
#define PYHOUND_SYSCALL_NAMES_H

#include <stddef.h>

/* Name of an x86_64 syscall number; unknown numbers are written as "syscall_N" into buf. */
const char *syscall_name(unsigned int nr, char *buf, size_t len);

#endif
