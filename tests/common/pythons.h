/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Test helpers: the interpreters to test against, and running child processes. */
#ifndef PYHOUND_TEST_PYTHONS_H
#define PYHOUND_TEST_PYTHONS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct test_python {
	char label[32]; /* "pyenv-3.12", "debian-3.11", "sid-3.15", "sid-3.15d" */
	char path[PATH_MAX]; /* as the process sees it: inside root when root[0] */
	char root[PATH_MAX]; /* "" on the host; the Debian sid root it runs chrooted in */
	int minor;
	bool debian; /* Debian's static build with USDT (sid ones too) */
	bool debug;  /* a -dbg build (python3.Xd, full symbols) */
};

/* The Debian sid root (PYHOUND_SID_ROOT, default /var/cache/pyhound-test/sid). */
const char *sid_root(void);

/* Debian sid's python3.14, python3.14d, python3.15 and python3.15d in sid_root(), run
 * chrooted. The workloads are copied into the root at the same absolute path as on the host,
 * so workload() names them for both. A missing one is always a failure (never a skip):
 * *missing names it. Returns the count. */
int test_sid_pythons(struct test_python *out, int cap, char *missing, size_t missing_len);

/* The host path of py's binary (through its root), e.g. for reading its ELF file. */
const char *python_host_path(const struct test_python *py, char *buf, size_t len);

/* argv running py with args (NULL-terminated): chroot ROOT PATH args... for a sid one. argv
 * must have room for 3 + nargs + 1 entries. */
void python_argv(const struct test_python *py, char **argv, char *const args[]);

/* A shell command prefix running py: "chroot ROOT PATH" or "PATH". */
const char *python_cmd(const struct test_python *py, char *buf, size_t len);

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

/* The PID of pid's only child (from /proc/PID/task/PID/children), waiting up to 10 s; 0 if
 * none appeared. */
pid_t only_child_of(pid_t pid);

/* Run a command line through sh; capture stdout+stderr into buf; returns exit code. */
int run_cmd(const char *cmd, char *buf, size_t len);

#endif
