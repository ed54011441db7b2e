/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* log2 histogram slots, shared by BPF programs and userspace. Slot 0 holds the value 0; slot k
 * (k >= 1) holds [2^(k-1), 2^k - 1]; the last slot also holds everything larger. */
#ifndef PYHOUND_HIST_H
#define PYHOUND_HIST_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline unsigned int ph_log2_slot(unsigned long long v, unsigned int nslots)
{
	unsigned int k = 0;

	/* unrolled binary search: the verifier sees a fixed number of steps */
	if (v >> 32) { k += 32; v >>= 32; }
	if (v >> 16) { k += 16; v >>= 16; }
	if (v >> 8) { k += 8; v >>= 8; }
	if (v >> 4) { k += 4; v >>= 4; }
	if (v >> 2) { k += 2; v >>= 2; }
	if (v >> 1) { k += 1; v >>= 1; }
	k += (unsigned int)v; /* v is 0 or 1 here: floor(log2)+1, or 0 for 0 */
	return k < nslots ? k : nslots - 1;
}

#endif
