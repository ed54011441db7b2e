// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <stdio.h>
#include "lib/histo.h"

uint64_t slot_lo(unsigned int k)
{
	return k == 0 ? 0 : 1ULL << (k - 1);
}

uint64_t slot_hi(unsigned int k)
{
	if (k == 0)
		return 0;
	if (k >= 64)
		return UINT64_MAX;
	return (1ULL << k) - 1;
}

uint64_t hist_total(const unsigned long long *slots, unsigned int n)
{
	uint64_t t = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		t += slots[i];
	return t;
}

int hist_quantile_slot(const unsigned long long *slots, unsigned int n, double q)
{
	uint64_t total = hist_total(slots, n), need, cum = 0;
	unsigned int i;

	if (!total || q <= 0)
		return -1;
	need = (uint64_t)ceil(q * (double)total);
	if (need < 1)
		need = 1;
	for (i = 0; i < n; i++) {
		cum += slots[i];
		if (cum >= need)
			return (int)i;
	}
	return (int)n - 1;
}

char *fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f µs", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

char *fmt_bytes(char *buf, size_t len, uint64_t b)
{
	if (b < 1024)
		snprintf(buf, len, "%llu B", (unsigned long long)b);
	else if (b < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", b / 1024.0);
	else if (b < 1024ULL * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", b / 1048576.0);
	else
		snprintf(buf, len, "%.1f GiB", b / 1073741824.0);
	return buf;
}
