// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The code findings end to end: tests/workloads/patterns.py runs one textbook problem (or its
 * standard remedy) on every interpreter at once (pyenv 3.8-3.13, Debian 3.11); one
 * `pyhound report --json` must give each process exactly its finding, on the function and the
 * line the workload marks "# FINDING <kind>", and none for the remedy
 * (tests/integration/findings_check.py). string-concat needs the 3.11+ specialised opcode that
 * shows the operands are str: on 3.8-3.10 the same program must produce no finding at all.
 * Sampling at 997 Hz keeps enough samples (>= 50 per process) on a loaded 2-core host. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/draw.h"
#include "common/pythons.h"
#include "common/serve_util.h"

#define MAXPY 16

static char out[1 << 20];
/* the args pattern: the number of distinct argument tuples, drawn per run (0: other patterns) */
static long drawn_distinct;

static const char *src_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;
	char *b = buf[i++ % 4];
	const char *src = getenv("PYHOUND_SRC");

	snprintf(b, PATH_MAX, "%s/%s", src && *src ? src : ".", rel);
	return b;
}

/* the line of patterns.py marked "# FINDING kind" (the workload's own truth) */
static int marked_line(const char *kind)
{
	char line[512], mark[64];
	FILE *f = fopen(workload("patterns.py"), "r");
	int n = 0, found = 0;

	cr_assert(f, "patterns.py");
	snprintf(mark, sizeof(mark), "# FINDING %s\n", kind);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, mark))
			found = n;
	}
	fclose(f);
	cr_assert_gt(found, 0, "no line marked %s", mark);
	return found;
}

/* I/O kinds have no line; "kind.fdkind" names the fd kind expected (default file) */
static bool io_kind(const char *kind)
{
	return !strncmp(kind, "tiny-", 5) || !strncmp(kind, "chatty-", 7) || !strcmp(kind, "noio");
}

/* few: one interpreter per family (pyenv 3.12, Debian's 3.11, sid's 3.15), for syscall
 * patterns, whose syscalls do not depend on the interpreter */
static void run_pattern_on(const char *pattern, const char *mode, const char *kind,
			   const char *func, bool needs_311, bool few)
{
	struct test_python py[MAXPY], sid[8];
	char missing[256], cmd[8192], errf[64], buf[256], pids[512] = "", args[2048] = "";
	char pc[PATH_MAX * 2];
	pid_t pid[MAXPY];
	int n = test_pythons(py, MAXPY, missing, sizeof(missing)), rc, ns;
	int line = io_kind(kind) ? 0 : marked_line(kind);

	if (missing[0] && !getenv("PYHOUND_ALLOW_MISSING_PYTHON"))
		cr_assert_fail("interpreters missing:%s", missing);
	/* sid's 3.14 and 3.15 release builds (chrooted); the -dbg ones would only add load */
	ns = test_sid_pythons(sid, 8, missing, sizeof(missing));
	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	for (int i = 0; i < ns && n < MAXPY; i++)
		if (!strchr(sid[i].label + 4, 'd'))
			py[n++] = sid[i];
	if (few) {
		int k = 0;

		for (int i = 0; i < n; i++)
			if ((py[i].minor == 12 && !py[i].debian) || (py[i].minor == 11 && py[i].debian &&
								      !py[i].root[0]) ||
			    (py[i].minor == 15 && py[i].root[0]))
				py[k++] = py[i];
		n = k;
		cr_assert_eq(n, 3, "pyenv 3.12, Debian 3.11, sid 3.15");
	}
	for (int i = 0; i < n; i++) {
		bool want = !strcmp(mode, "bad") && (!needs_311 || py[i].minor >= 11);
		const char *expect = !strcmp(kind, "noio") ? "noio" : want ? kind : "none";

		snprintf(errf, sizeof(errf), "/tmp/pyhound-pat-%d.err", i);
		snprintf(cmd, sizeof(cmd), "exec %s %s %s %s 30 %ld > /dev/null 2> %s",
			 python_cmd(&py[i], pc, sizeof(pc)), workload("patterns.py"), pattern, mode,
			 drawn_distinct ? drawn_distinct : 12, errf);
		pid[i] = start_until_ready(cmd, errf, "ready", 60, buf, sizeof(buf));
		cr_assert_gt(pid[i], 0, "%s did not start: %s", py[i].label, buf);
		snprintf(pids + strlen(pids), sizeof(pids) - strlen(pids), "%s%d", i ? "," : "",
			 (int)pid[i]);
		snprintf(args + strlen(args), sizeof(args) - strlen(args), " %d:%s:%.31s", (int)pid[i],
			 expect, py[i].label);
	}
	snprintf(cmd, sizeof(cmd),
		 "%s report -d 6 -F 997 --no-gc --json --pid %s > /tmp/pyhound-pat.json && "
		 "ARG_DISTINCT=%ld /usr/bin/python3.11 %s %s %d%s < /tmp/pyhound-pat.json",
		 bin(), pids, drawn_distinct, src_path("tests/integration/findings_check.py"), func,
		 line, args);
	rc = run_cmd(cmd, out, sizeof(out));
	for (int i = 0; i < n; i++) {
		kill(pid[i], SIGTERM);
		wait_exit(pid[i], 10);
	}
	if (drawn_distinct)
		cr_log_info("%s %s:\n%s", pattern, mode, out);
	cr_expect_eq(rc, 0, "%s %s:\n%s", pattern, mode, out);
}

