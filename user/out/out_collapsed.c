// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "out/out_collapsed.h"
#include "lib/utf8.h"

static void put_escaped(FILE *f, const char *s)
{
	const unsigned char *c;

	for (c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '\\': fputs("\\\\", f); break;
		case ';': fputs("\\x3b", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			/* control characters and bytes that are not UTF-8 (lone surrogates too) */
			if (*c < 0x20 || *c == 0x7f || !utf8_seq_len(c)) {
				fprintf(f, "\\x%02x", *c);
			} else {
				int n = utf8_seq_len(c);

				fwrite(c, 1, n, f);
				c += n - 1;
			}
		}
	}
}

void out_collapsed_frame(FILE *f, const struct prof_frame *fr)
{
	int line = prof_frame_line(fr);

	put_escaped(f, fr->name);
	if (!fr->file[0])
		return;
	fputs(" (", f);
	put_escaped(f, fr->file);
	if (line)
		fprintf(f, ":%d", line);
	fputc(')', f);
}

int out_collapsed_write(const struct profile *p, FILE *f)
{
	const struct prof_stack **v;
	ssize_t n, i;

	if (!p || !f)
		return -EINVAL;
	n = profile_sorted_stacks(p, 0, &v);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		const struct prof_stack *s = v[i];
		uint32_t j;

		put_escaped(f, s->process);
		fputc(';', f);
		put_escaped(f, s->thread);
		if (s->truncated)
			fputs(";" PROF_TRUNCATED_NAME, f);
		for (j = 0; j < s->nframes; j++) {
			fputc(';', f);
			out_collapsed_frame(f, &s->frames[j]);
		}
		if (s->in_syscall)
			fputs(";" PROF_SYSCALL_NAME, f);
		fprintf(f, " %" PRIu64 "\n", s->count);
	}
	free(v);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
