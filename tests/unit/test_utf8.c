// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names any local user chooses (a command named "py\xff", a function named with a lone
 * surrogate) come out as valid UTF-8 in every output format; promtool accepts the scrape. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/utf8.h"
#include "lib/protobuf.h"
#include "model/funcstats.h"
#include "model/report.h"
#include "out/metrics.h"
#include "out/out_collapsed.h"
#include "out/out_pprof.h"
#include "stack/profile.h"

#define LONE_SURROGATE "\xed\xa0\x80" /* U+D800 as CPython's surrogatepass would write it */

Test(utf8, sequences_valid_and_invalid)
{
	cr_expect(utf8_valid("plain na\xc3\xafve \xe2\x82\xac \xf0\x9f\x90\x8d"));
	cr_expect_not(utf8_valid("py\xff"));
	cr_expect_not(utf8_valid("f" LONE_SURROGATE));
	cr_expect_not(utf8_valid("\xed\xbf\xbf"));	   /* U+DFFF */
	cr_expect_not(utf8_valid("\xc0\xaf"));		   /* overlong '/' */
	cr_expect_not(utf8_valid("\xe0\x80\xaf"));	   /* overlong */
	cr_expect_not(utf8_valid("\xf4\x90\x80\x80"));	   /* past U+10FFFF */
	cr_expect_not(utf8_valid("\xe2\x82"));		   /* truncated */
	cr_expect_not(utf8_valid("\x80"));		   /* stray continuation */
	cr_expect(utf8_valid("\xed\x9f\xbf"));		   /* U+D7FF */
}

Test(utf8, sanitize_in_place_and_copy)
{
	char buf[16] = "py\xff";
	char small[6] = "ab\xff\xfe"; /* no room for two replacements: '?' once full */
	char *d;

	cr_expect_eq(utf8_sanitize(buf, sizeof(buf)), 1);
	cr_expect_str_eq(buf, "py" UTF8_REPLACEMENT);
	cr_expect_eq(utf8_sanitize(small, sizeof(small)), 2);
	cr_expect(utf8_valid(small), "%s", small);
	cr_expect_str_eq(small, "ab??");
	d = utf8_dup("f" LONE_SURROGATE "x");
	cr_assert_not_null(d);
	cr_expect_str_eq(d, "f" UTF8_REPLACEMENT UTF8_REPLACEMENT UTF8_REPLACEMENT "x");
	free(d);
}

/* a process named "py\xff" with a function named with a lone surrogate: /metrics is valid
 * UTF-8 and promtool accepts it */
Test(utf8, metrics_labels_pass_promtool)
{
	struct sc_snapshot snap = {};
	struct tracked_proc tp = {};
	struct metrics_health h = {};
	struct report rep = {};
	struct funcstats *fs = funcstats_new();
	char *buf = NULL, path[64], cmd[256];
	size_t len = 0;
	uint64_t s = 1000000000ULL;
	FILE *f;
	int rc;

	tp.info.pid = 100;
	tp.info.major = 3;
	tp.info.minor = 11;
	tp.info.micro = 2;
	snprintf(tp.info.comm, sizeof(tp.info.comm), "py\xff");
	snprintf(tp.unit, sizeof(tp.unit), "u\xfe.service");
	tp.seen_ns = s;
	cr_assert_not_null(fs);
	cr_assert_eq(report_build(&rep, &snap, &tp, 1, s, s + 10 * s), 0);
	funcstats_add(fs, 100, "f" LONE_SURROGATE, "/srv/\xff.py", false);
	f = open_memstream(&buf, &len);
	cr_assert_eq(metrics_write(f, &rep, &h, 15), 0);
	metrics_write_cpu(f, &rep, fs, 20, 19);
	fclose(f);
	cr_expect(utf8_valid(buf), "invalid UTF-8 in /metrics");
	cr_expect(strstr(buf, "comm=\"py" UTF8_REPLACEMENT "\""), "%s", buf);
	cr_expect(strstr(buf, "function=\"f" UTF8_REPLACEMENT UTF8_REPLACEMENT UTF8_REPLACEMENT
			      "\",file=\"/srv/" UTF8_REPLACEMENT ".py\""), "%s", buf);
	snprintf(path, sizeof(path), "/tmp/pyhound-unit-utf8-%d.txt", (int)getpid());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(buf, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s.promtool 2>&1", path, path);
	rc = system(cmd);
	cr_expect_eq(rc, 0, "promtool check metrics failed (see %s.promtool)", path);
	unlink(path);
	free(buf);
	report_free(&rep);
	funcstats_free(fs);
}

Test(utf8, collapsed_and_pprof_strings)
{
	struct prof_frame fr[] = { { "f" LONE_SURROGATE, "a\xff.py", 3, 1 } };
	struct profile *p = profile_new(1, 99);
	struct pb_buf b;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_not_null(p);
	cr_assert_eq(profile_add(p, 5, 6, "py\xff", "T", fr, 1, false, false, 2), 0);
	f = open_memstream(&buf, &len);
	cr_assert_eq(out_collapsed_write(p, f), 0);
	fclose(f);
	cr_expect(utf8_valid(buf), "%s", buf);
	cr_expect_str_eq(buf, "py\\xff;T;f\\xed\\xa0\\x80 (a\\xff.py:3) 2\n");
	free(buf);
	pb_init(&b);
	cr_assert_eq(out_pprof_encode(p, &b), 0);
	cr_expect_null(memmem(b.data, b.len, "a\xff.py", 6), "a raw 0xff byte in the pprof");
	cr_expect_null(memmem(b.data, b.len, LONE_SURROGATE, 3), "a lone surrogate in the pprof");
	cr_expect_not_null(memmem(b.data, b.len, "f" UTF8_REPLACEMENT, 4));
	pb_free(&b);
	profile_free(p);
}
