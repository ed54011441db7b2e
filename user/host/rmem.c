// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "host/rmem.h"

#define PAGE 4096ull
#define USER_TOP 0x800000000000ull /* x86_64 user address space ends below 2^47 */

struct rmem {
	pid_t pid;
	unsigned npages;
	uint64_t *tags; /* page address + 1 cached in each slot; 0 = empty */
	uint8_t *data;
	struct rmem_stats st;
};

struct rmem *rmem_open(pid_t pid, unsigned npages)
{
	struct rmem *m;

	if (!npages || npages > (1u << 16) || (npages & (npages - 1)))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->pid = pid;
	m->npages = npages;
	m->tags = calloc(npages, sizeof(*m->tags));
	m->data = malloc((size_t)npages * PAGE);
	if (!m->tags || !m->data) {
		rmem_close(m);
		return NULL;
	}
	return m;
}

void rmem_close(struct rmem *m)
{
	if (!m)
		return;
	free(m->tags);
	free(m->data);
	free(m);
}

void rmem_flush(struct rmem *m)
{
	memset(m->tags, 0, (size_t)m->npages * sizeof(*m->tags));
}

static int fetch(struct rmem *m, uint64_t page, unsigned slot)
{
	struct iovec l = { m->data + (size_t)slot * PAGE, PAGE };
	struct iovec r = { (void *)(uintptr_t)page, PAGE };
	ssize_t n;

	m->st.page_fetches++;
	n = process_vm_readv(m->pid, &l, 1, &r, 1, 0);
	if (n == (ssize_t)PAGE) {
		m->tags[slot] = page + 1;
		return 0;
	}
	m->st.failures++;
	m->tags[slot] = 0;
	if (n < 0 && errno == ESRCH)
		return -ESRCH;
	return -EFAULT;
}

int rmem_read(struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;

	m->st.reads++;
	if (addr >= USER_TOP || len > USER_TOP - addr)
		return -EFAULT;
	while (len) {
		uint64_t page = addr & ~(PAGE - 1), off = addr - page;
		unsigned slot = (unsigned)((page / PAGE) & (m->npages - 1));
		size_t n = len < PAGE - off ? len : (size_t)(PAGE - off);
		int err;

		if (m->tags[slot] != page + 1) {
			err = fetch(m, page, slot);
			if (err)
				return err;
		}
		memcpy(out, m->data + (size_t)slot * PAGE + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

void rmem_stats(const struct rmem *m, struct rmem_stats *out)
{
	*out = m->st;
}
