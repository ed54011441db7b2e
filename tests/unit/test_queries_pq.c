// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* PGresult's ntups offset is read from the code of libpq's own PQntuples ("return res ?
 * res->ntups : 0"): Debian 12's bytes, with endbr64, a displacement, and code that is anything
 * else (then rows are not read, never guessed). */
#include <criterion/criterion.h>
#include <stdint.h>
#include "collect/queries_user.h"

Test(queries_pq, ntuples_offset_from_its_code)
{
	/* Debian 12 libpq.so.5.15: test %rdi,%rdi; je +0xb; mov (%rdi),%eax; ret; ...; xor; ret */
	static const uint8_t deb[] = { 0x48, 0x85, 0xff, 0x74, 0x0b, 0x8b, 0x07, 0xc3, 0x0f,
				       0x1f, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x31, 0xc0, 0xc3 };
	static const uint8_t cet[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0x74, 0x04,
				       0x8b, 0x47, 0x08, 0xc3, 0x31, 0xc0, 0xc3 };
	static const uint8_t other[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x85, 0xff, 0x74, 0x0b,
					 0x8b, 0x07, 0xc3 };
	static const uint8_t wide[] = { 0x48, 0x85, 0xff, 0x74, 0x0b, 0x8b, 0x87, 0x00, 0x01,
					0x00, 0x00, 0xc3 };

	cr_expect_eq(queries_pq_ntuples_offset(deb, sizeof(deb)), 0);
	cr_expect_eq(queries_pq_ntuples_offset(cet, sizeof(cet)), 8);
	cr_expect_eq(queries_pq_ntuples_offset(other, sizeof(other)), -1);
	cr_expect_eq(queries_pq_ntuples_offset(wide, sizeof(wide)), -1);
	cr_expect_eq(queries_pq_ntuples_offset(deb, 6), -1, "short code");
}

/* PQsendQuery (Debian 12: mov $1,%edx; jmp PQsendQueryInternal): its probe goes on the jmp */
Test(queries_pq, wrapper_probe_on_the_jmp)
{
	static const uint8_t deb[] = { 0xba, 0x01, 0x00, 0x00, 0x00, 0xe9, 0xa6, 0xeb, 0xff, 0xff };
	static const uint8_t push[] = { 0x55, 0x48, 0x89, 0xe5, 0x41, 0x57, 0x41, 0x56, 0x41, 0x55 };
	static const uint8_t movcall[] = { 0xba, 0x01, 0x00, 0x00, 0x00, 0xe8, 0xa6, 0xeb, 0xff,
					   0xff };

	cr_expect_eq(queries_wrapper_skip(deb, sizeof(deb)), 5);
	cr_expect_eq(queries_wrapper_skip(push, sizeof(push)), 0);
	cr_expect_eq(queries_wrapper_skip(movcall, sizeof(movcall)), 0, "not a tail jump");
	cr_expect_eq(queries_wrapper_skip(deb, 6), 0, "short code");
}

/* Debian 12's libpq PQresultStatus: "test %rdi,%rdi; je; mov 0x28(%rdi),%eax; ret" (the NULL
 * path returns PGRES_FATAL_ERROR): resultStatus at 0x28, read at each result for errors. */
Test(queries_pq, result_status_offset_from_its_code)
{
	static const uint8_t code[] = { 0x48, 0x85, 0xff, 0x74, 0x0b, 0x8b, 0x47, 0x28, 0xc3,
					0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 };

	cr_expect_eq(queries_pq_ntuples_offset(code, sizeof(code)), 0x28);
}