static void run_pattern(const char *pattern, const char *mode, const char *kind,
			const char *func, bool needs_311)
{
	run_pattern_on(pattern, mode, kind, func, needs_311, false);
}

Test(findings_code, linear_membership, .timeout = 180)
{
	run_pattern("membership", "bad", "linear-membership", "membership", false);
}

Test(findings_code, membership_remedy_set, .timeout = 180)
{
	run_pattern("membership", "fixed", "linear-membership", "membership", false);
}

Test(findings_code, nested_loop, .timeout = 180)
{
	run_pattern("nested", "bad", "nested-loop", "nested", false);
}

Test(findings_code, nested_loop_remedy_index, .timeout = 180)
{
	run_pattern("nested", "fixed", "nested-loop", "nested", false);
}

Test(findings_code, string_concat, .timeout = 180)
{
	run_pattern("build", "bad", "string-concat", "build", true);
}

Test(findings_code, string_concat_remedy_join, .timeout = 180)
{
	run_pattern("build", "fixed", "string-concat", "build", true);
}

Test(findings_code, deep_recursion, .timeout = 180)
{
	run_pattern("recursion", "bad", "deep-recursion", "fib", false);
}

Test(findings_code, deep_recursion_remedy_cache, .timeout = 180)
{
	run_pattern("recursion", "fixed", "deep-recursion", "fib", false);
}

/* argument sampling: price() called with D distinct (qty, zone) pairs, D drawn per run from
 * 8-16 (the seed is in the info line): the finding must see at most D, and exactly D once it has
 * 20 sampled calls per pair (findings_check.py); its threshold (distinct <= 0.2 x sampled calls)
 * holds with D = 16 from 80 sampled calls. The remedy (lru_cache) runs it only on a miss;
 * "fresh" calls it with a new qty every time (nothing repeats: the check that values are read,
 * not a constant) */
static void run_args(const char *mode)
{
	uint64_t seed = test_seed(), state = seed;

	drawn_distinct = test_draw(&state, 8, 16);
	cr_log_info("seed %llu (PYHOUND_TEST_SEED replays it): %ld distinct argument tuples",
		    (unsigned long long)seed, drawn_distinct);
	run_pattern("args", mode, "repeated-arguments", "price", false);
}

Test(findings_code, repeated_arguments, .timeout = 180)
{
	run_args("bad");
}

Test(findings_code, repeated_arguments_remedy_cache, .timeout = 180)
{
	run_args("fixed");
}

Test(findings_code, repeated_arguments_fresh_values, .timeout = 180)
{
	run_pattern("args", "fresh", "repeated-arguments", "price", false);
}

Test(findings_code, numeric_loop, .timeout = 180)
{
	run_pattern("dot", "bad", "numeric-loop", "dot", false);
}

Test(findings_code, numeric_loop_remedy_builtins, .timeout = 180)
{
	run_pattern("dot", "fixed", "numeric-loop", "dot", false);
}

/* 100-byte records written unbuffered: a write syscall each, at a large share of wall time
 * (median 64-127 B, so the old "median under 64 B" rule missed it) */
Test(findings_code, unbuffered_small_writes, .timeout = 180)
{
	run_pattern("writes", "bad", "tiny-writes", "-", false);
}

Test(findings_code, buffered_writes_remedy, .timeout = 180)
{
	run_pattern("writes", "fixed", "tiny-writes", "-", false);
}

/* HTTP-server style (a keep-alive connection accepted before pyhound watched, on a port below
 * the ephemeral range): whole 50-byte requests read with recv(65536) and answered are neither
 * "unbatched reads/writes" nor chatty round trips (the client's, not the server's) */
Test(findings_code, whole_messages_on_a_socket_are_fine, .timeout = 180)
{
	run_pattern("httpd", "bad", "noio", "-", false);
}

/* a client sending 50-byte requests one at a time, each waiting for its reply, to a server in
 * the same thread over a socketpair: chatty round trips */
Test(findings_code, chatty_round_trips, .timeout = 120)
{
	run_pattern_on("server", "bad", "chatty-round-trips.socket", "-", false, true);
}

/* the same 500 requests pipelined: sent at once, then the replies read */
Test(findings_code, pipelined_requests_remedy, .timeout = 120)
{
	run_pattern_on("server", "fixed", "chatty-round-trips", "-", false, true);
}

/* a socket read 48 bytes at a time: the caller asked for tiny reads (recv(48)), unlike a
 * recv(65536) returning a small message */
Test(findings_code, tiny_socket_reads_by_the_size_asked, .timeout = 120)
{
	run_pattern_on("reads", "bad", "tiny-reads.socket", "-", false, true);
}

Test(findings_code, large_socket_reads_remedy, .timeout = 120)
{
	run_pattern_on("reads", "fixed", "tiny-reads", "-", false, true);
}
