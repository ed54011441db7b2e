/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Test helpers: the interpreters to test against, and running child processes. */
#ifndef PYHOUND_TEST_PYTHONS_H
#define PYHOUND_TEST_PYTHONS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct test_python {
	char label[32]; /* "pyenv-3.12" or "debian-3.11" */
	char path[PATH_MAX];
	int minor;
	bool debian; /* Debian's static build with USDT */
};

/* Debian's /usr/bin/python3.11 (from dpkg -L python3.11-minimal) and every pyenv CPython
 * 3.8-3.13 under $(pyenv root)/versions. A missing one is a test failure unless
 * PYHOUND_ALLOW_MISSING_PYTHON=1. Returns the count; *missing says what was not found. */
int test_pythons(struct test_python *out, int cap, char *missing, size_t missing_len);

/* Path of the interpreter for 3.<minor> (pyenv, or Debian's when debian), found as
 * test_pythons() does; fails the test when missing. */
const char *python_for(int minor, bool debian);

/* Path of a file under tests/workloads (from the source tree). */
const char *workload(const char *name);

/* A child process with a pipe to its stdin (to say "go") and its stdout captured. */
struct child {
	pid_t pid;
	int in_fd;  /* write end of its stdin, -1 when closed */
	int out_fd; /* read end of its stdout */
};
/* argv[0] is the program path. */
int child_start(struct child *c, char *const argv[]);
int child_go(struct child *c); /* writes "go\n" and closes stdin */
/* Waits for exit, returns the exit status (or -1), and reads stdout into buf. */
int child_wait(struct child *c, char *buf, size_t len);

/* CLOCK_MONOTONIC in seconds; a process's resident memory in kB (-1 if gone). */
double mono_seconds(void);
long rss_kb(pid_t pid);

/* Run cmd through sh in the background and wait (up to limit seconds) until errfile holds
 * ready. Returns the shell's PID (the command should exec), or -1 when it exited first or timed
 * out (killed); buf gets what errfile held. */
pid_t start_until_ready(const char *cmd, const char *errfile, const char *ready, double limit,
			char *buf, size_t len);
/* Wait up to limit seconds for pid to exit: its exit status, or -1 (then it is killed). */
int wait_exit(pid_t pid, double limit);

/* Run a command line through sh; capture stdout+stderr into buf; returns exit code. */
int run_cmd(const char *cmd, char *buf, size_t len);

#endif
