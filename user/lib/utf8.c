// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "lib/utf8.h"

int utf8_seq_len(const unsigned char *s)
{
	int n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, UTF-16 surrogates, past U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = utf8_seq_len(p);

		if (!n)
			return false;
		p += n;
	}
	return true;
}

void utf8_fputs(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	while (*p) {
		int n = utf8_seq_len(p);

		if (n) {
			p += n;
			continue;
		}
		fwrite(run, 1, p - run, f);
		fputs(UTF8_REPLACEMENT, f);
		run = ++p;
	}
	fwrite(run, 1, p - run, f);
}

size_t utf8_sanitize(char *buf, size_t size)
{
	size_t len, i = 0, fixed = 0;

	if (!size)
		return 0;
	buf[size - 1] = '\0';
	len = strlen(buf);
	while (i < len) {
		int n = utf8_seq_len((unsigned char *)buf + i);

		if (n) {
			i += n;
			continue;
		}
		fixed++;
		if (len + 2 < size) { /* one byte becomes three */
			memmove(buf + i + 3, buf + i + 1, len - i); /* with the NUL */
			memcpy(buf + i, UTF8_REPLACEMENT, 3);
			len += 2;
			i += 3;
		} else {
			buf[i++] = '?';
		}
	}
	return fixed;
}

char *utf8_dup(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t bad = 0, len = strlen(s);
	char *d;

	for (; *p; p++)
		if (!utf8_seq_len(p))
			bad++;
		else
			p += utf8_seq_len(p) - 1;
	d = malloc(len + 2 * bad + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len + 1);
	utf8_sanitize(d, len + 2 * bad + 1);
	return d;
}
