// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* SQL fingerprints: literals, placeholders, IN lists, comments, bad bytes, truncation. */
#include <criterion/criterion.h>
#include <string.h>
#include "model/sqlnorm.h"

static const char *norm(const char *sql)
{
	static char buf[512];

	sql_normalize(sql, strlen(sql), buf, sizeof(buf));
	return buf;
}

Test(sqlnorm, literals_and_placeholders)
{
	cr_expect_str_eq(norm("SELECT * FROM orders WHERE customer_id = 42"),
			 "SELECT * FROM orders WHERE customer_id = ?");
	cr_expect_str_eq(norm("select  a,\n\tb from t where x='it''s' and y = 1.5e-3"),
			 "select a, b from t where x=? and y = ?");
	cr_expect_str_eq(norm("SELECT total FROM orders WHERE customer_id = ?"),
			 "SELECT total FROM orders WHERE customer_id = ?");
	cr_expect_str_eq(norm("UPDATE t SET a = $1 WHERE id = $2"), "UPDATE t SET a = ? WHERE id = ?");
	cr_expect_str_eq(norm("SELECT :name, ?3, %s, %(id)s, x::int"), "SELECT ?, ?, ?, ?, x::int");
	cr_expect_str_eq(norm("SELECT t1.c2 FROM t1 WHERE t1.c3 = X'00ff'"),
			 "SELECT t1.c2 FROM t1 WHERE t1.c3 = ?");
	cr_expect_str_eq(norm("SELECT \"Weird 1\" FROM t -- comment 5\nWHERE a = /* 7 */ 3"),
			 "SELECT \"Weird 1\" FROM t WHERE a = ?");
}

Test(sqlnorm, in_lists_fold)
{
	cr_expect_str_eq(norm("SELECT * FROM t WHERE id IN (1, 2, 3)"),
			 "SELECT * FROM t WHERE id IN (...)");
	cr_expect_str_eq(norm("SELECT * FROM t WHERE id in (?,?,?,?)"),
			 "SELECT * FROM t WHERE id in (...)");
	cr_expect_str_eq(norm("SELECT * FROM t WHERE id IN ('a', -4)"),
			 "SELECT * FROM t WHERE id IN (...)");
	/* a subquery is not a list */
	cr_expect_str_eq(norm("SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE v = 1)"),
			 "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE v = ?)");
	cr_expect_str_eq(norm("SELECT * FROM t WHERE id IN (1, 2, 3)"),
			 norm("SELECT * FROM t WHERE id IN (7)"));
	/* a text cut inside a long list (the collector keeps 1023 bytes) */
	cr_expect_str_eq(norm("SELECT * FROM t WHERE id IN (1, 2, 3, 4"),
			 "SELECT * FROM t WHERE id IN (...)");
	cr_expect_str_eq(norm("SELECT * FROM t WHERE id IN (1, 2,"),
			 "SELECT * FROM t WHERE id IN (...)");
}

Test(sqlnorm, bad_bytes_and_truncation)
{
	char out[32];
	const char bad[] = "SELECT caf\xc3\xa9, x\xff FROM t";
	size_t n;

	cr_expect_str_eq(norm(bad), "SELECT caf\xc3\xa9, x\\xff FROM t");
	n = sql_normalize("SELECT a_very_long_column_name, another_long_one FROM t", 53, out,
			  sizeof(out));
	cr_expect_eq(n, strlen(out));
	cr_expect_lt(n, sizeof(out));
	cr_expect(n >= 3 && !strcmp(out + n - 3, "..."), "%s", out);
	/* a multi-byte character is never cut */
	n = sql_normalize("SELECT \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 31, out, 20);
	cr_expect(!strcmp(out + n - 3, "..."), "%s", out);
	cr_expect_neq((unsigned char)out[n - 4], 0xc3, "%s", out);
	/* unterminated string literal: the rest is the literal */
	cr_expect_str_eq(norm("SELECT 'abc"), "SELECT ?");
}

Test(sqlnorm, fingerprint_is_stable)
{
	char a[17], b[17];

	sql_fingerprint("SELECT ?", a);
	sql_fingerprint("SELECT ?", b);
	cr_expect_str_eq(a, b);
	cr_expect_eq(strlen(a), 16);
	sql_fingerprint("SELECT ? FROM t", b);
	cr_expect_str_neq(a, b);
}
