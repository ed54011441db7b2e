// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve's configuration file: each bad setting is one clear error at start (non-finite or
 * out-of-range numbers in any spelling, a hash crypt(3) cannot check, a directory), and long
 * comments are comments. */
#include <criterion/criterion.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "serve/config.h"

/* a file of this test process's own (tests run in parallel, here and in other checkouts) */
static int load(const char *text, struct serve_config *c, char *err, size_t errlen)
{
	char path[64];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/tmp/pyhound-unit-config-%d.conf", (int)getpid());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	config_defaults(c);
	err[0] = '\0';
	rc = config_load(path, c, err, errlen);
	unlink(path);
	return rc;
}

static void refused(const char *text, const char *why)
{
	struct serve_config c;
	char err[512], *line;

	cr_assert_gt(asprintf(&line, "%s\n", text), 0);
	cr_expect_eq(load(line, &c, err, sizeof(err)), -EINVAL, "accepted: %s", text);
	cr_expect(strstr(err, why), "'%s': message '%s' lacks '%s'", text, err, why);
	free(line);
}

Test(config, numbers_finite_in_range_decimal_only)
{
	static const char *const bad[] = {
		"cache_seconds = nan", "cache_seconds = inf", "cache_seconds = -1",
		"cache_seconds = 0x10", "cache_seconds = 1e1", "cache_seconds = +1",
		"cache_seconds = 61", "cache_seconds = ", "calls_budget = nan",
		"calls_budget = 0x1p3", "calls_budget = -0", "frequency = 0x10",
		"frequency = +19", "frequency = -1", "frequency = 0", "frequency = 1001",
		"frequency = 18446744073709551617", "max_procs = 1 2", "process_max_age = 1.5",
		"top_calls = 0", "listen = 127.0.0.1:+80", "listen = 127.0.0.1: 80",
		"bpf_run_stats = 1", "bpf_run_stats = ",
	};
	struct serve_config c;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!strncmp(bad[i], "listen", 6)) { /* checked when serve starts */
			struct sockaddr_storage ss;
			unsigned int len;
			bool lo;

			cr_expect_eq(config_parse_listen(strchr(bad[i], '=') + 2, &ss, &len, &lo),
				     -EINVAL, "%s", bad[i]);
			continue;
		}
		refused(bad[i], "bad value for");
	}
	cr_assert_eq(load("cache_seconds = 0.5\nfrequency = 99\ncalls_budget = 0.25\n"
			  "process_max_age = 10\n", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.cache_seconds, 0.5);
	cr_expect_eq(c.frequency, 99);
	cr_expect_eq(c.calls_budget, 0.25);
	cr_expect_eq(c.process_max_age, 10);
	cr_expect_not(c.bpf_run_stats, "the kernel's statistics are off by default");
	cr_assert_eq(load("bpf_run_stats = yes\n", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect(c.bpf_run_stats);
}

Test(config, hash_checked_at_load)
{
	struct serve_config c;
	char err[512], text[512];
	struct crypt_data cd = {};
	const char *h = crypt_r("s3cret", "$2b$04$abcdefghijklmnopqrstuu", &cd);

	cr_assert(h && h[0] == '$');
	refused("basic_auth_user = prom\nbasic_auth_hash = notahash", "basic_auth_hash");
	refused("basic_auth_user = prom\nbasic_auth_hash = $2b$12$short", "basic_auth_hash");
	refused("basic_auth_user = prom\nbasic_auth_hash = $9$nosuchmethod", "basic_auth_hash");
	snprintf(text, sizeof(text), "basic_auth_user = prom\nbasic_auth_hash = %s\n", h);
	cr_expect_eq(load(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect(config_hash_ok(h));
}

Test(config, directory_refused)
{
	struct serve_config c;
	char err[512];

	config_defaults(&c);
	cr_expect_eq(config_load("/tmp", &c, err, sizeof(err)), -EISDIR);
	cr_expect(strstr(err, "is a directory"), "%s", err);
}

Test(config, long_comment_is_one_comment)
{
	struct serve_config c;
	char err[512], *text, *p;

	/* a 3000-byte comment whose tail would read as a key if the line were split */
	text = calloc(1, 8192);
	cr_assert_not_null(text);
	p = text + sprintf(text, "# ");
	memset(p, 'x', 3000);
	p += 3000;
	p += sprintf(p, " frequency = 7\ntop_calls = 5\n");
	cr_expect_eq(load(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.frequency, 19, "the comment's tail was parsed");
	cr_expect_eq(c.top_calls, 5);
	/* a setting line that long is refused with its line number */
	memset(text, 0, 8192);
	p = text + sprintf(text, "top_calls = 5\nlisten = ");
	memset(p, '1', 5000);
	cr_expect_eq(load(text, &c, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, ":2: line longer than"), "%s", err);
	free(text);
}
