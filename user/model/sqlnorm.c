// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "lib/hashidx.h"
#include "model/sqlnorm.h"

struct out {
	char *p;
	size_t len, cap; /* cap: usable bytes, the NUL not included */
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (o->len + n > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static bool ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		k = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		k = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* Length of a literal or parameter placeholder starting at s[i] (a token start), or 0. */
static size_t literal_len(const char *s, size_t i, size_t len)
{
	size_t j = i;
	char c = s[i];

	/* E'...', X'...', B'...', N'...' */
	if (strchr("eExXbBnN", c) && i + 1 < len && s[i + 1] == '\'')
		j++, c = '\'';
	if (c == '\'') {
		for (j++; j < len; j++) {
			if (s[j] == '\\' && j + 1 < len && (s[i] == 'e' || s[i] == 'E')) {
				j++;
				continue;
			}
			if (s[j] == '\'') {
				if (j + 1 < len && s[j + 1] == '\'') {
					j++;
					continue;
				}
				return j + 1 - i;
			}
		}
		return len - i; /* unterminated: the rest */
	}
	if (isdigit((unsigned char)c) || (c == '.' && i + 1 < len && isdigit((unsigned char)s[i + 1]))) {
		for (j = i; j < len; j++) {
			char d = s[j];

			if (isalnum((unsigned char)d) || d == '.' || d == '_')
				continue;
			if ((d == '+' || d == '-') && j > i && (s[j - 1] == 'e' || s[j - 1] == 'E') &&
			    !(s[i] == '0' && i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X')))
				continue;
			break;
		}
		return j - i;
	}
	if (c == '?' || c == '$') { /* ?, ?NNN, $N */
		for (j = i + 1; j < len && isdigit((unsigned char)s[j]); j++)
			;
		return c == '?' || j > i + 1 ? j - i : 0;
	}
	if ((c == ':' || c == '@') && i + 1 < len &&
	    (isalpha((unsigned char)s[i + 1]) || s[i + 1] == '_') && !(i > 0 && s[i - 1] == ':')) {
		for (j = i + 1; j < len && ident_char((unsigned char)s[j]); j++)
			;
		return j - i;
	}
	if (c == '%' && i + 1 < len && s[i + 1] == 's')
		return 2;
	if (c == '%' && i + 1 < len && s[i + 1] == '(') {
		const char *e = memchr(s + i, ')', len - i);

		if (e && e + 1 < s + len && e[1] == 's')
			return (size_t)(e + 2 - (s + i));
	}
	return 0;
}

static size_t skip_space(const char *s, size_t i, size_t len)
{
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	return i;
}

/* At '(' after IN: the end of a list made only of literals and placeholders, or 0. */
static size_t in_list_end(const char *s, size_t i, size_t len)
{
	size_t j = skip_space(s, i + 1, len), n;

	for (;;) {
		n = j < len ? literal_len(s, j, len) : 0;
		if (!n && j < len && s[j] == '-' && j + 1 < len)
			n = literal_len(s, j + 1, len) ? 1 + literal_len(s, j + 1, len) : 0;
		if (!n)
			return 0;
		j = skip_space(s, j + n, len);
		if (j >= len)
			return len; /* the text was cut inside the list: fold what is there */
		if (s[j] == ')')
			return j + 1;
		if (s[j] != ',')
			return 0;
		j = skip_space(s, j + 1, len);
		if (j >= len)
			return len;
	}
}

size_t sql_normalize(const char *sql, size_t len, char *buf, size_t buflen)
{
	struct out o = { .p = buf, .cap = buflen > 4 ? buflen - 4 : 0 };
	bool space = false, prev_in = false;
	size_t i = 0, n;

	if (buflen < 8) {
		if (buflen)
			buf[0] = 0;
		return 0;
	}
	while (i < len && !o.full) {
		unsigned char c = sql[i];
		bool was_in;

		if (!c)
			break;
		if (isspace(c) || c < 0x20) {
			space = o.len > 0;
			i++;
			continue;
		}
		if (c == '-' && i + 1 < len && sql[i + 1] == '-') { /* -- comment */
			while (i < len && sql[i] != '\n')
				i++;
			space = o.len > 0;
			continue;
		}
		if (c == '/' && i + 1 < len && sql[i + 1] == '*') {
			const char *e = i + 2 < len ? memmem(sql + i + 2, len - i - 2, "*/", 2) : NULL;

			i = e ? (size_t)(e - sql) + 2 : len;
			space = o.len > 0;
			continue;
		}
		if (space)
			put(&o, " ", 1);
		space = false;
		was_in = prev_in;
		prev_in = false;
		if (c == '(' && was_in && (n = in_list_end(sql, i, len))) {
			put(&o, "(...)", 5);
			i = n;
			continue;
		}
		if (!(i > 0 && ident_char((unsigned char)sql[i - 1])) &&
		    (n = literal_len(sql, i, len))) {
			put(&o, "?", 1);
			i += n;
			continue;
		}
		if (c == '"' || c == '`') { /* quoted identifier: kept */
			const char *e = memchr(sql + i + 1, c, len - i - 1);

			n = e ? (size_t)(e - (sql + i)) + 1 : len - i;
			for (size_t k = 0; k < n && !o.full; k++) {
				unsigned char d = sql[i + k];

				if (d < 0x20 || d >= 0x80) {
					char esc[8];

					snprintf(esc, sizeof(esc), "\\x%02x", d);
					put(&o, esc, 4);
				} else
					put(&o, (const char *)&d, 1);
			}
			i += n;
			continue;
		}
		if (ident_char(c)) {
			size_t j = i;

			while (j < len && ident_char((unsigned char)sql[j])) {
				size_t k = (unsigned char)sql[j] < 0x80 ?
						   1 : utf8_len((const unsigned char *)sql + j, len - j);

				if (!k) {
					char esc[8];

					snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)sql[j]);
					put(&o, esc, 4);
					j++;
					continue;
				}
				put(&o, sql + j, k);
				j += k;
			}
			prev_in = j - i == 2 && !strncasecmp(sql + i, "in", 2);
			i = j;
			continue;
		}
		put(&o, (const char *)&c, 1);
		i++;
	}
	if (o.full || (i < len && sql[i])) {
		/* cut at a character boundary */
		while (o.len > 0 && ((unsigned char)o.p[o.len - 1] & 0xc0) == 0x80)
			o.len--;
		if (o.len > 0 && (unsigned char)o.p[o.len - 1] >= 0xc0)
			o.len--;
		o.cap += 3;
		o.full = false;
		put(&o, "...", 3);
	}
	o.p[o.len] = 0;
	return o.len;
}

void sql_fingerprint(const char *norm, char out[17])
{
	uint32_t a = hash_str(HASH_SEED, norm), b = hash_str(0x9e3779b9u, norm);

	snprintf(out, 17, "%08x%08x", a, b);
}
