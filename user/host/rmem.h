/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading another process's memory without stopping it (process_vm_readv), through a small
 * direct-mapped cache of 4 KiB pages: one walk of a heap reads each page once instead of once
 * per object. The cache is dropped with rmem_flush(); a page is never older than the last flush.
 * Nothing is ever written to the target. */
#ifndef PYHOUND_RMEM_H
#define PYHOUND_RMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rmem;

/* A reader for pid caching up to npages pages (a power of two, at most 1<<16). NULL on -ENOMEM. */
struct rmem *rmem_open(pid_t pid, unsigned npages);
void rmem_close(struct rmem *m);
void rmem_flush(struct rmem *m);

/* Copy len bytes at addr: 0, -ESRCH when the process is gone, -EFAULT when the range is not
 * mapped (or is beyond the user address space). */
int rmem_read(struct rmem *m, uint64_t addr, void *buf, size_t len);

/* Reads made, pages fetched, fetches failed (for -v and --json). */
struct rmem_stats {
	uint64_t reads, page_fetches, failures;
};
void rmem_stats(const struct rmem *m, struct rmem_stats *out);

#endif
