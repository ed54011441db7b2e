/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Test helpers for running the pyhound binary and its `serve` exporter: shared by the
 * integration tests of the CLI and of serve. */
#ifndef PYHOUND_TEST_SERVE_UTIL_H
#define PYHOUND_TEST_SERVE_UTIL_H

#include <sys/types.h>

/* The pyhound binary under test: $PYHOUND, else build/pyhound. */
const char *bin(void);

/* One line of a child's output (fd) into buf without its newline, waiting up to limit
 * seconds: its length, or -1 at EOF, on an error or past the limit. */
int read_line(int fd, char *buf, size_t len, double limit);

/* A TCP port on 127.0.0.1 free a moment ago (fails the test when none). */
int free_port(void);

/* The value of the sample whose line in a Prometheus text starts with prefix (the metric
 * name and labels, then a space), or -1. */
double sample(const char *text, const char *prefix);

/* Write text to path (fails the test when it cannot). */
void write_file(const char *path, const char *text);

struct server {
	pid_t pid;
	int port;
	char err[64]; /* its stderr */
};

/* Start `pyhound serve --listen 127.0.0.1:0 extra` (a port the kernel picks when serve binds;
 * s->port is read from its "serving on" line), stderr in /tmp/<tag>-<test pid>-<n>.err, and
 * wait up to limit seconds for that line; fails the test (and kills it) when it exits first or
 * is not ready in time. */
void serve_start_as(struct server *s, const char *tag, const char *extra, double limit);

/* SIGTERM; expects exit status 0; fails the test (after SIGKILL) past limit seconds. The
 * seconds it took. */
double serve_stop_within(struct server *s, double limit);

#endif
