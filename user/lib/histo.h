/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading log2 histograms (include/hist.h slots) and formatting durations and sizes. */
#ifndef PYHOUND_HISTO_H
#define PYHOUND_HISTO_H

#include <stddef.h>
#include <stdint.h>

/* Range of values slot k holds: [slot_lo(k), slot_hi(k)]. */
uint64_t slot_lo(unsigned int k);
uint64_t slot_hi(unsigned int k);
/* Slot holding the q-quantile (0 < q <= 1): the first slot whose cumulative count reaches
 * ceil(q * total). Returns -1 for an empty histogram. */
int hist_quantile_slot(const unsigned long long *slots, unsigned int n, double q);
uint64_t hist_total(const unsigned long long *slots, unsigned int n);

/* "850 ns", "12.3 µs", "4.56 ms", "1.23 s" */
char *fmt_ns(char *buf, size_t len, uint64_t ns);
/* "512 B", "1.5 KiB", "3.2 MiB", "1.1 GiB" */
char *fmt_bytes(char *buf, size_t len, uint64_t b);

#endif
